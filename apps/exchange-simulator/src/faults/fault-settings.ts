import { Decimal } from '@garde/domain';
import { z } from 'zod';

/** `true` is shorthand for "on, with the defaults" on every fault that takes options. */
const onOrOptions = <T extends z.ZodType>(options: T) => z.preprocess((v) => (v === true ? {} : v), options).optional();

const decimalString = z.string().refine(Decimal.isDecimal, 'must be a decimal string');

/**
 * The faults a venue can be told to inject (POST /__sim/faults merges these keys into the active set;
 * `false`/`null` turns one off; DELETE /__sim/faults clears all). Each takes effect on the next request.
 */
export const FaultSettings = z
  .object({
    /** Stop listening and drop open sockets: clients get ECONNREFUSED. Clear it through the control port. */
    refuseConnections: z.boolean().nullish(),
    /** Answer every API call 503 Service Unavailable (plain text, as a load balancer would). */
    unavailable: z.boolean().nullish(),
    /** Delay every API answer by this many milliseconds. */
    latencyMs: z.number().int().min(0).max(600_000).nullish(),
    /** Answer every API call 429 with Retry-After; after `banAfter` 429s within a minute, 418 (IP ban). */
    rateLimited: onOrOptions(
      z.object({
        retryAfterSeconds: z.number().int().min(1).default(10),
        banAfter: z.number().int().min(1).default(5),
        banSeconds: z.number().int().min(1).default(120),
      }),
    ).nullable(),
    /** Ban the caller's IP at once: 418 with Retry-After until the ban ends. */
    banned: onOrOptions(z.object({ seconds: z.number().int().min(1).default(120) })).nullable(),
    /** Create the order of a POST /api/v3/order, then never answer (the "unknown outcome" case). */
    timeoutAfterCreate: onOrOptions(z.object({ hangMs: z.number().int().min(0).optional() })).nullable(),
    /** Never answer a POST /api/v3/order and create nothing (the venue never heard of it). */
    timeoutBeforeCreate: onOrOptions(z.object({ hangMs: z.number().int().min(0).optional() })).nullable(),
    /** Limit orders accepted now rest without filling while this lasts, whatever the price does. */
    neverFill: z.boolean().nullish(),
    /** Orders accepted now are reported as just accepted (`stale`: NEW forever) or not at all (`missing`). */
    neverReport: onOrOptions(z.object({ mode: z.enum(['stale', 'missing']).default('stale') })).nullable(),
    /** Fills vanish from queries: myTrades returns none, order answers carry no `fills`. */
    dropFills: z.boolean().nullish(),
    /** One-shot: change an account's free balance behind the books (not undone by DELETE). */
    driftBalance: z.object({ apiKey: z.string().min(1), asset: z.string().min(1), delta: decimalString }).nullish(),
  })
  .strict();
export type FaultSettings = z.infer<typeof FaultSettings>;

/** The active faults of a venue, with `null`/`false` entries dropped. */
export type ActiveFaults = Omit<FaultSettings, 'driftBalance'>;

/** Merges a POST body into the active set: a `null` or `false` value turns that fault off. */
export function mergeFaults(active: ActiveFaults, update: FaultSettings): ActiveFaults {
  const next: Record<string, unknown> = { ...active };
  for (const [key, value] of Object.entries(update)) {
    if (key === 'driftBalance') continue;
    if (value === null || value === false || value === undefined) delete next[key];
    else next[key] = value;
  }
  return next;
}
