import { createHash, createPublicKey, verify } from 'node:crypto';
import { GENESIS_HASH, canonicalJson, chainHash } from './audit-chain.js';

/**
 * The audit trail's export files and signatures, shared by the audit-service (which writes and signs)
 * and the console (which checks an export offline, with no database and no API).
 *
 * An export is a contiguous slice of the hash chain, one record per row, in a format fully determined
 * by the row: the audit-service can compute the SHA-256 of the exact file the console writes without
 * sending it, and a verifier can re-create each record from its values and find any changed byte.
 */

export type AuditExportFormat = 'jsonl' | 'csv';
export const AUDIT_EXPORT_FORMATS: readonly AuditExportFormat[] = ['jsonl', 'csv'];

/** A row of the trail as an export carries it. */
export interface ExportRow {
  sequence: number;
  /** When the audit-service appended it (ISO-8601 UTC, milliseconds). */
  recordedAt: string;
  level: string;
  prevHash: string;
  hash: string;
  /** canonicalJson(envelope): exactly the text the hash covers. */
  canonical: string;
}

/** Columns of a CSV export; `event` is the canonical envelope, the others are read from it or from the row. */
export const CSV_COLUMNS = [
  'sequence',
  'recorded_at',
  'level',
  'type',
  'occurred_at',
  'producer',
  'actor_id',
  'correlation_id',
  'prev_hash',
  'hash',
  'event',
] as const;

/** What comes before the first record: the header line of a CSV file, nothing for JSONL. */
export function exportPreamble(format: AuditExportFormat): string {
  return format === 'csv' ? `${CSV_COLUMNS.join(',')}\n` : '';
}

/**
 * One row as a record of the file, newline included. JSONL: the canonical JSON of
 * `{ event, hash, level, prevHash, recordedAt, sequence }` with the event's canonical text inside
 * verbatim (so the line is itself canonical). CSV: RFC 4180 quoting of every text field, `\n` endings.
 */
export function exportRecord(format: AuditExportFormat, row: ExportRow): string {
  if (format === 'jsonl') {
    return `{"event":${row.canonical},"hash":${JSON.stringify(row.hash)},"level":${JSON.stringify(row.level)},"prevHash":${JSON.stringify(row.prevHash)},"recordedAt":${JSON.stringify(row.recordedAt)},"sequence":${row.sequence}}\n`;
  }
  const event = (JSON.parse(row.canonical) ?? {}) as Record<string, unknown>;
  const actor = event.actor as { id?: unknown } | null | undefined;
  const text = (value: unknown) => (value === undefined || value === null ? '' : csvQuote(typeof value === 'string' ? value : JSON.stringify(value)));
  return `${[
    String(row.sequence),
    text(row.recordedAt),
    text(row.level),
    text(event.type),
    text(event.occurredAt),
    text(event.producer),
    text(actor?.id),
    text(event.correlationId),
    text(row.prevHash),
    text(row.hash),
    csvQuote(row.canonical),
  ].join(',')}\n`;
}

const csvQuote = (value: string): string => `"${value.replaceAll('"', '""')}"`;

/**
 * Cuts decoded text into records (the text of each, without its `\n`), whatever the chunk boundaries.
 * In CSV a newline inside quotes belongs to the field. Memory: one record at most.
 */
export class ExportRecordSplitter {
  private pending = '';
  private inQuotes = false;
  /** Where the scan of `pending` stopped (CSV: the quote state is known up to there). */
  private scanned = 0;

  constructor(private readonly format: AuditExportFormat) {}

  push(chunk: string): string[] {
    this.pending += chunk;
    const records: string[] = [];
    let start = 0;
    if (this.format === 'jsonl') {
      for (let nl = this.pending.indexOf('\n'); nl !== -1; nl = this.pending.indexOf('\n', start)) {
        records.push(this.pending.slice(start, nl));
        start = nl + 1;
      }
    } else {
      for (let i = this.scanned; i < this.pending.length; i++) {
        const c = this.pending.charCodeAt(i);
        if (c === 34 /* " */) this.inQuotes = !this.inQuotes;
        else if (c === 10 /* \n */ && !this.inQuotes) {
          records.push(this.pending.slice(start, i));
          start = i + 1;
        }
      }
    }
    this.pending = this.pending.slice(start);
    this.scanned = this.pending.length;
    return records;
  }

