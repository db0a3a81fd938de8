import { z } from 'zod';

/** Closed set of error codes a reply may carry. Each transport maps them (HTTP status, CLI exit code). */
export const ErrorCode = z.enum([
  /** The message did not match its contract; it reached no business code. */
  'CONTRACT_VIOLATION',
  /** The request was well-formed but its values are not acceptable (e.g. an unknown scope kind). */
  'INVALID_REQUEST',
  /** The thing named does not exist (bot, scope, event). */
  'NOT_FOUND',
  /** A thing with this id already exists. */
  'ALREADY_EXISTS',
  /** The actor's role may not do this. */
  'FORBIDDEN',
  /** No or an unknown credential. */
  'UNAUTHENTICATED',
  /** The state machine does not allow this transition (e.g. resume a STOPPED bot). */
  'INVALID_TRANSITION',
  /** A kill switch covering the order is HALTED (or REDUCING and the order would not reduce). */
  'KILL_SWITCH_ACTIVE',
  /** The gateway does not know the current kill-switch state (not read since (re)connect, or watch broken): fail closed. */
  'RISK_STATE_UNKNOWN',
  /** risk-service's pre-trade check denied the order (details: reason, scope). */
  'RISK_DENIED',
  /** The order's venue is DISCONNECTED (or being reconciled after a reconnect). */
  'EXCHANGE_UNAVAILABLE',
  /** The account's rate-limit budget has no room for the order in time, or the account is paused (429) or halted (418). */
  'RATE_LIMITED',
  /** The order passed the gates but no venue connectivity is configured for its exchange. */
  'NO_VENUE_CONFIGURED',
  /** The venue of the exchange does not list the market symbol named (e.g. a bot on `BTC/XYZ`). */
  'UNKNOWN_SYMBOL',
  /** The audit trail does not verify where the request needs it to (an export or a purge is refused, nothing signed). */
  'AUDIT_CHAIN_BROKEN',
  /** A purge would delete audit rows younger than the retention. */
  'RETENTION_NOT_REACHED',
  /** A downstream service did not answer in time. */
  'TIMEOUT',
  /** A downstream service or dependency is not reachable. */
  'UNAVAILABLE',
  /** An unexpected failure; details are in the service's logs. */
  'INTERNAL',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const ErrorBody = z.object({
  code: ErrorCode,
  /** Human-readable: says what was wrong. */
  message: z.string(),
  /** Structured context (e.g. the halted scope and its reason). */
  details: z.record(z.string(), z.unknown()).optional(),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

/** Reply to every cmd/qry: a result, or an error with a closed code. */
export const replySchema = <T extends z.ZodType>(result: T) =>
  z.discriminatedUnion('ok', [z.object({ ok: z.literal(true), result }), z.object({ ok: z.literal(false), error: ErrorBody })]);
export type Reply<T> = { ok: true; result: T } | { ok: false; error: ErrorBody };

/** Turns zod issues into one readable line per problem: `reason: Too small: expected string to have >=1 characters`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}
