import { z } from 'zod';
import { Decimal, parseTolerances } from '@garde/domain';
import { BaseServiceEnv, loadConfig } from '@garde/platform';

export const RiskConfigSchema = BaseServiceEnv.extend({
  HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(3101),
  /** The same order (bot, market, side, quantity, price) under another client order id within this long is a duplicate (DUPLICATE_ORDER). */
  DUPLICATE_ORDER_WINDOW_MS: z.coerce.number().int().min(0).default(1000),
  /**
   * When an order's market has no ticker yet, how long the check waits for the gateway to poll it
   * (MarketSubscribeCmd) before it denies REFERENCE_PRICE_MISSING: under the gateway's
   * RISK_CHECK_TIMEOUT_MS, so that the gateway hears why.
   */
  REFERENCE_LOOKUP_TIMEOUT_MS: z.coerce.number().int().positive().default(300),
  /** How long the gateway is asked to keep polling a market an order was checked on (renewed at a third of it while orders come). */
  MARKET_SUBSCRIPTION_TTL_MS: z.coerce.number().int().min(1000).max(3_600_000).default(120_000),
  /** An approval the gateway never spoke of (no event at all) stops counting after this long: it died before persisting the order. */
  APPROVAL_TTL_MS: z.coerce.number().int().positive().default(60_000),
  /** An ended order is remembered this long after its last event, so that a late event of it changes nothing. */
  ENDED_ORDER_TTL_MS: z.coerce.number().int().positive().default(3_600_000),
  /** How long start-up waits for the order events to be read up to now; orders are denied EXPOSURE_UNKNOWN until they are. */
  EXPOSURE_CATCH_UP_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
  /**
   * Every this long, positions are marked to the gateway's prices (their markets kept polled), peaks and
   * drawdowns move, and the loss and runaway limits are judged (also at once after each fill or denial).
   */
  PNL_MARK_INTERVAL_MS: z.coerce.number().int().min(100).default(5000),
  /** Reconciliation (RB-003): every this long, one replica compares each account's venue balances and open orders with the ledger; 0 turns the periodic run off (on demand still works). */
  RECONCILE_INTERVAL_MS: z.coerce.number().int().min(0).default(60_000),
  /**
   * A difference over tolerance is looked at again after this long and raised only if it is still the
   * same (a fill in flight is gone by then). Kept under half the interval.
   */
  RECONCILE_CONFIRM_DELAY_MS: z.coerce.number().int().positive().default(10_000),
  /** Tolerance for an asset without one of its own in RECONCILE_TOLERANCES: a difference up to it is dust, not a discrepancy. */
  RECONCILE_TOLERANCE_DEFAULT: z
    .string()
    .regex(/^\d+(\.\d+)?$/, 'expected a non-negative decimal such as 0.00001')
    .default('0.00001')
    .transform((v) => Decimal.of(v)),
  /** Per-asset tolerances, `USDT=0.01,BTC=0.00001`. */
  RECONCILE_TOLERANCES: z
    .string()
    .default('')
    .transform((value, ctx) => {
      const parsed = parseTolerances(value);
      if ('errors' in parsed) {
        for (const message of parsed.errors) ctx.addIssue({ code: 'custom', message });
        return z.NEVER;
      }
      return parsed.perAsset;
    }),
  /** How long a reconciliation waits for the gateway's answers (the gateway asks the venues). */
  RECONCILE_VENUE_TIMEOUT_MS: z.coerce.number().int().positive().default(20_000),
  /** How long a manual reconciliation waits for the ledger to record the fills already published before it refuses (UNAVAILABLE). */
  RECONCILE_CATCH_UP_TIMEOUT_MS: z.coerce.number().int().positive().default(5_000),
});
export type RiskConfig = z.infer<typeof RiskConfigSchema>;

export const loadRiskConfig = (env?: Record<string, string | undefined>): RiskConfig => loadConfig('risk-service', RiskConfigSchema, env);
