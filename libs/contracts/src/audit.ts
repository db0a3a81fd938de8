import { z } from 'zod';
import { defineRequest } from './catalog.js';
import { Envelope } from './envelope.js';

export const VerifyAuditChain = z.object({
  /** First sequence to check (default: the first row). */
  fromSequence: z.number().int().positive().optional(),
  /** Last sequence to check (default: the last row). */
  toSequence: z.number().int().positive().optional(),
});

export const AuditChainVerdict = z.object({
  /** True when every checked row links to the previous one and matches its content. */
  valid: z.boolean(),
  /** Rows checked. */
  checked: z.number().int().nonnegative(),
  /** Hash of the last valid row (the chain head when valid). */
  head: z.string().nullable(),
  /** Sequence of the first bad row, when invalid. */
  firstBadSequence: z.number().int().positive().optional(),
  /** What is wrong with that row. */
  problem: z.string().optional(),
});
export type AuditChainVerdict = z.infer<typeof AuditChainVerdict>;

export const AuditEventsQuery = z.object({
  /** Only events of this type (e.g. `risk.evt.killswitch.activated`). */
  type: z.string().optional(),
  /** Only events caused by this actor id. */
  actorId: z.string().optional(),
  /** Only events with this correlation id. */
  correlationId: z.string().optional(),
  /** The whole story of an order: every event sharing a correlation id with an event about this client order id. */
  clientOrderId: z.string().optional(),
  /** Only events of these levels (`audit:errors`: error and critical). */
  levels: z.array(z.enum(['info', 'warning', 'error', 'critical'])).optional(),
  /** Only events of this producer (service), e.g. `exchange-gateway`. */
  producer: z.string().optional(),
  /** Only events that occurred at or after this time (ISO-8601). */
  since: z.iso.datetime({ offset: true }).optional(),
  /** Paging: only events before this sequence (pass the last sequence of the previous page). */
  beforeSequence: z.number().int().positive().optional(),
  /** Most recent first; at most this many (1-1000, default 100). */
  limit: z.number().int().min(1).max(1000).default(100),
});
export type AuditEventsQuery = z.input<typeof AuditEventsQuery>;

export const AuditRecord = z.object({
  /** Position in the chain. */
  sequence: z.number().int().positive(),
  /** When the audit-service appended it. */
  recordedAt: z.iso.datetime({ offset: true }),
  /** Severity from the contract catalogue. */
  level: z.string(),
  /** The original envelope, as published. */
  event: Envelope,
  /** Hash of this row. */
  hash: z.string(),
});
export type AuditRecord = z.infer<typeof AuditRecord>;

export const AuditChainVerifyQry = defineRequest({ type: 'audit.qry.chain.verify', payload: VerifyAuditChain, result: AuditChainVerdict });
export const AuditEventsQry = defineRequest({
  type: 'audit.qry.events.list',
  payload: AuditEventsQuery,
  result: z.object({ events: z.array(AuditRecord) }),
});
