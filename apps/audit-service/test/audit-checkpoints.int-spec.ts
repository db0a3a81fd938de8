import { generateKeyPairSync, sign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  AuditChainVerifyQry,
  AuditExportSealQry,
  AuditPurgeCmd,
  AuditTrailPurgedEvt,
  BotStateChangedEvt,
  busTopology,
  type Actor,
  type AuditChainVerdict,
} from '@garde/contracts';
import { canonicalJson, chainHash, signedStatementBytes, verifyEd25519 } from '@garde/domain';
import { JsonLogger, MessageBus, type RunningService } from '@garde/platform';
import { createSandbox, until, type TestSandbox } from '@garde/testing';
import { startAuditService } from '../src/app.js';
import { loadAuditConfig } from '../src/config/audit.config.js';
import { CreateCheckpoint } from '../src/use-cases/create-checkpoint/create-checkpoint.use-case.js';
import { asSuperuser, bulkAppend, signCheckpoint } from './audit-fixtures.js';

const admin: Actor = { id: 'adele', kind: 'operator', role: 'admin' };
const DAY = 86_400_000;
const YEAR = 365.25 * DAY;

interface CheckpointRow {
  sequence: number;
  head: string;
  signed_at: Date;
  key_id: string;
  public_key: string;
  signature: string;
}

/** Publishes bot events from another process's bus, as bot-service would. */
async function publisherOn(sandbox: TestSandbox): Promise<{ nc: NatsConnection; bus: MessageBus }> {
  const nc = await connect({ servers: sandbox.natsUrl });
  return { nc, bus: new MessageBus(nc, busTopology(sandbox.namespace), 'bot-service/test', new JsonLogger('test', 'error').child('bus')) };
}
const alice: Actor = { id: 'alice', kind: 'operator', role: 'operator' };
const stateChange = (bus: MessageBus, reason: string) =>
  bus.publish(BotStateChangedEvt, { botId: 'b-1', from: 'RUNNING', to: 'PAUSED', reason }, { actor: alice });

