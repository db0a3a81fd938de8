import { z } from 'zod';
import { defineEvent, type EventLevel } from './catalog.js';
import { Reason } from './kill-switch.js';

/** CONNECTED (answers in time), DEGRADED (slow or failing now and then), DISCONNECTED (not answering). */
export const VenueState = z.enum(['CONNECTED', 'DEGRADED', 'DISCONNECTED']);
export type VenueState = z.infer<typeof VenueState>;

/** One exchange account's venue, as this gateway sees it. */
export const VenueHealth = z.object({
  accountId: z.string(),
  exchangeId: z.string(),
  state: VenueState,
  /** True while open orders are being reconciled after a reconnect: no new order is accepted yet. */
  reconciling: z.boolean(),
  /** Latency of the last successful probe, ms. */
  latencyMs: z.number().nullable(),
  /** Failed probes or calls in a row. */
  consecutiveFailures: z.number().int().nonnegative(),
  lastError: z.string().nullable(),
  /** When it entered this state (ISO-8601 UTC). */
  since: z.iso.datetime({ offset: true }),
  /** When it was last probed. */
  checkedAt: z.iso.datetime({ offset: true }).nullable(),
});
export type VenueHealth = z.infer<typeof VenueHealth>;

export const VenueHealthList = z.object({ venues: z.array(VenueHealth) });

const VENUE_STATE_LEVEL: Record<VenueState, EventLevel> = { DISCONNECTED: 'error', DEGRADED: 'warning', CONNECTED: 'info' };

/** A venue changed state (RB-001): `error` when it is DISCONNECTED, `warning` DEGRADED, `info` back CONNECTED. */
export const VenueHealthChangedEvt = defineEvent({
  type: 'gateway.evt.venue.health-changed',
  payload: z.object({ venue: VenueHealth, previous: VenueState }),
  level: 'error',
  levelOf: ({ venue }) => VENUE_STATE_LEVEL[venue.state],
});

/** An account's rate-limit state (RB-004): OK, PAUSED after a 429 (for Retry-After), HALTED after a 418 ban. */
export const RateLimitState = z.enum(['OK', 'PAUSED', 'HALTED']);
export type RateLimitState = z.infer<typeof RateLimitState>;

/** One of the venue's limits and what the account's budget uses of it. */
export const RateLimitWindow = z.object({
  /** `weight` (each request's weight), `requests` (each request once) or `orders` (new orders only). */
  unit: z.enum(['weight', 'requests', 'orders']),
  intervalMs: z.number().int().positive(),
  /** The venue's limit. */
  limit: z.number().int().positive(),
  /** What the budget lets itself use (the share of the limit in RATE_LIMIT_UTILIZATION). */
  cap: z.number().int().positive(),
  /** Counted in the sliding window now. */
  used: z.number().nonnegative(),
});
export type RateLimitWindow = z.infer<typeof RateLimitWindow>;

/** One exchange account's rate-limit budget, as this gateway counts it. */
export const RateLimitStatus = z.object({
  accountId: z.string(),
  exchangeId: z.string(),
  state: RateLimitState,
  /** Where the limits come from: the venue's published limits, or ccxt's default pace when it publishes none. */
  limitsSource: z.enum(['venue', 'ccxt-default']),
  windows: z.array(RateLimitWindow),
  /** Until when nothing is sent (after a 429, or a 418 ban), ISO-8601 UTC; null when not paused. */
  pausedUntil: z.iso.datetime({ offset: true }).nullable(),
  /** Why the account is PAUSED or HALTED. */
  reason: z.string().nullable(),
  /** When it entered this state. */
  since: z.iso.datetime({ offset: true }),
  /** Calls waiting for room in the budget now. */
  waiting: z.number().int().nonnegative(),
  /** 429 and 418 answers received since the gateway started. */
  count429: z.number().int().nonnegative(),
  count418: z.number().int().nonnegative(),
  /** New orders refused RATE_LIMITED since the gateway started. */
  refusedOrders: z.number().int().nonnegative(),
});
export type RateLimitStatus = z.infer<typeof RateLimitStatus>;

export const RateLimitStatusList = z.object({ accounts: z.array(RateLimitStatus) });

/** Lifts an account's HALTED state once its ban has ended (the operator has found why it was banned). */
export const ResumeRateLimit = z.object({ accountId: z.string().min(1), reason: Reason });
export type ResumeRateLimit = z.infer<typeof ResumeRateLimit>;

const RATE_LIMIT_STATE_LEVEL: Record<RateLimitState, EventLevel> = { HALTED: 'critical', PAUSED: 'error', OK: 'info' };

/** An account's rate-limit state changed: paused by a 429 (`error`), halted by a 418 ban (`critical`), or back to OK (`info`). */
export const RateLimitChangedEvt = defineEvent({
  type: 'gateway.evt.rate-limit.changed',
  payload: z.object({ status: RateLimitStatus, previous: RateLimitState }),
  level: 'critical',
  levelOf: ({ status }) => RATE_LIMIT_STATE_LEVEL[status.state],
});