  /** Text after the last newline (a file must end with one: anything here is a truncated record). */
  rest(): string {
    return this.pending;
  }
}

/** Splits one CSV record into its fields (RFC 4180). Undefined when the quoting is malformed. */
export function parseCsvRecord(record: string): string[] | undefined {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (record[i] === '"') {
      let value = '';
      i += 1;
      for (;;) {
        const q = record.indexOf('"', i);
        if (q === -1) return undefined;
        value += record.slice(i, q);
        if (record[q + 1] === '"') {
          value += '"';
          i = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      fields.push(value);
    } else {
      const comma = record.indexOf(',', i);
      const end = comma === -1 ? record.length : comma;
      const value = record.slice(i, end);
      if (value.includes('"')) return undefined;
      fields.push(value);
      i = end;
    }
    if (i === record.length) return fields;
    if (record[i] !== ',') return undefined;
    i += 1;
  }
}

/** The end of a JSONL record, after the event: the row's own values, in the order exportRecord writes them. */
const JSONL_TAIL =
  /,"hash":"([0-9a-f]{64})","level":("(?:[^"\\]|\\.)*"),"prevHash":"([0-9a-f]{64})","recordedAt":("(?:[^"\\]|\\.)*"),"sequence":([1-9][0-9]{0,15})\}$/;

/**
 * The chain values of one record, or why it is not a record of an export. The event is taken verbatim
 * (its hash covers those exact characters); every other character must be as exportRecord writes it.
 */
export function parseExportRecord(format: AuditExportFormat, record: string): { ok: true; row: ExportRow } | { ok: false; reason: string } {
  let row: ExportRow;
  if (format === 'jsonl') {
    const tail = JSONL_TAIL.exec(record);
    if (!record.startsWith('{"event":{') || !tail) return { ok: false, reason: 'not an audit record as the audit-service writes it' };
    let level: unknown;
    let recordedAt: unknown;
    try {
      level = JSON.parse(tail[2]!);
      recordedAt = JSON.parse(tail[4]!);
    } catch {
      return { ok: false, reason: 'not an audit record as the audit-service writes it' };
    }
    row = {
      sequence: Number(tail[5]),
      recordedAt: String(recordedAt),
      level: String(level),
      prevHash: tail[3]!,
      hash: tail[1]!,
      canonical: record.slice('{"event":'.length, tail.index),
    };
  } else {
    const fields = parseCsvRecord(record);
    if (!fields || fields.length !== CSV_COLUMNS.length) return { ok: false, reason: `not a CSV record of ${CSV_COLUMNS.length} fields` };
    const [sequence, recordedAt, level, , , , , , prevHash, hash, canonical] = fields as [string, string, string, ...string[]];
    if (!/^[1-9][0-9]{0,15}$/.test(sequence)) return { ok: false, reason: 'sequence is not a positive integer' };
    row = { sequence: Number(sequence), recordedAt, level, prevHash: prevHash!, hash: hash!, canonical: canonical! };
  }
  // Re-created from its values, a record must be byte for byte what the audit-service wrote.
  let again: string;
  try {
    again = exportRecord(format, row);
  } catch {
    return { ok: false, reason: 'the event is not JSON' };
  }
  if (again !== `${record}\n`) return { ok: false, reason: 'the record is not as the audit-service writes it (a changed or added character)' };
  return { ok: true, row };
}

export type ExportCheck =
  | { ok: true; rows: number; firstSequence: number | null; lastSequence: number | null; head: string }
  | { ok: false; rows: number; record: number; sequence?: number; reason: string };

/**
 * Walks the records of an export, in order, as they are read: the header (CSV), each record re-created
 * from its values, consecutive sequences, each prev_hash equal to the hash before it (the first to
 * `previousHash`), and each hash recomputed from the canonical event. Stops at the first problem.
 */