describe('signed checkpoints of the audit chain', () => {
  let sandbox: TestSandbox;
  let audit: RunningService;
  let publisher: { nc: NatsConnection; bus: MessageBus };
  let env: Record<string, string>;

  const verify = async (range: { fromSequence?: number; toSequence?: number } = {}): Promise<AuditChainVerdict> => {
    const reply = await audit.runtime.bus.request(AuditChainVerifyQry, range, {}, 10_000);
    if (!reply.ok) throw new Error(reply.error.message);
    return reply.result;
  };
  const checkpoints = () =>
    sandbox.sql<CheckpointRow>(
      'SELECT sequence::int AS sequence, head, signed_at, key_id, public_key, signature FROM audit.audit_checkpoint ORDER BY sequence',
    );
  const rowCount = async () => (await sandbox.sql<{ n: number }>('SELECT count(*)::int AS n FROM audit.audit_event'))[0]!.n;
  const metric = async (name: string): Promise<number> => (await audit.runtime.metrics.getSingleMetric(name)?.get())?.values[0]?.value ?? NaN;

  beforeAll(async () => {
    sandbox = await createSandbox('audit-checkpoints');
    env = sandbox.env({ AUDIT_CHECKPOINT_INTERVAL_MS: '100', AUDIT_RETRY_DELAY_MS: '100' });
    audit = await startAuditService(env);
    publisher = await publisherOn(sandbox);
  });
  afterAll(async () => {
    await audit?.close();
    await publisher?.nc.drain();
    await sandbox?.dispose();
  });

  it('signs the chain head once it has verified, with the configured key, and audit:verify checks the signature', async () => {
    // The first three rows land in one statement, as a batch of the consumer would: published one by one,
    // a slow machine let the 100 ms timer sign a head between them, and the checkpoints below would differ.
    // The consumer's own rows come later (row 4).
    const reasons = ['one', 'two', 'three'];
    await bulkAppend(sandbox, 3, {
      recordedFrom: new Date(),
      envelope: (i, occurredAt) => {
        const payload = { botId: 'b-1', from: 'RUNNING', to: 'PAUSED', reason: reasons[i] };
        return { ...publisher.bus.envelope(BotStateChangedEvt.type, BotStateChangedEvt.schemaVersion, payload, { actor: alice }), occurredAt };
      },
    });
    const [cp] = await until(checkpoints, (c) => c.some((x) => x.sequence === 3), 10_000);
    const { publicKey, keyId } = loadAuditConfig(env).AUDIT_SIGNING_KEY;
    const [row] = await sandbox.sql<{ hash: string }>('SELECT hash FROM audit.audit_event WHERE sequence = 3');
    expect(cp).toMatchObject({ sequence: 3, head: row!.hash, key_id: keyId, public_key: publicKey });
    const statement = { sequence: 3, head: cp!.head, signedAt: cp!.signed_at.toISOString(), keyId };
    expect(verifyEd25519(publicKey, signedStatementBytes('garde-audit-checkpoint-v1', statement), cp!.signature)).toBe(true);
    expect(await verify()).toMatchObject({
      valid: true,
      checked: 3,
      checkpointsChecked: 1,
      lastCheckpoint: { sequence: 3, signedAt: cp!.signed_at.toISOString() },
    });
    expect(await metric('garde_audit_last_checkpoint_sequence')).toBe(3);
    expect(await metric('garde_audit_last_checkpoint_age_seconds')).toBeGreaterThanOrEqual(0);
    // Nothing new to sign while the head does not move.
    await new Promise((r) => setTimeout(r, 400));
    expect((await checkpoints()).map((c) => c.sequence)).toEqual([3]);
  });

  it('the role that runs the service has no UPDATE, DELETE or TRUNCATE grant on the trail', async () => {
    const grants = await sandbox.sql<{ table_name: string; privilege_type: string }>(
      `SELECT table_name, privilege_type FROM information_schema.role_table_grants
        WHERE table_schema = 'audit' AND table_name IN ('audit_event', 'audit_checkpoint', 'audit_purge') AND grantee = current_user ORDER BY 1, 2`,
    );
    for (const table of ['audit_event', 'audit_checkpoint', 'audit_purge']) {
      expect(grants.filter((g) => g.table_name === table).map((g) => g.privilege_type)).toEqual(['INSERT', 'REFERENCES', 'SELECT', 'TRIGGER']);
    }
    await expect(sandbox.sql('DELETE FROM audit.audit_checkpoint')).rejects.toThrow(/audit_checkpoint is append-only: DELETE refused/);
    await expect(sandbox.sql('UPDATE audit.audit_event SET level = level')).rejects.toThrow(/audit_event is append-only: UPDATE refused/);
  });

  it('finds a chain rewritten and re-hashed behind its back, by the checkpoint signed before', async () => {
    const original = await sandbox.sql<{ canonical: string; hash: string }>('SELECT canonical, hash FROM audit.audit_event ORDER BY sequence');
    // A superuser changes the reason of row 2 and recomputes the hashes of rows 2 and 3: the chain itself is consistent.
    const forged = JSON.parse(original[1]!.canonical) as { payload: { reason: string } };
    forged.payload.reason = 'two (edited)';
    const canonical2 = canonicalJson(forged);
    const hash2 = chainHash(original[0]!.hash, canonical2);
    const hash3 = chainHash(hash2, original[2]!.canonical);
    const rewrite = (canonical: string, h2: string, h3: string) =>
      asSuperuser(
        sandbox,
        `UPDATE audit.audit_event SET canonical = '${canonical}', envelope = '${canonical}'::jsonb, hash = '${h2}' WHERE sequence = 2;
         UPDATE audit.audit_event SET prev_hash = '${h2}', hash = '${h3}' WHERE sequence = 3`,
      );
    await rewrite(canonical2, hash2, hash3);
    expect(await verify()).toMatchObject({
      valid: false,
      checked: 2,
      firstBadSequence: 3,
      problem: 'hash differs from the one the checkpoint at sequence 3 signed: a row up to it was rewritten and the chain re-hashed',
    });
    await rewrite(original[1]!.canonical, original[1]!.hash, original[2]!.hash);
    expect(await verify()).toMatchObject({ valid: true, checked: 3 });
  });

  it('signs no new head while the rows since the last checkpoint do not verify; the failure is counted', async () => {
    const [row3] = await sandbox.sql<{ canonical: string }>('SELECT canonical FROM audit.audit_event WHERE sequence = 3');
    await asSuperuser(sandbox, `UPDATE audit.audit_event SET canonical = replace(canonical, '"three"', '"thrEe"') WHERE sequence = 3`);
    const failuresBefore = await metric('garde_audit_verify_failures_total');
    await stateChange(publisher.bus, 'four');
    expect(await until(rowCount, (n) => n === 4)).toBe(4);
    expect(
      await until(
        () => metric('garde_audit_verify_failures_total'),
        (n) => n >= failuresBefore + 2,
      ),
    ).toBeGreaterThanOrEqual(failuresBefore + 2);
    expect((await checkpoints()).map((c) => c.sequence)).toEqual([3]);
    expect(await verify()).toMatchObject({ valid: false, firstBadSequence: 3, problem: 'hash does not match the row content' });

    // Put back, the chain verifies and the head is signed.
    await asSuperuser(sandbox, `UPDATE audit.audit_event SET canonical = '${row3!.canonical}' WHERE sequence = 3`);
    expect((await until(checkpoints, (c) => c.some((x) => x.sequence === 4))).map((c) => c.sequence)).toEqual([3, 4]);
    expect(await verify()).toMatchObject({ valid: true, checked: 4, checkpointsChecked: 2 });
  });

  it('refuses a checkpoint signed by a key it does not trust', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const raw = Buffer.from(String(publicKey.export({ format: 'jwk' }).x), 'base64url').toString('base64');
    const [row] = await sandbox.sql<{ hash: string }>('SELECT hash FROM audit.audit_event WHERE sequence = 2');
    const statement = { sequence: 2, head: row!.hash, signedAt: new Date().toISOString(), keyId: 'ffffffffffffffff' };
    const signature = sign(null, signedStatementBytes('garde-audit-checkpoint-v1', statement), privateKey).toString('base64');
    await sandbox.sql('INSERT INTO audit.audit_checkpoint VALUES (2, $1, $2, $3, $4, $5)', [row!.hash, statement.signedAt, statement.keyId, raw, signature]);
    expect(await verify()).toMatchObject({
      valid: false,
      firstBadSequence: 2,
      problem: expect.stringMatching(/checkpoint at sequence 2: signed by key [0-9a-f]{16}, which this audit-service does not trust/),
    });
    await asSuperuser(sandbox, 'DELETE FROM audit.audit_checkpoint WHERE sequence = 2', 'audit_checkpoint');
    expect(await verify()).toMatchObject({ valid: true });
  });

  it('finds rows deleted at the end of the chain, by the checkpoint that signed them', async () => {
    await asSuperuser(sandbox, 'DELETE FROM audit.audit_event WHERE sequence = 4');
    expect(await verify()).toMatchObject({
      valid: false,
      checked: 3,
      firstBadSequence: 4,
      problem: 'a signed checkpoint holds row 4, but the chain ends at 3: rows were deleted',
    });
  });
});

