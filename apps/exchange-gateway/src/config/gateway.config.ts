import { z } from 'zod';
import { Role } from '@garde/contracts';
import { BaseServiceEnv, loadConfig } from '@garde/platform';

/** One API token: who it is, what it may do, and the SHA-256 of the secret (the secret itself is never stored). */
export interface TokenEntry {
  actor: string;
  role: Role;
  sha256: string;
}

/**
 * `GARDE_API_TOKENS`: comma-separated `actor:role:sha256hex` entries, e.g.
 * `alice:risk:9f86d0…,ci:viewer:2c26b4…`. Make a hash with `bin/console auth:hash-token <token>`.
 */
const ApiTokens = z
  .string()
  .default('')
  .transform((value, ctx) => {
    const entries: TokenEntry[] = [];
    for (const [i, raw] of value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .entries()) {
      const [actor, role, sha256, ...extra] = raw.split(':');
      const parsedRole = Role.safeParse(role);
      if (!actor || !parsedRole.success || !sha256 || !/^[0-9a-f]{64}$/.test(sha256) || extra.length) {
        ctx.addIssue({ code: 'custom', message: `entry ${i + 1} is not actor:role:sha256hex (role one of ${Role.options.join(', ')})` });
        continue;
      }
      entries.push({ actor, role: parsedRole.data, sha256 });
    }
    return entries;
  });

/** 32 bytes, base64: the key that seals exchange credentials at rest (`openssl rand -base64 32`). */
const MasterKey = z.string().transform((value, ctx) => {
  const key = Buffer.from(value, 'base64');
  if (key.length !== 32) ctx.addIssue({ code: 'custom', message: 'expected 32 bytes in base64 (openssl rand -base64 32)' });
  return key;
});

