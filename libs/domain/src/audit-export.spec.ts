import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { GENESIS_HASH, canonicalJson, chainHash } from './audit-chain.js';
import {
  ExportChainChecker,
  ExportRecordSplitter,
  ed25519KeyId,
  exportPreamble,
  exportRecord,
  parseCsvRecord,
  parseExportRecord,
  signedStatementBytes,
  verifyEd25519,
  type AuditExportFormat,
  type ExportRow,
} from './audit-export.js';

const FORMATS: AuditExportFormat[] = ['jsonl', 'csv'];

function rows(events: unknown[], first = 1, previousHash = GENESIS_HASH): ExportRow[] {
  let prevHash = previousHash;
  return events.map((event, i) => {
    const canonical = canonicalJson(event);
    const row = {
      sequence: first + i,
      recordedAt: `2026-01-0${1 + (i % 9)}T10:00:00.123Z`,
      level: i % 2 ? 'error' : 'info',
      prevHash,
      hash: chainHash(prevHash, canonical),
      canonical,
    };
    prevHash = row.hash;
    return row;
  });
}

const envelope = (i: number, reason = `step ${i}`) => ({
  messageId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  type: 'gateway.evt.order.rejected',
  correlationId: `c-${i}`,
  occurredAt: '2026-01-01T10:00:00.000Z',
  producer: 'exchange-gateway/pod-1',
  actor: { id: 'alice', kind: 'operator' },
  payload: { clientOrderId: `o-${i}`, reason },
});

function fileOf(format: AuditExportFormat, list: ExportRow[]): string {
  return exportPreamble(format) + list.map((r) => exportRecord(format, r)).join('');
}

/** Feeds a file to the checker in chunks cut at the given sizes. */
function check(format: AuditExportFormat, text: string, anchor: { firstSequence?: number; previousHash?: string } = {}, chunk = 7) {
  const splitter = new ExportRecordSplitter(format);
  const checker = new ExportChainChecker(format, anchor);
  for (let i = 0; i < text.length; i += chunk) for (const record of splitter.push(text.slice(i, i + chunk))) checker.add(record);
  return checker.finish(splitter.rest());
}

