import { z } from 'zod';
import { defineEvent } from './catalog.js';

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

/** A venue changed state (RB-001). */
export const VenueHealthChangedEvt = defineEvent({
  type: 'gateway.evt.venue.health-changed',
  payload: z.object({ venue: VenueHealth, previous: VenueState }),
  level: 'error',
});