export const GatewayConfigSchema = BaseServiceEnv.extend({
  HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(3100),
  GARDE_API_TOKENS: ApiTokens,
  /** How long the API waits for another service's answer. */
  REQUEST_TIMEOUT_MS: z.coerce.number().int().positive().default(5000),
  /** How long the API waits for the audit-service's long reads: verifying the chain, sealing an export, a purge (each reads every row of its range). */
  AUDIT_REQUEST_TIMEOUT_MS: z.coerce.number().int().positive().default(600_000),
  /**
   * How long the API waits for `bot:stop --cancel-orders` (the stop, the bot's sends in flight, then the
   * cancel-all and the venues' confirmation): more than bot-service's STOP_FENCE_TIMEOUT_MS + STOP_CANCEL_TIMEOUT_MS.
   */
  BOT_STOP_TIMEOUT_MS: z.coerce.number().int().positive().default(45_000),
  GARDE_MASTER_KEY: MasterKey,
  /** How long a call to a venue may take before it counts as failed (ccxt's timeout). */
  VENUE_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /** How long the gateway waits for risk-service's pre-trade decision; no answer = refused. */
  RISK_CHECK_TIMEOUT_MS: z.coerce.number().int().positive().default(500),
  /** An UNKNOWN order is first looked up this long after its submit (the venue may still be processing it)… */
  UNKNOWN_FIRST_LOOKUP_MS: z.coerce.number().int().min(0).default(5000),
  /** …then every this long… */
  UNKNOWN_LOOKUP_INTERVAL_MS: z.coerce.number().int().positive().default(2000),
  /** …and marked LOST (with an alert, never re-sent) when the venue has not heard of it after this many lookups. */
  UNKNOWN_MAX_LOOKUPS: z.coerce.number().int().positive().default(5),
  /** After a kill switch, how long the venues have to confirm no order of the scope is open before a critical alert. */
  FLAT_CONFIRM_TIMEOUT_MS: z.coerce.number().int().positive().default(5000),
  /** How often an open order is polled at its venue for fills and its end. */
  ORDER_POLL_MS: z.coerce.number().int().positive().default(2000),
  /** How often each venue is probed (RB-001). */
  HEALTH_PROBE_MS: z.coerce.number().int().positive().default(5000),
  /** A probe slower than this makes a venue DEGRADED. */
  DEGRADED_LATENCY_MS: z.coerce.number().int().positive().default(2000),
  /** Failed probes or calls in a row that make a venue DISCONNECTED (orders refused EXCHANGE_UNAVAILABLE). */
  DISCONNECT_AFTER_FAILURES: z.coerce.number().int().positive().default(3),
  /** An order not final whose venue has not reported on it for this long is stuck (RB-005). */
  STUCK_AFTER_MS: z.coerce.number().int().positive().default(120_000),
  /** How often the order tracker looks for orders to settle. */
  ORDER_TRACKER_INTERVAL_MS: z.coerce.number().int().positive().default(500),
  /** How long the exchange accounts read for routing orders are kept before they are read again (0 = every order). */
  ACCOUNT_CACHE_MS: z.coerce.number().int().min(0).default(2000),
  /** An order older than this (since its caller sent it) when it would be persisted is refused TIMEOUT, never sent. */
  ORDER_MAX_AGE_MS: z.coerce.number().int().positive().default(2000),
  /** Orders being submitted at once beyond which new ones are refused UNAVAILABLE (load shedding). */
  MAX_SUBMITS_IN_FLIGHT: z.coerce.number().int().positive().default(256),
  /** Share of each limit the venue publishes that an account's budget may use (RB-004). */
  RATE_LIMIT_UTILIZATION: z.coerce.number().gt(0).max(1).default(0.8),
  /** Share of the budget kept for cancels: orders and queries stop short of it. */
  RATE_LIMIT_CANCEL_RESERVE: z.coerce.number().min(0).lt(1).default(0.1),
  /** Further share of the budget queries (order polling, balances, probes) may not use: kept for new orders. */
  RATE_LIMIT_ORDER_RESERVE: z.coerce.number().min(0).lt(1).default(0.2),
  /** How long a new order may wait for room in its account's budget before it is refused RATE_LIMITED. */
  RATE_LIMIT_ORDER_MAX_WAIT_MS: z.coerce.number().int().min(0).default(1000),
  /** Longest pause after repeated 429s (each doubles the venue's Retry-After); also a 418 ban's length when the venue gives none. */
  RATE_LIMIT_MAX_PAUSE_MS: z.coerce.number().int().positive().default(300_000),
  /** Symbols whose tickers are always polled and published, e.g. `binance:BTC/USDT,kraken:ETH/USDT`. */
  MARKET_DATA_SYMBOLS: z
    .string()
    .default('')
    .transform((value, ctx) => {
      const pairs: Array<{ exchangeId: string; symbol: string }> = [];
      for (const entry of value
        .split(',')
        .map((e) => e.trim())
        .filter(Boolean)) {
        const m = /^([^:\s]+):([A-Z0-9]+\/[A-Z0-9]+)$/.exec(entry);
        if (m) pairs.push({ exchangeId: m[1]!, symbol: m[2]! });
        else ctx.addIssue({ code: 'custom', message: `"${entry}" is not exchangeId:BASE/QUOTE (entries are comma-separated)` });
      }
      return pairs;
    }),
  /** How often the tickers in use are polled from their venue. */
  MARKET_DATA_POLL_MS: z.coerce.number().int().positive().default(1000),
  /** A ticker older than this is shown and published as stale. */
  MARKET_DATA_STALE_MS: z.coerce.number().int().positive().default(5000),
  /**
   * How long a market-info query (MarketInfoQry, asked before a bot is created) waits for its
   * venue's markets to load before it answers EXCHANGE_UNAVAILABLE: less than bot-service's
   * CREATE_MARKET_CHECK_TIMEOUT_MS, so that the caller learns why rather than a timeout.
   */
  MARKET_INFO_WAIT_MS: z.coerce.number().int().positive().default(2000),
});
export type GatewayConfig = z.infer<typeof GatewayConfigSchema>;

export const loadGatewayConfig = (env?: Record<string, string | undefined>): GatewayConfig => loadConfig('exchange-gateway', GatewayConfigSchema, env);
