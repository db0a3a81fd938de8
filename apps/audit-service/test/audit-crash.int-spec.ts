import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AuditChainVerifyQry, BotStateChangedEvt, busTopology, type Envelope } from '@garde/contracts';
import { JsonLogger, MessageBus } from '@garde/platform';
import { createSandbox, freePort, startServiceProcess, until, type ServiceProcess, type TestSandbox } from '@garde/testing';

const EVENTS = 10_000;
/** Publications in flight at once (each awaits JetStream's ack). */
const WINDOW = 200;

/**
 * Issue 6: "audit-service SIGKILLed during a burst of 10,000 events → after restart, exactly 10,000 rows,
 * chain valid". The service runs as its own process, as in production; the events go to JetStream as
 * producers send them (Nats-Msg-Id = messageId), and the service is killed while it appends them.
 */
describe('audit-service killed (SIGKILL) during a burst of events', () => {
  let sandbox: TestSandbox;
  let env: Record<string, string>;
  let port: number;
  let audit: ServiceProcess;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let bus: MessageBus;
  const encoder = new TextEncoder();

  const count = async () => (await sandbox.sql<{ n: number }>('SELECT count(*)::int AS n FROM audit.audit_event'))[0]!.n;
  const start = () => startServiceProcess('audit-service', env, port, 'int-audit-crash');
  const publishAll = async (envelopes: Envelope[], msgId: (e: Envelope) => string) => {
    const subject = bus.topology.subject(BotStateChangedEvt);
    const acks: boolean[] = [];
    for (let i = 0; i < envelopes.length; i += WINDOW) {
      const window = envelopes.slice(i, i + WINDOW);
      acks.push(...(await Promise.all(window.map(async (e) => (await js.publish(subject, encoder.encode(JSON.stringify(e)), { msgID: msgId(e) })).duplicate))));
    }
    return acks;
  };

  beforeAll(async () => {
    sandbox = await createSandbox('audit-crash');
    // A killed consumer's unacked events come back after 2 s rather than 30.
    env = sandbox.env({ AUDIT_ACK_WAIT_MS: '2000', LOG_LEVEL: 'info' });
    port = await freePort();
    audit = await start();
    nc = await connect({ servers: sandbox.natsUrl });
    js = jetstream(nc);
    bus = new MessageBus(nc, busTopology(sandbox.namespace), 'bot-service/burst', new JsonLogger('test', 'error').child('bus'));
  });
  afterAll(async () => {
    await audit?.stop('SIGKILL');
    await nc?.drain();
    await sandbox?.dispose();
  });

  it('appends exactly 10,000 rows after a restart, each event once, and the chain verifies', async () => {
    const envelopes = Array.from({ length: EVENTS }, (_, i) =>
      bus.envelope(BotStateChangedEvt.type, 1, { botId: `bot-${i % 20}`, from: 'RUNNING', to: 'PAUSED', reason: `burst ${i}` }),
    ) as Envelope[];
    const burst = publishAll(envelopes, (e) => e.messageId);
    // Killed mid-burst: some events appended, some in the transaction that dies, some delivered and not acked, most not yet delivered.
    const atKill = await until(count, (n) => n >= 1500, 30_000, 10);
    await audit.stop('SIGKILL');
    const afterKill = await count();
    expect(atKill).toBeGreaterThanOrEqual(1500);
    expect(afterKill).toBeLessThan(EVENTS);
    expect((await burst).every((duplicate) => !duplicate)).toBe(true);

    audit = await start();
    expect(await until(count, (n) => n >= EVENTS, 60_000)).toBe(EVENTS);
    // The same events published again (a producer retrying; a new Nats-Msg-Id, or the same one): still one row each.
    expect((await publishAll(envelopes.slice(0, 100), (e) => e.messageId)).every((duplicate) => duplicate)).toBe(true);
    await publishAll(envelopes.slice(0, 100), (e) => `retry-${e.messageId}`);
    const metrics = async () => (await fetch(`${audit.url}/metrics`)).text();
    const sample = (text: string, name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'm').exec(text)?.[1] ?? 0);
    const skipped = (text: string) => sample(text, 'garde_audit_duplicates_skipped_total');
    expect(skipped(await until(metrics, (m) => skipped(m) >= 100, 15_000))).toBeGreaterThanOrEqual(100);
    // Events in the dead process's hands came back after the ack wait.
    expect(sample(await metrics(), 'garde_audit_redeliveries_total')).toBeGreaterThan(0);

    expect(await count()).toBe(EVENTS);
    const ids = await sandbox.sql<{ sequence: number; message_id: string }>(
      'SELECT sequence::int AS sequence, message_id FROM audit.audit_event ORDER BY sequence',
    );
    expect(ids.map((r) => r.sequence)).toEqual(Array.from({ length: EVENTS }, (_, i) => i + 1));
    expect(new Set(ids.map((r) => r.message_id))).toEqual(new Set(envelopes.map((e) => e.messageId)));
    const verdict = await bus.request(AuditChainVerifyQry, {}, {}, 30_000);
    expect(verdict).toMatchObject({ ok: true, result: { valid: true, checked: EVENTS } });
  }, 120_000);
});
