import { z } from 'zod';
import { defineEvent, defineRequest } from './catalog.js';
import { Envelope } from './envelope.js';
import { Reason } from './kill-switch.js';

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
  /** First sequence checked: after a purge, the first row kept (anchored by the signed checkpoint before it). */
  firstSequence: z.number().int().positive().optional(),
  /** Signed checkpoints checked (signature by a trusted key, and the head they sign equal to the row's hash). */
  checkpointsChecked: z.number().int().nonnegative().optional(),
  /** The latest checkpoint checked: its sequence and when it was signed. */
  lastCheckpoint: z
    .object({ sequence: z.number().int().positive(), signedAt: z.iso.datetime({ offset: true }) })
    .nullable()
    .optional(),
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
  /** Only events about this bot: its own (created, state changes, failures, its kill-switch scope) and its orders'. */
  botId: z.string().optional(),
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

// ---------------------------------------------------------------------------------------------
// Exports (RB-013), signed checkpoints and retention
// ---------------------------------------------------------------------------------------------

export const AuditExportFormat = z.enum(['jsonl', 'csv']);
export type AuditExportFormat = z.infer<typeof AuditExportFormat>;

/** The public half of the audit-service's Ed25519 key: what a verifier needs, and all it needs. */
export const AuditSigner = z.object({
  algorithm: z.literal('Ed25519'),
  /** First 16 hex digits of SHA-256 of the raw public key. */
  keyId: z.string().regex(/^[0-9a-f]{16}$/),
  /** The 32 raw bytes of the public key, base64. */
  publicKey: z.string(),
});
export type AuditSigner = z.infer<typeof AuditSigner>;

export const SealAuditExport = z.object({
  /** Events recorded at or after this time (ISO-8601). */
  from: z.iso.datetime({ offset: true }),
  /** Events recorded before this time (ISO-8601). */
  to: z.iso.datetime({ offset: true }),
  format: AuditExportFormat,
});

/**
 * What the audit-service signs about an export, all computed by itself from the rows (never a digest
 * sent by the client: it signs nothing it has not read and verified).
 */
export const AuditExportManifestBody = z.object({
  kind: z.literal('garde-audit-export'),
  version: z.literal(1),
  format: AuditExportFormat,
  /** The period asked for: rows recorded at or after `from` and before `to` (a contiguous slice of the chain). */
  from: z.iso.datetime({ offset: true }),
  to: z.iso.datetime({ offset: true }),
  /** Rows in the file. */
  rows: z.number().int().positive(),
  firstSequence: z.number().int().positive(),
  lastSequence: z.number().int().positive(),
  /** Hash of the row before the first one (all zeros for sequence 1): where the chain of this file starts. */
  previousHash: z.string().regex(/^[0-9a-f]{64}$/),
  /** Hash of the last row: the chain head of this file. */
  chainHead: z.string().regex(/^[0-9a-f]{64}$/),
  /** SHA-256 (hex) and size of the exact bytes of the file. */
  fileSha256: z.string().regex(/^[0-9a-f]{64}$/),
  fileBytes: z.number().int().positive(),
  /** When the audit-service signed it, and for whom (the token's actor). */
  exportedAt: z.iso.datetime({ offset: true }),
  exportedBy: z.string(),
  signer: AuditSigner,
});
export type AuditExportManifestBody = z.infer<typeof AuditExportManifestBody>;

/** The manifest written beside an export: its body and the Ed25519 signature (base64) of that body. */
export const AuditExportManifest = AuditExportManifestBody.extend({ signature: z.string() });
export type AuditExportManifest = z.infer<typeof AuditExportManifest>;

export const AuditExportPageQuery = z.object({
  format: AuditExportFormat,
  /** The first sequence of the slice being exported (the manifest's). */
  fromSequence: z.number().int().positive(),
  /** The last sequence this page may hold: the slice's last, or the end of a range asked for ahead of the others. */
  toSequence: z.number().int().positive(),
  /** The last sequence already received; absent for the first page (which starts with the CSV header). */
  afterSequence: z.number().int().nonnegative().optional(),
});
export type AuditExportPageQuery = z.infer<typeof AuditExportPageQuery>;

export const AuditExportPage = z.object({
  /** The next bytes of the file, exactly (whole records, in order). */
  text: z.string(),
  /** Records in `text`. */
  rows: z.number().int().nonnegative(),
  /** The sequence of the last record in `text`: the next page's `afterSequence`. */
  lastSequence: z.number().int().nonnegative(),
});
export type AuditExportPage = z.infer<typeof AuditExportPage>;

export const PurgeAuditTrail = z.object({
  /** Purge rows recorded before this time, at most; never rows younger than the retention. */
  before: z.iso.datetime({ offset: true }),
  /** Why (kept in the purge record and the `audit.evt.trail.purged` event). */
  reason: Reason,
  /** Say what would be purged, purge nothing. */
  dryRun: z.boolean().default(false),
});

export const AuditPurgeResult = z.object({
  dryRun: z.boolean(),
  /** The retention in force, in days, and the time before which rows may go (now minus the retention, or `before` if earlier). */
  retentionDays: z.number().int().positive(),
  cutoff: z.iso.datetime({ offset: true }),
  /** Rows purged (or that would be), 0 when none may go. */
  rows: z.number().int().nonnegative(),
  fromSequence: z.number().int().positive().nullable(),
  throughSequence: z.number().int().positive().nullable(),
  /** The signed checkpoint the kept chain starts from (its sequence is `throughSequence`). */
  anchor: z.object({ sequence: z.number().int().positive(), head: z.string(), signedAt: z.iso.datetime({ offset: true }), keyId: z.string() }).nullable(),
  /** Why nothing (more) can go, when `rows` is 0. */
  note: z.string().optional(),
});
export type AuditPurgeResult = z.infer<typeof AuditPurgeResult>;

export const AuditExportSealQry = defineRequest({ type: 'audit.qry.export.seal', payload: SealAuditExport, result: AuditExportManifest });
export const AuditExportPageQry = defineRequest({ type: 'audit.qry.export.page', payload: AuditExportPageQuery, result: AuditExportPage });
export const AuditSignerQry = defineRequest({
  type: 'audit.qry.signer.get',
  payload: z.object({}),
  result: AuditSigner.extend({
    /** Older public keys whose checkpoints this audit-service still accepts (key rotation). */
    trusted: z.array(AuditSigner),
  }),
});
export const AuditPurgeCmd = defineRequest({ type: 'audit.cmd.trail.purge', payload: PurgeAuditTrail, result: AuditPurgeResult });

/** Rows older than the retention were deleted, from the start of the chain through a signed checkpoint. */
export const AuditTrailPurgedEvt = defineEvent({
  type: 'audit.evt.trail.purged',
  payload: z.object({
    fromSequence: z.number().int().positive(),
    throughSequence: z.number().int().positive(),
    rows: z.number().int().positive(),
    cutoff: z.iso.datetime({ offset: true }),
    retentionDays: z.number().int().positive(),
    /** The head the signed checkpoint at `throughSequence` holds: the kept chain's first prev_hash. */
    anchorHead: z.string(),
    reason: z.string(),
  }),
  level: 'warning',
});