export class ExportChainChecker {
  private records = 0;
  private rows = 0;
  private expectedSequence: number | undefined;
  private firstSequence: number | null = null;
  private prevHash: string;
  private failure: Extract<ExportCheck, { ok: false }> | undefined;

  constructor(
    private readonly format: AuditExportFormat,
    anchor: { firstSequence?: number; previousHash?: string } = {},
  ) {
    this.expectedSequence = anchor.firstSequence;
    this.prevHash = anchor.previousHash ?? GENESIS_HASH;
  }

  /** Takes the next record (its text without the newline); false once a problem was found. */
  add(record: string): boolean {
    if (this.failure) return false;
    this.records += 1;
    if (this.format === 'csv' && this.records === 1) {
      if (`${record}\n` !== exportPreamble('csv')) return this.fail('the CSV header is not the export header');
      return true;
    }
    const parsed = parseExportRecord(this.format, record);
    if (!parsed.ok) return this.fail(parsed.reason);
    const { row } = parsed;
    const expected = this.expectedSequence ?? row.sequence;
    if (row.sequence !== expected) return this.fail(`sequence ${row.sequence} where ${expected} was expected (a row missing, added or moved)`, row.sequence);
    if (row.prevHash !== this.prevHash) return this.fail('prev_hash does not match the hash of the previous row', row.sequence);
    if (chainHash(row.prevHash, row.canonical) !== row.hash) return this.fail('hash does not match the row content', row.sequence);
    this.firstSequence ??= row.sequence;
    this.prevHash = row.hash;
    this.expectedSequence = row.sequence + 1;
    this.rows += 1;
    return true;
  }

  /** The first problem found so far, if any (a reader may stop there). */
  problem(): Extract<ExportCheck, { ok: false }> | undefined {
    return this.failure;
  }

  /** The verdict, given what was left after the last newline. */
  finish(rest = ''): ExportCheck {
    if (this.failure) return this.failure;
    if (rest !== '') {
      this.records += 1;
      this.fail('the file does not end with a complete record (truncated, or bytes after the last newline)');
      return this.failure!;
    }
    if (this.format === 'csv' && this.records === 0) {
      this.records = 1;
      this.fail('the file is empty (no CSV header)');
      return this.failure!;
    }
    const lastSequence = this.firstSequence === null ? null : this.firstSequence + this.rows - 1;
    return { ok: true, rows: this.rows, firstSequence: this.firstSequence, lastSequence, head: this.prevHash };
  }

  private fail(reason: string, sequence?: number): false {
    this.failure = { ok: false, rows: this.rows, record: this.records, reason, ...(sequence === undefined ? {} : { sequence }) };
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Signatures (Ed25519). Signing happens in the audit-service, which alone holds the private key;
// verifying needs only the public key (32 raw bytes, base64).
// ---------------------------------------------------------------------------------------------

/** What a signature is about: the same bytes can never be read as a manifest and as a checkpoint. */
export type SignedStatementKind = 'garde-audit-export-manifest-v1' | 'garde-audit-checkpoint-v1';

/** The bytes signed for a statement: its kind, a newline, and the canonical JSON of its body. */
export function signedStatementBytes(kind: SignedStatementKind, body: unknown): Buffer {
  return Buffer.from(`${kind}\n${canonicalJson(body)}`, 'utf8');
}

/** Short, stable name of a public key: the first 16 hex digits of SHA-256 of its 32 raw bytes. */
export function ed25519KeyId(publicKeyBase64: string): string {
  return createHash('sha256').update(Buffer.from(publicKeyBase64, 'base64')).digest('hex').slice(0, 16);
}

/** True when `signatureBase64` is the Ed25519 signature of `message` by the key; false for anything malformed. */
export function verifyEd25519(publicKeyBase64: string, message: Buffer, signatureBase64: string): boolean {
  try {
    const raw = Buffer.from(publicKeyBase64, 'base64');
    const signature = Buffer.from(signatureBase64, 'base64');
    if (raw.length !== 32 || signature.length !== 64) return false;
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}