describe('export records', () => {
  it('writes a JSONL line that is itself canonical JSON, with the event verbatim', () => {
    const [row] = rows([envelope(1, 'quote " comma , newline \n é')]);
    const line = exportRecord('jsonl', row!);
    expect(line.endsWith('\n')).toBe(true);
    expect(canonicalJson(JSON.parse(line))).toBe(line.slice(0, -1));
    expect(line).toContain(row!.canonical);
  });

  it('writes a CSV record with the columns read from the event, every text field quoted', () => {
    const [row] = rows([envelope(1, 'say "hi", then\nleave')]);
    expect(exportPreamble('csv')).toBe('sequence,recorded_at,level,type,occurred_at,producer,actor_id,correlation_id,prev_hash,hash,event\n');
    const fields = parseCsvRecord(exportRecord('csv', row!).slice(0, -1));
    expect(fields?.slice(0, 8)).toEqual([
      '1',
      row!.recordedAt,
      'info',
      'gateway.evt.order.rejected',
      '2026-01-01T10:00:00.000Z',
      'exchange-gateway/pod-1',
      'alice',
      'c-1',
    ]);
    expect(fields?.[10]).toBe(row!.canonical);
  });

  it('property: any event survives writing and reading in both formats, whatever the chunk boundaries', () => {
    fc.assert(
      fc.property(fc.array(fc.dictionary(fc.string(), fc.jsonValue()), { minLength: 1, maxLength: 5 }), fc.integer({ min: 1, max: 50 }), (payloads, chunk) => {
        const list = rows(payloads.map((payload, i) => ({ ...envelope(i + 1), payload })));
        for (const format of FORMATS) {
          const text = fileOf(format, list);
          expect(check(format, text, {}, chunk)).toEqual({ ok: true, rows: list.length, firstSequence: 1, lastSequence: list.length, head: list.at(-1)!.hash });
          const splitter = new ExportRecordSplitter(format);
          const records = [...splitter.push(text)].slice(format === 'csv' ? 1 : 0);
          expect(records.map((r) => (parseExportRecord(format, r) as { row: ExportRow }).row)).toEqual(list);
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('ExportChainChecker', () => {
  const list = rows([1, 2, 3, 4, 5].map((i) => envelope(i)));

  it.each(FORMATS)('%s: accepts an intact export, also a slice anchored on the hash before it', (format) => {
    expect(check(format, fileOf(format, list))).toMatchObject({ ok: true, rows: 5, lastSequence: 5 });
    expect(check(format, fileOf(format, list.slice(2)), { firstSequence: 3, previousHash: list[1]!.hash })).toMatchObject({
      ok: true,
      rows: 3,
      firstSequence: 3,
    });
    expect(check(format, fileOf(format, list.slice(2)), { firstSequence: 3, previousHash: list[0]!.hash })).toMatchObject({
      ok: false,
      sequence: 3,
      reason: 'prev_hash does not match the hash of the previous row',
    });
  });

  it.each(FORMATS)('%s: names the record of a changed character in an event, a removed row, a truncated end', (format) => {
    const text = fileOf(format, list);
    const header = format === 'csv' ? 1 : 0;
    expect(check(format, text.replace('step 3', 'step 8'))).toMatchObject({
      ok: false,
      record: 3 + header,
      sequence: 3,
      reason: 'hash does not match the row content',
    });
    const lines = text.split('\n');
    lines.splice(header + 1, 1);
    expect(check(format, lines.join('\n'))).toMatchObject({
      ok: false,
      record: 2 + header,
      sequence: 3,
      reason: expect.stringContaining('where 2 was expected'),
    });
    expect(check(format, text.slice(0, -10))).toMatchObject({
      ok: false,
      record: 5 + header,
      reason: expect.stringContaining('does not end with a complete record'),
    });
    expect(check(format, `${text}x`)).toMatchObject({ ok: false, reason: expect.stringContaining('does not end with a complete record') });
  });

  it('finds a character added outside the hashed event (the record is not as written)', () => {
    const text = fileOf('jsonl', list).replace('"level":"info"', '"level": "info"');
    expect(check('jsonl', text)).toMatchObject({ ok: false, record: 1, reason: expect.stringContaining('as the audit-service writes it') });
    const csv = fileOf('csv', list).replace('"c-2"', '"c-9"');
    expect(check('csv', csv)).toMatchObject({ ok: false, record: 3, reason: expect.stringContaining('not as the audit-service writes it') });
    expect(check('csv', fileOf('csv', list).replace('sequence,', 'seq,'))).toMatchObject({
      ok: false,
      record: 1,
      reason: 'the CSV header is not the export header',
    });
  });
});

describe('Ed25519 statements', () => {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(String(publicKey.export({ format: 'jwk' }).x), 'base64url').toString('base64');
  const body = { rows: 3, chainHead: 'ab'.repeat(32) };
  const signature = sign(null, signedStatementBytes('garde-audit-export-manifest-v1', body), privateKey).toString('base64');

  it('verifies a signature over the canonical statement, whatever the key order of the body', () => {
    expect(verifyEd25519(raw, signedStatementBytes('garde-audit-export-manifest-v1', { chainHead: body.chainHead, rows: 3 }), signature)).toBe(true);
  });

  it('refuses another body, another kind of statement, another key, and malformed input', () => {
    expect(verifyEd25519(raw, signedStatementBytes('garde-audit-export-manifest-v1', { ...body, rows: 4 }), signature)).toBe(false);
    expect(verifyEd25519(raw, signedStatementBytes('garde-audit-checkpoint-v1', body), signature)).toBe(false);
    const other = Buffer.from(String(generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x), 'base64url').toString('base64');
    expect(verifyEd25519(other, signedStatementBytes('garde-audit-export-manifest-v1', body), signature)).toBe(false);
    expect(verifyEd25519('not a key', signedStatementBytes('garde-audit-export-manifest-v1', body), signature)).toBe(false);
    expect(verifyEd25519(raw, signedStatementBytes('garde-audit-export-manifest-v1', body), 'AAAA')).toBe(false);
  });

  it('names a key by 16 hex digits of its SHA-256', () => {
    expect(ed25519KeyId(raw)).toMatch(/^[0-9a-f]{16}$/);
    expect(ed25519KeyId(raw)).toBe(ed25519KeyId(raw));
  });
});
