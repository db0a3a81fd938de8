import { z } from 'zod';
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
});
export type RiskConfig = z.infer<typeof RiskConfigSchema>;

export const loadRiskConfig = (env?: Record<string, string | undefined>): RiskConfig => loadConfig('risk-service', RiskConfigSchema, env);
