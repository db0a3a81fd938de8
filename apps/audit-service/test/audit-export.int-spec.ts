import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { generateKeyPairSync, sign } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BotStateChangedEvt, OrderAcceptedEvt, OrderFilledEvt, type AuditExportManifest, type AuditRecord } from '@garde/contracts';
import { ed25519KeyId, signedStatementBytes } from '@garde/domain';
import type { RunningService } from '@garde/platform';
import { createSandbox, type TestSandbox } from '@garde/testing';
import { runCli } from '../../console/src/cli.js';
import { startExchangeGateway } from '../../exchange-gateway/src/app.js';
import { TEST_API_TOKENS, TEST_TOKENS } from '../../exchange-gateway/test/api-client.js';
import { startAuditService } from '../src/app.js';
import { loadAuditConfig } from '../src/config/audit.config.js';
import { asSuperuser, bulkAppend } from './audit-fixtures.js';

const ROWS = 100_000;
const HOUR = 3_600_000;
/** The tests that read the whole 100,000-row file or chain, on a loaded CI machine. */
const LONG = 120_000;

/**
 * RB-013: an export of 100,000 events through the operators' API and bin/console, verified offline;
 * one changed byte anywhere makes the verification fail. The trail is written in bulk SQL (the point is
 * the export, not the consumer); the audit-service and the gateway are the real ones.
 */