describe('retention: audit:purge', () => {
  let sandbox: TestSandbox;
  let audit: RunningService;
  let publisher: { nc: NatsConnection; bus: MessageBus };
  let env: Record<string, string>;
  const sixYearsAgo = new Date(Date.now() - 6 * YEAR);

  const request = async <T>(
    def: Parameters<MessageBus['request']>[0],
    payload: unknown,
  ): Promise<{ ok: true; result: T } | { ok: false; error: { code: string } }> =>
    (await audit.runtime.bus.request(def, payload, { actor: admin }, 10_000)) as { ok: true; result: T } | { ok: false; error: { code: string } };
  const verify = async () => ((await request<AuditChainVerdict>(AuditChainVerifyQry, {})) as { ok: true; result: AuditChainVerdict }).result;
  const sequences = async () => (await sandbox.sql<{ s: number }>('SELECT sequence::int AS s FROM audit.audit_event ORDER BY sequence')).map((r) => r.s);

  beforeAll(async () => {
    sandbox = await createSandbox('audit-purge');
    env = sandbox.env({ AUDIT_RETRY_DELAY_MS: '100' });
    audit = await startAuditService(env);
    publisher = await publisherOn(sandbox);
    // 1000 events six years old (one a minute), checkpoints signed then at 500 and 1000; then two of today, checkpointed.
    await bulkAppend(sandbox, 1000, { recordedFrom: sixYearsAgo, stepMs: 60_000 });
    await signCheckpoint(sandbox, env, 500, new Date(sixYearsAgo.getTime() + 500 * 60_000));
    await signCheckpoint(sandbox, env, 1000, new Date(sixYearsAgo.getTime() + 1000 * 60_000));
    await stateChange(publisher.bus, 'today one');
    await stateChange(publisher.bus, 'today two');
    await until(sequences, (s) => s.length === 1002);
    expect(await audit.app.get(CreateCheckpoint).execute()).toMatchObject({ sequence: 1002 });
  });
  afterAll(async () => {
    await audit?.close();
    await publisher?.nc.drain();
    await sandbox?.dispose();
  });

  it('refuses an ordinary DELETE, and a purge of anything younger than the retention (five years by default)', async () => {
    await expect(sandbox.sql('DELETE FROM audit.audit_event WHERE sequence = 1')).rejects.toThrow(/audit_event is append-only: DELETE refused/);
    const young = await request(AuditPurgeCmd, { before: new Date(Date.now() - 4 * YEAR).toISOString(), reason: 'too early' });
    expect(young).toMatchObject({ ok: false, error: { code: 'RETENTION_NOT_REACHED', message: expect.stringContaining('retention (1827 days)') } });
    expect(await sequences()).toHaveLength(1002);
  });

  it('purges the start of the chain through the last checkpoint signed before the cutoff; the kept chain still verifies from it', async () => {
    const before = new Date(Date.now() - 5.5 * YEAR).toISOString();
    const dry = await request(AuditPurgeCmd, { before, reason: 'retention', dryRun: true });
    expect(dry).toMatchObject({ ok: true, result: { dryRun: true, rows: 1000, fromSequence: 1, throughSequence: 1000, anchor: { sequence: 1000 } } });
    expect(await sequences()).toHaveLength(1002);

    const done = await request(AuditPurgeCmd, { before, reason: 'five-year retention reached' });
    expect(done).toMatchObject({ ok: true, result: { dryRun: false, rows: 1000, fromSequence: 1, throughSequence: 1000, retentionDays: 1827 } });
    // The purge is itself in the trail, with who and why.
    const kept = await until(sequences, (s) => s.length === 3);
    expect(kept).toEqual([1001, 1002, 1003]);
    const [event] = await sandbox.sql<{ type: string; level: string; actor_id: string; envelope: { payload: Record<string, unknown> } }>(
      'SELECT type, level, actor_id, envelope FROM audit.audit_event WHERE sequence = 1003',
    );
    expect(event).toMatchObject({ type: AuditTrailPurgedEvt.type, level: 'warning', actor_id: 'adele' });
    expect(event!.envelope.payload).toMatchObject({ fromSequence: 1, throughSequence: 1000, rows: 1000, reason: 'five-year retention reached' });
    expect(await sandbox.sql('SELECT from_sequence::int AS f, through_sequence::int AS t, rows::int AS n, actor_id FROM audit.audit_purge')).toEqual([
      { f: 1, t: 1000, n: 1000, actor_id: 'adele' },
    ]);

    expect(await verify()).toMatchObject({ valid: true, checked: 3, firstSequence: 1001, checkpointsChecked: 1 });
    // An export of the whole period starts from the checkpoint's head.
    const [anchor] = await sandbox.sql<{ head: string }>('SELECT head FROM audit.audit_checkpoint WHERE sequence = 1000');
    const sealed = await request<{ previousHash: string; firstSequence: number }>(AuditExportSealQry, {
      from: sixYearsAgo.toISOString(),
      to: new Date(Date.now() + 60_000).toISOString(),
      format: 'jsonl',
    });
    expect(sealed).toMatchObject({ ok: true, result: { firstSequence: 1001, previousHash: anchor!.head } });
    // Nothing more may go.
    expect(await request(AuditPurgeCmd, { before, reason: 'again' })).toMatchObject({
      ok: true,
      result: { rows: 0, note: expect.stringContaining('no checkpoint signed before') },
    });
  });

  it('detects a purge behind its back: without its anchoring checkpoint, or of rows younger than the retention', async () => {
    const [anchor] = await sandbox.sql<CheckpointRow>(
      'SELECT sequence::int AS sequence, head, signed_at, key_id, public_key, signature FROM audit.audit_checkpoint WHERE sequence = 1000',
    );
    await asSuperuser(sandbox, 'DELETE FROM audit.audit_checkpoint WHERE sequence = 1000', 'audit_checkpoint');
    expect(await verify()).toMatchObject({
      valid: false,
      firstBadSequence: 1001,
      problem: 'rows 1-1000 are gone and no signed checkpoint at sequence 1000 anchors row 1001',
    });
    await sandbox.sql('INSERT INTO audit.audit_checkpoint VALUES ($1, $2, $3, $4, $5, $6)', Object.values(anchor!));
    expect(await verify()).toMatchObject({ valid: true });

    // A superuser calls the purge function itself with today as the cutoff: the database lets old-checkpointed rows go,
    // but the kept chain now hangs on a checkpoint younger than the retention.
    await sandbox.sql("SELECT audit.audit_purge(1002, now(), 'mallory', 'behind the back')");
    expect(await verify()).toMatchObject({
      valid: false,
      firstBadSequence: 1003,
      problem: expect.stringMatching(/^rows 1-1002 are gone, but the checkpoint at 1002 was signed at .+, less than the retention \(1827 days\) ago$/),
    });
  });
});
