import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  AuditChainVerifyQry,
  AuditEventsQry,
  KillSwitchActivatedEvt,
  KillSwitchDeactivatedEvt,
  busTopology,
  type Actor,
  type KillSwitchChange,
  BotCreatedEvt,
} from '@garde/contracts';
import { GENESIS_HASH, canonicalJson, chainHash } from '@garde/domain';
import { JsonLogger, MessageBus, REPEAT_HEADER, StreamAcks, type RunningService } from '@garde/platform';
import { createSandbox, startTcpProxy, type TestSandbox } from '@garde/testing';
import { startAuditService } from '../src/app.js';

const alice: Actor = { id: 'alice', kind: 'operator', role: 'operator' };
const rita: Actor = { id: 'rita', kind: 'operator', role: 'risk' };

interface Row {
  sequence: number;
  message_id: string;
  type: string;
  level: string;
  actor_id: string | null;
  canonical: string;
  prev_hash: string;
  hash: string;
}

function change(scope: string, reason: string, state: 'HALTED' | 'ACTIVE', actor: Actor): KillSwitchChange {
  return {
    current: { scope, state, reason, actor, since: new Date().toISOString(), version: state === 'HALTED' ? 1 : 2 },
    previousState: state === 'HALTED' ? 'ACTIVE' : 'HALTED',
    changed: true,
  };
}