describe('audit export (RB-013) and audit:verify through bin/console', () => {
  let sandbox: TestSandbox;
  let audit: RunningService;
  let gateway: RunningService;
  let env: Record<string, string>;
  let publicKey: string;
  const dir = mkdtempSync(path.join(tmpdir(), 'garde-audit-export-'));
  const start = new Date(Date.now() - 3 * HOUR);

  /** bin/console in this process (the real parser and commands), as a viewer or an admin. */
  const cli = async (...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(argv, {
      env: { GARDE_API_URL: gateway.url, GARDE_TOKEN: TEST_TOKENS.viewer },
      out: (t) => out.push(t),
      err: (t) => err.push(t),
    });
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  };
  const file = (name: string) => path.join(dir, name);
  /** Changes one byte of a file at `offset` (the byte after a given text when offset is a string). */
  const flipByte = (target: string, at: string | number, from: string, to: string) => {
    const bytes = readFileSync(target);
    const offset = typeof at === 'number' ? at : bytes.indexOf(at) + at.length;
    expect(bytes.subarray(offset, offset + 1).toString()).toBe(from);
    const copy = file(`tampered-${Math.random().toString(36).slice(2)}${path.extname(target)}`);
    bytes[offset] = to.charCodeAt(0);
    writeFileSync(copy, bytes);
    writeFileSync(`${copy}.manifest.json`, readFileSync(`${target}.manifest.json`));
    return copy;
  };

  beforeAll(async () => {
    sandbox = await createSandbox('audit-export');
    env = sandbox.env();
    publicKey = loadAuditConfig(env).AUDIT_SIGNING_KEY.publicKey;
    audit = await startAuditService(env);
    gateway = await startExchangeGateway(sandbox.env({ GARDE_API_TOKENS: TEST_API_TOKENS }));
    // 100,000 events, one every 100 ms from three hours ago, about 50 bots.
    await bulkAppend(sandbox, ROWS, { recordedFrom: start, stepMs: 100 });
    await sandbox.sql('ANALYZE audit.audit_event');
  }, 120_000);
  afterAll(async () => {
    await gateway?.close();
    await audit?.close();
    await sandbox?.dispose();
  });

  let exported: string;
  let manifest: AuditExportManifest;

  it(
    'exports 100,000 events with a signed manifest, showing progress on stderr; audit:verify --export proves it offline',
    async () => {
      exported = file('audit.jsonl');
      const to = new Date(start.getTime() + ROWS * 100).toISOString();
      const result = await cli('audit:export', `--from=${start.toISOString()}`, `--to=${to}`, '--format=jsonl', `--output=${exported}`);
      expect([result.code, result.stderr]).toEqual([0, expect.any(String)]);
      expect(result.stdout).toContain(`Exported ${ROWS} audit event(s), sequences 1-${ROWS}`);
      expect(result.stderr).toMatch(/audit:export: ([0-9.]+ MB) \/ \1 \(100 %\)/);
      manifest = JSON.parse(readFileSync(`${exported}.manifest.json`, 'utf8')) as AuditExportManifest;
      const [head] = await sandbox.sql<{ hash: string }>('SELECT hash FROM audit.audit_event WHERE sequence = $1', [ROWS]);
      expect(manifest).toMatchObject({
        kind: 'garde-audit-export',
        format: 'jsonl',
        rows: ROWS,
        firstSequence: 1,
        lastSequence: ROWS,
        previousHash: '0'.repeat(64),
        chainHead: head!.hash,
        exportedBy: 'viewer-person',
        signer: { algorithm: 'Ed25519', publicKey },
      });
      expect(readFileSync(exported, 'utf8').split('\n')).toHaveLength(ROWS + 1);

      const verified = await cli('audit:verify', `--export=${exported}`, `--public-key=${publicKey}`);
      expect([verified.code, verified.stdout]).toEqual([0, expect.stringContaining(`Export valid: ${exported}: ${ROWS} event(s), sequences 1-${ROWS}`)]);
      // The key the operators pin comes from the service itself.
      const key = await cli('audit:public-key', '--json');
      expect(JSON.parse(key.stdout)).toMatchObject({ algorithm: 'Ed25519', publicKey, keyId: manifest.signer.keyId, trusted: [] });
    },
    LONG,
  );

  it(
    'fails on one changed byte: in an event (names the row), outside the hashed event (the SHA-256), in the manifest',
    async () => {
      // A digit of a price inside the event of sequence 50,000.
      const lines = readFileSync(exported, 'utf8').split('\n');
      const offset = lines.slice(0, 49_999).reduce((n, l) => n + Buffer.byteLength(l) + 1, 0) + lines[49_999]!.indexOf('"quantity":"0.00') + 15;
      const inEvent = flipByte(exported, offset, '0', '1');
      const broken = await cli('audit:verify', `--export=${inEvent}`, `--public-key=${publicKey}`, '--json');
      expect(broken.code).toBe(1);
      expect(JSON.parse(broken.stdout)).toMatchObject({
        valid: false,
        badRecord: 50_000,
        badSequence: 50_000,
        problem: expect.stringContaining('hash does not match'),
      });

      // "info" → "infp" in the first line: not in the hashed event, caught by the file's SHA-256.
      const inLevel = flipByte(exported, '"level":"inf', 'o', 'p');
      const level = await cli('audit:verify', `--export=${inLevel}`, `--public-key=${publicKey}`);
      expect([level.code, level.stdout]).toEqual([1, expect.stringContaining('SHA-256 (')]);
      expect(level.stdout).toContain('a byte was changed');

      // The manifest changed after signing: one more row claimed.
      const altered = file('altered.jsonl');
      writeFileSync(altered, readFileSync(exported));
      writeFileSync(`${altered}.manifest.json`, JSON.stringify({ ...manifest, rows: ROWS + 1 }));
      expect((await cli('audit:verify', `--export=${altered}`, `--public-key=${publicKey}`)).stdout).toContain('signature does not verify');

      // A truncated file.
      const truncated = file('truncated.jsonl');
      writeFileSync(truncated, readFileSync(exported).subarray(0, -200));
      writeFileSync(`${truncated}.manifest.json`, readFileSync(`${exported}.manifest.json`));
      expect((await cli('audit:verify', `--export=${truncated}`, `--public-key=${publicKey}`)).stdout).toContain('does not end with a complete record');
    },
    LONG,
  );

  it(
    'detects a forged manifest only against the pinned key: a manifest re-signed with another key',
    async () => {
      const { publicKey: otherPub, privateKey } = generateKeyPairSync('ed25519');
      const other = Buffer.from(String(otherPub.export({ format: 'jwk' }).x), 'base64url').toString('base64');
      // A forger changes a row, recomputes the chain and the digest (here: keeps the file), and signs with their own key.
      const { signature: _signature, ...body } = manifest;
      const forgedBody = { ...body, signer: { algorithm: 'Ed25519' as const, keyId: ed25519KeyId(other), publicKey: other } };
      const forged = file('forged.jsonl');
      writeFileSync(forged, readFileSync(exported));
      writeFileSync(
        `${forged}.manifest.json`,
        JSON.stringify({
          ...forgedBody,
          signature: sign(null, signedStatementBytes('garde-audit-export-manifest-v1', forgedBody), privateKey).toString('base64'),
        }),
      );
      const pinned = await cli('audit:verify', `--export=${forged}`, `--public-key=${publicKey}`);
      expect([pinned.code, pinned.stdout]).toEqual([1, expect.stringContaining('not by the key you trust')]);
      // Without a pinned key the console refuses to call it proven, unless told it only checks integrity.
      expect((await cli('audit:verify', `--export=${forged}`)).code).toBe(2);
      const integrityOnly = await cli('audit:verify', `--export=${forged}`, '--trust-manifest-key');
      expect(integrityOnly.code).toBe(0);
      expect(integrityOnly.stderr).toContain('not who signed it');
      // A missing file is a failure (1), not a usage error.
      expect((await cli('audit:verify', `--export=${file('nowhere.jsonl')}`, `--public-key=${publicKey}`)).stdout).toContain('cannot read the manifest');
    },
    LONG,
  );

  it('exports a slice of the period as CSV, anchored on the row before it; refuses to overwrite', async () => {
    const csv = file('slice.csv');
    const from = new Date(start.getTime() + 40_000 * 100).toISOString();
    const to = new Date(start.getTime() + 41_000 * 100).toISOString();
    const result = await cli('audit:export', `--from=${from}`, `--to=${to}`, '--format=csv', `--output=${csv}`, '--json');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ rows: 1000, firstSequence: 40_001, lastSequence: 41_000 });
    const sliceManifest = JSON.parse(readFileSync(`${csv}.manifest.json`, 'utf8')) as AuditExportManifest;
    const [before] = await sandbox.sql<{ hash: string }>('SELECT hash FROM audit.audit_event WHERE sequence = 40000');
    expect(sliceManifest.previousHash).toBe(before!.hash);
    expect(readFileSync(csv, 'utf8').split('\n')[0]).toBe('sequence,recorded_at,level,type,occurred_at,producer,actor_id,correlation_id,prev_hash,hash,event');
    expect((await cli('audit:verify', `--export=${csv}`, `--public-key=${publicKey}`)).code).toBe(0);
    // "story-" → "story_" in the correlation_id column (read from the event): the record is no longer as written.
    const tampered = flipByte(csv, '"story', '-', '_');
    const verdict = await cli('audit:verify', `--export=${tampered}`, `--public-key=${publicKey}`);
    expect([verdict.code, verdict.stdout]).toEqual([1, expect.stringContaining('record 2: the record is not as the audit-service writes it')]);

    const again = await cli('audit:export', `--from=${from}`, `--to=${to}`, '--format=csv', `--output=${csv}`);
    expect([again.code, again.stderr]).toEqual([1, expect.stringContaining('already exist(s)')]);
    const empty = await cli('audit:export', '--from=2020-01-01', '--to=2020-01-02', `--output=${file('empty.jsonl')}`);
    expect([empty.code, empty.stderr]).toEqual([1, expect.stringContaining('NOT_FOUND')]);
    expect(existsSync(file('empty.jsonl'))).toBe(false);
    expect((await cli('audit:export', '--from=yesterday', '--to=2020-01-02', `--output=${file('x.jsonl')}`)).code).toBe(2);
  });

  it('serves the file of a slice over HTTP as a stream; refuses a bad request before any byte; cuts the answer short when rows are missing', async () => {
    const get = (query: string, token: string | null = TEST_TOKENS.viewer) =>
      fetch(`${gateway.url}/api/v1/audit/exports/file?${query}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    // Sequences 101-1,100 as CSV: the header, then exactly the records of the full JSONL export's rows, in order.
    const slice = await get('format=csv&from=101&to=1100');
    expect([slice.status, slice.headers.get('content-type')]).toEqual([200, 'text/csv; charset=utf-8']);
    const lines = (await slice.text()).split('\n');
    expect(lines).toHaveLength(1 + 1000 + 1);
    expect(lines.slice(1, -1).map((l) => Number(l.split(',')[0]))).toEqual(Array.from({ length: 1000 }, (_, i) => 101 + i));
    const jsonl = await (await get('format=jsonl&from=101&to=1100')).text();
    expect(jsonl).toBe(
      readFileSync(exported, 'utf8')
        .split('\n')
        .slice(100, 1100)
        .map((l) => `${l}\n`)
        .join(''),
    );

    for (const [query, message] of [
      ['format=xml&from=1&to=2', 'format must be jsonl or csv, not "xml"'],
      ['format=jsonl&from=1', "to is required (a sequence, from the export's manifest)"],
      ['format=jsonl&from=9&to=3', 'to (3) is before from (9)'],
    ] as const) {
      const res = await get(query);
      expect([res.status, await res.json()]).toEqual([400, { error: { code: 'INVALID_REQUEST', message } }]);
    }
    expect((await get('format=jsonl&from=1&to=2', null)).status).toBe(401);
    // Past the end of the trail: the rows that exist come, then the answer stops short of a complete body.
    const short = await get(`format=jsonl&from=${ROWS - 2}&to=${ROWS + 10}`);
    expect(short.status).toBe(200);
    await expect(short.text()).rejects.toThrow();
  });

  it('--bot lists the events of one bot and its orders, through an index the query uses', async () => {
    const trail = await cli('audit:trail', '--bot=bot-7', '--limit=20', '--json');
    expect(trail.code).toBe(0);
    const events = (JSON.parse(trail.stdout) as { events: AuditRecord[] }).events;
    expect(events).toHaveLength(20);
    for (const e of events) {
      const p = e.event.payload as { botId?: string; order?: { botId?: string } };
      expect(p.botId ?? p.order?.botId).toBe('bot-7');
    }
    // bot-7's stories come every 50 stories: its state changes, its orders accepted and filled.
    expect(new Set(events.map((e) => e.event.type))).toEqual(new Set([BotStateChangedEvt.type, OrderAcceptedEvt.type, OrderFilledEvt.type]));
    // Rejections of manual orders (no bot) are errors, but no bot's.
    const errors = await cli('audit:errors', '--since=2020-01-01T00:00:00Z', '--bot=bot-7', '--json');
    expect(JSON.parse(errors.stdout)).toEqual({ events: [] });
    expect((await cli('audit:trail', '--bot=a', '--order=b')).code).toBe(2);

    const plan = await sandbox.sql<{ 'QUERY PLAN': string }>(
      "EXPLAIN SELECT * FROM audit.audit_event e WHERE audit.audit_event_bot_id(e.envelope) = 'bot-7' ORDER BY e.sequence DESC LIMIT 100",
    );
    expect(plan.map((r) => r['QUERY PLAN']).join('\n')).toContain('audit_event_bot_idx');
    // `--order`: the events that name the order, through its own index.
    const orderPlan = await sandbox.sql<{ 'QUERY PLAN': string }>(
      "EXPLAIN SELECT m.correlation_id FROM audit.audit_event m WHERE audit.audit_event_client_order_id(m.envelope) = 'bench-7'",
    );
    expect(orderPlan.map((r) => r['QUERY PLAN']).join('\n')).toContain('audit_event_order_idx');
  });

  it(
    'audit:verify names the row a superuser changed by one byte behind the service',
    async () => {
      expect((await cli('audit:verify')).stdout).toContain(`Audit chain valid: ${ROWS} row(s) checked`);
      await asSuperuser(sandbox, 'UPDATE audit.audit_event SET canonical = replace(canonical, \'"drill 73332"\', \'"drill 73333"\') WHERE sequence = 73333');
      const broken = await cli('audit:verify');
      expect([broken.code, broken.stdout]).toEqual([
        1,
        'Audit chain BROKEN at sequence 73333: hash does not match the row content (73332 row(s) valid before it)',
      ]);
      // Nothing is signed over a broken chain: the export of a period containing it is refused.
      const refused = await cli('audit:export', `--from=${start.toISOString()}`, `--to=${new Date().toISOString()}`, `--output=${file('refused.jsonl')}`);
      expect([refused.code, refused.stderr]).toEqual([1, expect.stringContaining('AUDIT_CHAIN_BROKEN')]);
      expect(existsSync(file('refused.jsonl'))).toBe(false);
    },
    LONG,
  );
});
