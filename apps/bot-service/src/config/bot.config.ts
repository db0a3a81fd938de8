import { z } from 'zod';
import { BaseServiceEnv, loadConfig } from '@garde/platform';

export const BotConfigSchema = BaseServiceEnv.extend({
  HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(3102),
  /** How many BotStateChangedEvt a kill-switch halt publishes at once (after the commit). */
  HALT_EVENT_CONCURRENCY: z.coerce.number().int().min(1).max(1024).default(64),
  /**
   * `bot:create` asks the gateway whether the bot's exchange has an account and lists its symbol; no
   * answer within this = refused UNAVAILABLE, nothing created. Below the gateway API's REQUEST_TIMEOUT_MS,
   * above its MARKET_INFO_WAIT_MS.
   */
  CREATE_MARKET_CHECK_TIMEOUT_MS: z.coerce.number().int().positive().default(3000),
  /** How often the strategy of each RUNNING bot takes a step. */
  BOT_TICK_MS: z.coerce.number().int().positive().default(1000),
  /** How long the engine waits for the gateway's answers. */
  ENGINE_REQUEST_TIMEOUT_MS: z.coerce.number().int().positive().default(5000),
  /**
   * A bot whose step cannot be served (no fresh ticker, the gateway's reads unanswered) or whose sends the
   * platform does not answer (UNAVAILABLE, TIMEOUT: a Garde service restarting or without its database)
   * tries again after this, not at every tick; such sends never count towards ENGINE_MAX_ERRORS.
   */
  ENGINE_RETRY_AFTER_MS: z.coerce.number().int().positive().default(5000),
  /** Orders rejected by the venue, or failed sends, within ENGINE_ERROR_WINDOW_MS that put a bot in ERROR (RB-002). */
  ENGINE_MAX_ERRORS: z.coerce.number().int().positive().default(5),
  ENGINE_ERROR_WINDOW_MS: z.coerce.number().int().positive().default(60_000),
  /** `bot:stop --cancel-orders`: how long the stop waits for the bot's order sends in flight before it cancels. */
  STOP_FENCE_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /** `bot:stop --cancel-orders`: how long it waits for the gateway's cancel-all (the cancels and the venues' confirmation). */
  STOP_CANCEL_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
  /** How long a market-data subscription lasts (renewed at a third of it). */
  ENGINE_SUBSCRIPTION_TTL_MS: z.coerce.number().int().min(3000).default(60_000),
  /** How long bot:status waits for the gateway's tickers (the mark price of unrealized PnL) and its count of the bots' live orders; without them it shows no unrealized PnL (and says why), no gateway count. */
  STATUS_MARKET_DATA_TIMEOUT_MS: z.coerce.number().int().positive().default(1000),
  /** A ticker older than this (since the gateway received it) is not traded on. */
  ENGINE_MAX_TICKER_AGE_MS: z.coerce.number().int().positive().default(5000),
  /**
   * Steps of different bots run at once (steps of one bot never overlap). A step holds its place until its
   * intents are sent and saved, so a limit below the bots one tick wakes makes the later ones wait for
   * the earlier ones' round trips (bench/bot-fleet: at 32, a quarter of the fills waited ~35 ms for a
   * place); their database work is grouped and bounded anyway (a few statements in flight).
   */
  ENGINE_CONCURRENCY: z.coerce.number().int().min(1).max(4096).default(256),
  /**
   * PostgreSQL connections of this replica at most: the 4 that run the engine's steps and hold the send
   * fences, up to 2 saves in flight, and the rest for lifecycle commands, reads and steps run again in a
   * transaction. Count it, per replica, against the server's max_connections.
   */
  DB_POOL_SIZE: z.coerce.number().int().min(6).max(200).default(16),
  /**
   * A bot's orders and fills are read from the gateway when an order event of that bot is seen, and
   * at least this often anyway (order events reach bot-service on core NATS, at most once), at a random
   * point of the interval's second half so that a fleet's reads spread out.
   */
  ENGINE_RESYNC_MS: z.coerce.number().int().positive().default(30_000),
  /** A bot lease lasts this long unless renewed (KV bucket BOT_LEASES; DESIGN §5). */
  LEASE_TTL_MS: z.coerce.number().int().min(1000).default(15_000),
  /** How often a replica renews its leases, announces itself and takes its share of unowned bots. */
  LEASE_RENEW_MS: z.coerce.number().int().min(200).default(5000),
  /** A lease this replica lost (not taken over by another replica) and could not get back for this long: the bot goes to ERROR. */
  LEASE_REGAIN_TIMEOUT_MS: z.coerce.number().int().positive().default(60_000),
}).refine((c) => c.LEASE_RENEW_MS * 2 < c.LEASE_TTL_MS, {
  message: 'LEASE_RENEW_MS must be less than half of LEASE_TTL_MS (a lease must survive one failed renewal)',
  path: ['LEASE_RENEW_MS'],
});
export type BotConfig = z.infer<typeof BotConfigSchema>;

export const loadBotConfig = (env?: Record<string, string | undefined>): BotConfig => loadConfig('bot-service', BotConfigSchema, env);
