import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import type { AuditExportManifestBody } from '@garde/contracts';
import {
  GENESIS_HASH,
  canonicalJson,
  chainHash,
  ed25519KeyId,
  exportPreamble,
  exportRecord,
  signedStatementBytes,
  type AuditExportFormat,
} from '@garde/domain';
import { runCli } from '../cli.js';
import { verifyExportFile } from './audit-export.js';

/** A port nothing listens on: a command that reached for the API would exit 3, not 2. */
const CLOSED_API = { GARDE_API_URL: 'http://127.0.0.1:9', GARDE_TOKEN: 't' };

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { env: CLOSED_API, out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const PUBLIC_KEY = Buffer.from(String(publicKey.export({ format: 'jwk' }).x), 'base64url').toString('base64');

/** An export of `count` events and its manifest, signed as the audit-service signs them. */
function writeExport(dir: string, format: AuditExportFormat, count: number): string {
  let prev = GENESIS_HASH;
  let text = exportPreamble(format);
  for (let sequence = 1; sequence <= count; sequence++) {
    const canonical = canonicalJson({
      messageId: `00000000-0000-4000-8000-${String(sequence).padStart(12, '0')}`,
      type: 'bot.evt.bot.failed',
      correlationId: `c-${sequence}`,
      occurredAt: '2026-01-01T00:00:00.000Z',
      producer: 'bot-service/1',
      payload: { botId: 'b-1', reason: `strategy "grid" failed, step ${sequence}` },
    });
    const hash = chainHash(prev, canonical);
    text += exportRecord(format, { sequence, recordedAt: '2026-01-01T00:00:01.000Z', level: 'error', prevHash: prev, hash, canonical });
    prev = hash;
  }
  const file = path.join(dir, `audit.${format}`);
  writeFileSync(file, text);
  const body: AuditExportManifestBody = {
    kind: 'garde-audit-export',
    version: 1,
    format,
    from: '2026-01-01T00:00:00.000Z',
    to: '2026-01-02T00:00:00.000Z',
    rows: count,
    firstSequence: 1,
    lastSequence: count,
    previousHash: GENESIS_HASH,
    chainHead: prev,
    fileSha256: createHash('sha256').update(text).digest('hex'),
    fileBytes: Buffer.byteLength(text),
    exportedAt: '2026-01-02T00:00:00.000Z',
    exportedBy: 'alice',
    signer: { algorithm: 'Ed25519', keyId: ed25519KeyId(PUBLIC_KEY), publicKey: PUBLIC_KEY },
  };
  const signature = sign(null, signedStatementBytes('garde-audit-export-manifest-v1', body), privateKey).toString('base64');
  writeFileSync(`${file}.manifest.json`, JSON.stringify({ ...body, signature }, null, 2));
  return file;
}

describe('audit export commands: usage errors (exit 2, nothing sent to the API)', () => {
  it.each([
    [['audit:export', '--to=2026-01-02', '--output=x.jsonl'], '--from is required'],
    [['audit:export', '--from=2026-01-02', '--to=2026-01-01', '--output=x.jsonl'], '--to must be after --from'],
    [['audit:export', '--from=2026-01-01', '--to=2026-01-02'], '--output=<file> is required'],
    [['audit:export', '--from=2026-01-01', '--to=2026-01-02', '--output=x', '--format=xml'], '--format must be jsonl or csv'],
    [['audit:export', '--from=last week', '--to=2026-01-02', '--output=x'], '--from must be an ISO-8601 date (UTC) or a time with its zone'],
    [['audit:export', '--from=2026-01-01T09:00:00', '--to=2026-01-02', '--output=x'], 'a time with its zone'],
    [['audit:verify', '--export=x.jsonl'], "give the audit-service's public key"],
    [['audit:verify', '--export=x.jsonl', '--from=3', '--trust-manifest-key'], 'no --from or --to with it'],
    [['audit:verify', '--public-key=abc'], 'go with --export=<file>'],
    [['audit:purge', '--before=2020-01-01'], 'a reason is required'],
    [['audit:purge', '--reason=old rows'], '--before is required'],
    [['audit:trail', '--bot=b-1', '--order=o-1'], 'give one of --correlation-id=<id>, --order=<client-order-id> or --bot=<bot-id>'],
  ])('%j → %s', async (argv, message) => {
    const result = await run(...argv);
    expect([result.code, result.err]).toEqual([2, expect.stringContaining(message)]);
  });

  it('reaches for the API once the input is right (exit 3 here)', async () => {
    expect((await run('audit:errors', '--last=1h', '--bot=b-1')).code).toBe(3);
    expect((await run('audit:purge', '--before=2020-01-01', '--reason=retention', '--dry-run')).code).toBe(3);
    expect((await run('audit:public-key')).code).toBe(3);
    const dir = mkdtempSync(path.join(tmpdir(), 'garde-export-usage-'));
    expect((await run('audit:export', '--from=2026-01-01', '--to=2026-01-02', `--output=${path.join(dir, 'a.jsonl')}`)).code).toBe(3);
  });
});

describe('audit:verify --export, offline', () => {
  it.each(['jsonl', 'csv'] as const)('%s: accepts an intact export under the pinned key, and refuses any changed byte', async (format) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'garde-verify-export-'));
    const file = writeExport(dir, format, 50);
    const ok = await run('audit:verify', `--export=${file}`, `--public-key=${PUBLIC_KEY}`);
    expect([ok.code, ok.out]).toEqual([0, expect.stringContaining(`Export valid: ${file}: 50 event(s), sequences 1-50`)]);

    const original = readFileSync(file);
    // Every byte position, one at a time: the verification fails for each (a sample, to stay quick).
    for (let offset = 0; offset < original.length; offset += 97) {
      const changed = Buffer.from(original);
      changed[offset] = changed[offset] === 0x41 ? 0x42 : 0x41;
      writeFileSync(file, changed);
      const verdict = await verifyExportFile(file, { publicKey: PUBLIC_KEY });
      expect([offset, verdict.valid]).toEqual([offset, false]);
    }
    writeFileSync(file, original);
    expect((await verifyExportFile(file, { publicKey: PUBLIC_KEY })).valid).toBe(true);
  });

  it('names the row of a changed event, and reports a missing file as a failure (exit 1)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'garde-verify-export-'));
    const file = writeExport(dir, 'jsonl', 20);
    writeFileSync(file, readFileSync(file, 'utf8').replace('step 7"', 'step 8"'));
    const verdict = await run('audit:verify', `--export=${file}`, `--public-key=${PUBLIC_KEY}`, '--json');
    expect(verdict.code).toBe(1);
    expect(JSON.parse(verdict.out)).toMatchObject({
      valid: false,
      badRecord: 7,
      badSequence: 7,
      problem: 'record 7 (sequence 7): hash does not match the row content',
    });
    const missing = await run('audit:verify', `--export=${path.join(dir, 'none.jsonl')}`, `--public-key=${PUBLIC_KEY}`);
    expect([missing.code, missing.out]).toEqual([1, expect.stringContaining('cannot read the manifest')]);
    const notAKey = await run('audit:verify', `--export=${file}`, '--public-key=short');
    expect([notAKey.code, notAKey.err]).toEqual([1, expect.stringContaining('not an Ed25519 public key')]);
  });
});