async function waitFor<T>(probe: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('audit-service', () => {
  let sandbox: TestSandbox;
  let audit: RunningService;
  // Events come from another process's bus, as in production.
  let publisherNc: NatsConnection;
  let publisher: MessageBus;

  const start = () => startAuditService(sandbox.env({ AUDIT_RETRY_DELAY_MS: '100' }));
  const rows = () =>
    sandbox.sql<Row>(
      'SELECT sequence::int AS sequence, message_id, type, level, actor_id, canonical, prev_hash, hash FROM audit.audit_event ORDER BY sequence',
    );
  const rowsUntil = (count: number, timeoutMs?: number) => waitFor(rows, (r) => r.length >= count, `${count} audit rows`, timeoutMs);
  /** The kill-switch scopes of the stored events whose scope starts with `prefix`, in trail order. */
  const scopesOf = async (prefix: string) =>
    (await rows())
      .map((r) => (JSON.parse(r.canonical) as { payload: { current?: { scope?: string } } }).payload.current?.scope ?? '')
      .filter((s) => s.startsWith(prefix));
  const scopesUntil = (prefix: string, count: number) =>
    waitFor(
      () => scopesOf(prefix),
      (s) => s.length >= count,
      `${count} events of ${prefix}*`,
    );
  const verify = (range: { fromSequence?: number; toSequence?: number } = {}) => audit.runtime.bus.request(AuditChainVerifyQry, range);
  const metric = async (name: string): Promise<number> => {
    const found = await audit.runtime.metrics.getSingleMetric(name)?.get();
    return (found?.values ?? []).reduce((sum, v) => sum + v.value, 0);
  };
  const asSuperuser = async (statement: string) => {
    // Only a superuser behind the service's back can get past the trigger, and only by disabling it.
    await sandbox.sql('ALTER TABLE audit.audit_event DISABLE TRIGGER audit_event_append_only');
    try {
      await sandbox.sql(statement);
    } finally {
      await sandbox.sql('ALTER TABLE audit.audit_event ENABLE TRIGGER audit_event_append_only');
    }
  };

  beforeAll(async () => {
    sandbox = await createSandbox('audit');
    audit = await start();
    publisherNc = await connect({ servers: sandbox.natsUrl });
    publisher = new MessageBus(publisherNc, busTopology(sandbox.namespace), 'risk-service/test', new JsonLogger('test', 'error').child('bus'));
  });
  afterAll(async () => {
    await audit?.close();
    await publisherNc?.drain();
    await sandbox?.dispose();
  });

  it('appends published events in publication order, linked into a chain that verifies', async () => {
    const sent = [
      await publisher.publish(KillSwitchActivatedEvt, change('global', 'reason-1 drill', 'HALTED', alice), { actor: alice, correlationId: 'story-1' }),
      await publisher.publish(KillSwitchActivatedEvt, change('exchange:binance', 'reason-2 venue acting up', 'HALTED', alice), {
        actor: alice,
        correlationId: 'story-2',
      }),
      await publisher.publish(KillSwitchDeactivatedEvt, change('global', 'reason-3 drill over', 'ACTIVE', rita), { actor: rita, correlationId: 'story-1' }),
    ];
    const stored = await rowsUntil(3);
    expect(stored.map((r) => [r.sequence, r.message_id, r.type, r.level, r.actor_id])).toEqual([
      [1, sent[0]!.messageId, KillSwitchActivatedEvt.type, 'critical', 'alice'],
      [2, sent[1]!.messageId, KillSwitchActivatedEvt.type, 'critical', 'alice'],
      [3, sent[2]!.messageId, KillSwitchDeactivatedEvt.type, 'warning', 'rita'],
    ]);
    let prevHash = GENESIS_HASH;
    stored.forEach((row, i) => {
      expect(row.canonical).toBe(canonicalJson(sent[i]));
      expect(row.prev_hash).toBe(prevHash);
      expect(row.hash).toBe(chainHash(prevHash, row.canonical));
      prevHash = row.hash;
    });
    expect(await verify()).toEqual({
      ok: true,
      result: { valid: true, checked: 3, head: stored[2]!.hash, firstSequence: 1, checkpointsChecked: 0, lastCheckpoint: null },
    });
    expect(await verify({ fromSequence: 2 })).toMatchObject({ ok: true, result: { valid: true, checked: 2, head: stored[2]!.hash, firstSequence: 2 } });
    expect(await metric('garde_audit_chain_head_sequence')).toBe(3);
  });

  it('lists events most recent first, filtered by type, actor and correlation id', async () => {
    const byStory = await audit.runtime.bus.request(AuditEventsQry, { correlationId: 'story-1' });
    expect(byStory.ok && byStory.result.events.map((e) => [e.sequence, e.event.type, e.event.actor?.id, e.level])).toEqual([
      [3, KillSwitchDeactivatedEvt.type, 'rita', 'warning'],
      [1, KillSwitchActivatedEvt.type, 'alice', 'critical'],
    ]);
    const byActor = await audit.runtime.bus.request(AuditEventsQry, { actorId: 'alice', type: KillSwitchActivatedEvt.type, limit: 1 });
    expect(byActor.ok && byActor.result.events.map((e) => e.sequence)).toEqual([2]);
  });

  it('stores an event delivered twice by the stream (same messageId) once', async () => {
    const js = jetstream(publisherNc);
    const env = publisher.envelope(KillSwitchActivatedEvt.type, 1, change('bot:b-1', 'reason-dup runaway', 'HALTED', alice), { actor: alice });
    const data = new TextEncoder().encode(JSON.stringify(env));
    const subject = publisher.topology.subject(KillSwitchActivatedEvt);
    // Different Nats-Msg-Ids, so JetStream keeps both copies: the audit-service must de-duplicate.
    const acks = [await js.publish(subject, data, { msgID: 'copy-1' }), await js.publish(subject, data, { msgID: 'copy-2' })];
    expect(acks.map((a) => a.duplicate)).toEqual([false, false]);
    await waitFor(
      () => metric('garde_audit_duplicates_skipped_total'),
      (n) => n >= 1,
      'the duplicate to be skipped',
    );
    const copies = await sandbox.sql<{ sequence: number }>('SELECT sequence::int AS sequence FROM audit.audit_event WHERE message_id = $1', [env.messageId]);
    expect(copies).toEqual([{ sequence: 4 }]);
    expect((await rows()).length).toBe(4);
    expect(await verify()).toMatchObject({ ok: true, result: { valid: true, checked: 4 } });
  });

  it('refuses malformed messages: not appended, counted as poison, terminated, and the consumer goes on', async () => {
    const js = jetstream(publisherNc);
    const subject = `${sandbox.namespace}.x.evt.y`;
    await js.publish(subject, new TextEncoder().encode('{this is not json'));
    await js.publish(subject, new TextEncoder().encode(JSON.stringify({ hello: 'world' })));
    const after = await publisher.publish(KillSwitchActivatedEvt, change('bot:b-2', 'reason-after-poison', 'HALTED', alice), { actor: alice });
    // The stream is consumed in order: once the event after them is stored, both malformed ones were handled.
    await waitFor(rows, (r) => r.some((row) => row.message_id === after.messageId), 'the event after the malformed ones');
    const stored = await rows();
    expect(stored.map((r) => [r.sequence, r.type])).toEqual([
      [1, KillSwitchActivatedEvt.type],
      [2, KillSwitchActivatedEvt.type],
      [3, KillSwitchDeactivatedEvt.type],
      [4, KillSwitchActivatedEvt.type],
      [5, KillSwitchActivatedEvt.type],
    ]);
    expect(await metric('garde_audit_poison_messages_total')).toBe(2);
    const jsm = await jetstreamManager(publisherNc);
    const consumerInfo = () => jsm.consumers.info(publisher.topology.auditStream, publisher.topology.auditConsumer);
    // Terminated, not left pending: JetStream will not redeliver them.
    const info = await waitFor(consumerInfo, (i) => i.num_ack_pending === 0 && i.num_pending === 0, 'every message to be acked or terminated');
    expect(info.config.ack_policy).toBe('explicit');
    expect(info.config.max_deliver).toBe(1000); // bounded; failed writes are retried in place and do not count
  });

  it('refuses UPDATE, DELETE and TRUNCATE in the database itself, even for the superuser', async () => {
    await expect(sandbox.sql("UPDATE audit.audit_event SET level = 'info' WHERE sequence = 1")).rejects.toThrow(/append-only: UPDATE refused/);
    await expect(sandbox.sql('DELETE FROM audit.audit_event WHERE sequence = 5')).rejects.toThrow(/append-only: DELETE refused/);
    await expect(sandbox.sql('TRUNCATE audit.audit_event')).rejects.toThrow(/append-only: TRUNCATE refused/);
    expect((await rows()).map((r) => [r.sequence, r.level])).toEqual([
      [1, 'critical'],
      [2, 'critical'],
      [3, 'warning'],
      [4, 'critical'],
      [5, 'critical'],
    ]);
  });

  it('retries in place a write the database refuses, and appends it once accepted: nothing lost', async () => {
    await sandbox.sql("ALTER TABLE audit.audit_event ADD CONSTRAINT test_db_refuses CHECK (correlation_id <> 'db-refuses')");
    const sent = await publisher.publish(KillSwitchActivatedEvt, change('bot:b-3', 'reason-db-down', 'HALTED', alice), {
      actor: alice,
      correlationId: 'db-refuses',
    });
    await waitFor(
      () => metric('garde_audit_append_failures_total'),
      (n) => n >= 1,
      'a failed append',
    );
    expect((await rows()).length).toBe(5);
    await sandbox.sql('ALTER TABLE audit.audit_event DROP CONSTRAINT test_db_refuses');
    const stored = await rowsUntil(6);
    expect(stored[5]).toMatchObject({ sequence: 6, message_id: sent.messageId, prev_hash: stored[4]!.hash });
  });

  it('continues the chain across a restart, with the events published while it was down', async () => {
    const before = await rows();
    const head = before.at(-1)!;
    await audit.close();
    const whileDown = await publisher.publish(KillSwitchActivatedEvt, change('bot:b-4', 'reason-while-down', 'HALTED', alice), { actor: alice });
    audit = await start();
    const afterRestart = await publisher.publish(KillSwitchDeactivatedEvt, change('bot:b-4', 'reason-after-restart', 'ACTIVE', rita), { actor: rita });
    const stored = await rowsUntil(before.length + 2);
    expect(stored.slice(-2).map((r) => [r.sequence, r.message_id])).toEqual([
      [head.sequence + 1, whileDown.messageId],
      [head.sequence + 2, afterRestart.messageId],
    ]);
    expect(stored.at(-2)!.prev_hash).toBe(head.hash);
    expect(await verify()).toMatchObject({ ok: true, result: { valid: true, checked: stored.length, head: stored.at(-1)!.hash } });
    expect(await metric('garde_audit_chain_head_sequence')).toBe(stored.length);
  });

  it('detects one changed character of a stored canonical text or envelope and names the row', async () => {
    const stored = await rows();
    const original = (await sandbox.sql<{ envelope: unknown; canonical: string }>('SELECT envelope, canonical FROM audit.audit_event WHERE sequence = 2'))[0]!;
    expect(original.canonical).toContain('reason-2 venue acting up');

    await asSuperuser("UPDATE audit.audit_event SET canonical = replace(canonical, 'reason-2 venue acting up', 'reason-2 venue acting uq') WHERE sequence = 2");
    expect(await verify()).toMatchObject({
      ok: true,
      result: { valid: false, checked: 1, head: stored[0]!.hash, firstBadSequence: 2, problem: 'hash does not match the row content' },
    });

    await asSuperuser(`UPDATE audit.audit_event SET canonical = '${original.canonical.replace(/'/g, "''")}' WHERE sequence = 2`);
    expect(await verify()).toMatchObject({ ok: true, result: { valid: true, checked: stored.length } });

    await asSuperuser(
      `UPDATE audit.audit_event SET envelope = jsonb_set(envelope, '{payload,current,reason}', '"reason-2 venue acting uq"') WHERE sequence = 2`,
    );
    expect(await verify()).toMatchObject({
      ok: true,
      result: { valid: false, checked: 1, head: stored[0]!.hash, firstBadSequence: 2, problem: 'the canonical text does not match the stored envelope' },
    });
    expect(await verify({ fromSequence: 3 })).toMatchObject({ ok: true, result: { valid: true } });
    expect(await metric('garde_audit_verify_failures_total')).toBe(2);

    // The query columns (what the API filters on) must say what the hashed event says.
    await asSuperuser(`UPDATE audit.audit_event SET envelope = '${original.canonical.replace(/'/g, "''")}'::jsonb WHERE sequence = 2`);
    await asSuperuser(`UPDATE audit.audit_event SET actor_id = 'mallory', type = '${BotCreatedEvt.type}' WHERE sequence = 4`);
    expect(await verify()).toMatchObject({
      ok: true,
      result: {
        valid: false,
        checked: 3,
        head: stored[2]!.hash,
        firstBadSequence: 4,
        problem: "column type, actor_id does not match the event's canonical text",
      },
    });
  });

  it('counts a message JetStream gave up on (AUDIT_MAX_DELIVER deliveries) as poison, with its stream sequence', async () => {
    const { auditStream, auditConsumer } = publisher.topology;
    const before = await metric('garde_audit_poison_messages_total');
    // The advisory JetStream publishes when a message reaches max_deliver.
    publisherNc.publish(
      `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${auditStream}.${auditConsumer}`,
      JSON.stringify({ type: 'io.nats.jetstream.advisory.v1.max_deliver', stream: auditStream, consumer: auditConsumer, stream_seq: 4242, deliveries: 1000 }),
    );
    await waitFor(
      () => metric('garde_audit_poison_messages_total'),
      (n) => n === before + 1,
      'the max-deliveries advisory to be counted',
    );
    const found = await audit.runtime.metrics.getSingleMetric('garde_audit_poison_messages_total')?.get();
    expect(found?.values.find((v) => v.labels.reason === 'max-deliveries')?.value).toBe(1);
  });

  it('appends once, in order, the events a service publishes without awaiting their ack (publishSoon); a payload breaking its contract is never sent', async () => {
    const before = (await rows()).length;
    const failures: unknown[] = [];
    const onFailure = (err: unknown) => failures.push(err);
    // Queued in one turn of the event loop and published together after it, as the order path does.
    publisher.publishSoon(KillSwitchActivatedEvt, change('bot:soon-1', 'reason-soon-1', 'HALTED', alice), { actor: alice }, onFailure);
    publisher.publishSoon(KillSwitchActivatedEvt, { current: { scope: 'bot:soon-bad' } } as unknown as KillSwitchChange, { actor: alice }, onFailure);
    publisher.publishSoon(KillSwitchDeactivatedEvt, change('bot:soon-1', 'reason-soon-2', 'ACTIVE', rita), { actor: rita }, onFailure);
    expect(failures).toEqual([expect.objectContaining({ code: 'CONTRACT_VIOLATION' })]);
    const stored = (await rowsUntil(before + 2)).slice(before);
    expect(stored.map((r) => [r.type, r.actor_id, r.canonical.includes('reason-soon-1'), r.canonical.includes('reason-soon-2')])).toEqual([
      [KillSwitchActivatedEvt.type, 'alice', true, false],
      [KillSwitchDeactivatedEvt.type, 'rita', false, true],
    ]);
    await new Promise((r) => setTimeout(r, 300));
    expect((await rows()).length).toBe(before + 2);
  });

  it('reports an event no stream stores, awaited or published soon, instead of counting it as published', async () => {
    // Another namespace: its subjects belong to no AUDIT stream on this server.
    const stray = new MessageBus(publisherNc, busTopology(`${sandbox.namespace}x`), 'risk-service/test', new JsonLogger('test', 'error').child('bus'));
    await expect(stray.publish(KillSwitchActivatedEvt, change('bot:stray-1', 'reason-stray', 'HALTED', alice), { actor: alice })).rejects.toThrow(
      /no stream stores .*risk\.evt\.killswitch\.activated/,
    );
    const failures: unknown[] = [];
    stray.publishSoon(KillSwitchActivatedEvt, change('bot:stray-2', 'reason-stray', 'HALTED', alice), { actor: alice }, (err) => failures.push(err));
    await stray.settle(5000);
    expect(failures).toEqual([expect.objectContaining({ message: expect.stringMatching(/no stream stores/) })]);
    // While the same bus's events to a stream are acknowledged as before.
    const acked: unknown[] = [];
    publisher.publishSoon(KillSwitchActivatedEvt, change('bot:stray-3', 'reason-stored', 'HALTED', alice), { actor: alice }, (err) => acked.push(err));
    await publisher.settle(5000);
    expect(acked).toEqual([]);
  });

  it('confirms the events published soon with one ack per subject: the stream keeps each once, core observers see each once', async () => {
    const subject = publisher.topology.subject(KillSwitchActivatedEvt);
    const raw = { first: 0, repeated: 0 };
    const sub = publisherNc.subscribe(subject, {
      callback: (_e, m) => {
        if (m.headers?.has(REPEAT_HEADER)) raw.repeated++;
        else raw.first++;
      },
    });
    const observed: string[] = [];
    const observer = publisher.observe(KillSwitchActivatedEvt, (p) => observed.push(p.current.scope));
    await publisherNc.flush();
    try {
      const failures: unknown[] = [];
      const scopes = Array.from({ length: 40 }, (_, i) => `bot:grouped-${i}`);
      for (const scope of scopes)
        publisher.publishSoon(KillSwitchActivatedEvt, change(scope, 'reason-grouped', 'HALTED', alice), { actor: alice }, (e) => failures.push(e));
      await publisher.settle(5000);
      expect(failures).toEqual([]);
      await scopesUntil('bot:grouped-', 40);
      await new Promise((r) => setTimeout(r, 300));
      expect(await scopesOf('bot:grouped-')).toEqual(scopes);
      // Each event once, then the last one again, marked, for the one ack that confirms the 40.
      expect(raw).toEqual({ first: 40, repeated: 1 });
      expect(observed).toEqual(scopes);
    } finally {
      sub.unsubscribe();
      observer.unsubscribe();
    }
  });

  it('publishes again, each asking for its own ack, the events not confirmed when the connection dropped: none lost, none stored twice', async () => {
    const proxy = await startTcpProxy({ host: new URL(sandbox.natsUrl).hostname, port: Number(new URL(sandbox.natsUrl).port) });
    const nc = await connect({ servers: proxy.url('nats'), reconnectTimeWait: 100, maxReconnectAttempts: -1 });
    try {
      const bus = new MessageBus(nc, busTopology(sandbox.namespace), 'risk-service/test', new JsonLogger('test', 'error').child('bus'));
      const failures: unknown[] = [];
      const sent = Array.from({ length: 20 }, (_, i) => `bot:dropped-${i}`);
      for (const scope of sent)
        bus.publishSoon(KillSwitchActivatedEvt, change(scope, 'reason-dropped', 'HALTED', alice), { actor: alice }, (e) => failures.push(e));
      // Cut once they are written, before the group's ack could come back; back a little later.
      setImmediate(() => proxy.cut());
      setTimeout(() => proxy.restore(), 300);
      await new Promise((r) => setTimeout(r, 50));
      await bus.settle(10_000);
      expect(failures).toEqual([]);
      await scopesUntil('bot:dropped-', 20);
      await new Promise((r) => setTimeout(r, 300));
      expect((await scopesOf('bot:dropped-')).sort()).toEqual([...sent].sort());
    } finally {
      await nc.close();
      await proxy.close();
    }
  });

  it('fails an event whose ack never comes within the timeout (a subscriber that is not a stream), and settles no later', async () => {
    const sink = `${sandbox.namespace}.sink.silent`;
    const silent = publisherNc.subscribe(sink, { callback: () => undefined });
    await publisherNc.flush();
    try {
      const acks = new StreamAcks(publisherNc, 300);
      const failures: unknown[] = [];
      acks.publish(sink, new TextEncoder().encode('{}'), 'silent-1', (err) => failures.push(err));
      expect(acks.unacknowledged).toBe(1);
      await acks.settled(5000);
      expect(failures).toEqual([expect.objectContaining({ message: expect.stringMatching(/no ack from the stream .* within 300 ms/) })]);
      expect(acks.unacknowledged).toBe(0);
    } finally {
      silent.unsubscribe();
    }
  });

  it('appends the last events of a burst at once, not after the ack wait (a batch left waiting for more would be redelivered 30 s later)', async () => {
    const redeliveries = await metric('garde_audit_redeliveries_total');
    for (let burst = 0; burst < 3; burst++) {
      const before = (await rows()).length;
      await Promise.all(
        Array.from({ length: 250 }, (_, i) =>
          publisher.publish(KillSwitchActivatedEvt, change(`bot:burst-${burst}-${i}`, `reason-burst ${burst}`, 'HALTED', alice), { actor: alice }),
        ),
      );
      // Well under AUDIT_ACK_WAIT_MS (30 s here): nothing may wait for a redelivery.
      await rowsUntil(before + 250, 5000);
    }
    expect(await metric('garde_audit_redeliveries_total')).toBe(redeliveries);
  });
});
