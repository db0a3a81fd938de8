import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { busTopology } from '@garde/contracts';
import { JsonLogger, openBucket } from '@garde/platform';
import { createSandbox, until, type TestSandbox } from '@garde/testing';
import { BotLeaseTable, type LossReason } from '../src/state/bot-leases.js';

const TTL_MS = 1500;
const bots = Array.from({ length: 10 }, (_, i) => `lease-bot-${i}`);
const running = new Set(bots);

/** One replica's lease table on the real KV bucket, with what it reported; `failing` makes its KV writes fail (NATS trouble). */
function replica(kv: KV, nc: NatsConnection, instanceId: string, regainTimeoutMs = 60_000) {
  const state = { failing: false, acquired: [] as string[], lost: [] as Array<{ botId: string; reason: LossReason }>, unregained: [] as string[] };
  const flaky = new Proxy(kv, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (state.failing && ['create', 'update', 'put', 'delete'].includes(String(prop))) return Promise.reject(new Error('TIMEOUT: NATS is not answering'));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  const table = new BotLeaseTable(
    flaky,
    nc,
    { instanceId, ttlMs: TTL_MS, regainTimeoutMs, clockSkewMs: 100 },
    {
      acquired: (botId) => state.acquired.push(botId),
      lost: (botId, reason) => state.lost.push({ botId, reason }),
      releasing: () => Promise.resolve(),
      unregained: (botId) => {
        state.unregained.push(botId);
        return Promise.resolve();
      },
    },
    { renewed: () => undefined, acquired: () => undefined, released: () => undefined, lost: () => undefined },
    new JsonLogger('test', 'error').child('leases'),
  );
  return { table, state };
}

/** The bot leases (KV BOT_LEASES) against a real NATS server: one owner per bot, a fair share each, losses noticed. */
describe('BotLeaseTable on the KV bucket', () => {
  let sandbox: TestSandbox;
  let nc: NatsConnection;
  let bucket = 0;
  /** A fresh bucket per test (the sandbox's namespace deletes them at the end). */
  const freshKv = async () => openBucket(nc, `${busTopology(sandbox.namespace).botLeasesBucket}_${++bucket}`);

  beforeAll(async () => {
    sandbox = await createSandbox('bot-lease-table');
    nc = await connect({ servers: sandbox.natsUrl });
  });
  afterAll(async () => {
    await nc?.close();
    await sandbox?.dispose();
  });

  it('two replicas split the bots between them, each bot held by exactly one', async () => {
    const kv = await freshKv();
    const a = replica(kv, nc, 'a');
    const b = replica(kv, nc, 'b');
    await a.table.start();
    await b.table.start();
    for (let round = 0; round < 4; round++) await Promise.all([a.table.cycle(running), b.table.cycle(running)]);
    const heldA = a.table.heldIds();
    const heldB = b.table.heldIds();
    expect(heldA.filter((id) => heldB.includes(id))).toEqual([]);
    expect([...heldA, ...heldB].sort()).toEqual([...bots].sort());
    expect(heldA.length).toBe(5);
    expect(heldB.length).toBe(5);
    a.table.stop();
    b.table.stop();
  });

  it('a replica that cannot renew stops its bots when their leases end, and the other one takes them over', async () => {
    const kv = await freshKv();
    const a = replica(kv, nc, 'a');
    const b = replica(kv, nc, 'b');
    await a.table.start();
    await a.table.cycle(running);
    expect(a.table.heldIds()).toHaveLength(bots.length);
    await b.table.start();
    a.state.failing = true;
    // Before its next round, the leases are still a's; at their end a may no longer run them.
    expect(a.table.holds(bots[0]!)).toBe(true);
    await new Promise((r) => setTimeout(r, TTL_MS + 50));
    expect(bots.some((id) => a.table.holds(id))).toBe(false);
    await a.table.cycle(running).catch(() => undefined);
    expect(a.state.lost.map((l) => l.reason)).toEqual(bots.map(() => 'expired'));
    // b sees a's leases expired (plus the skew margin) and takes every bot.
    await until(
      async () => {
        await b.table.cycle(running);
        return b.table.heldIds().length;
      },
      (n) => n === bots.length,
      5000,
      100,
    );
    expect(b.table.heldIds().sort()).toEqual([...bots].sort());
    a.table.stop();
    b.table.stop();
  });

  it('a lease lost and regained by nobody within the regain timeout is reported (the bot goes to ERROR)', async () => {
    const kv = await freshKv();
    const a = replica(kv, nc, 'a', 1000);
    await a.table.start();
    await a.table.cycle(new Set([bots[0]!]));
    a.state.failing = true;
    await new Promise((r) => setTimeout(r, TTL_MS + 50));
    await a.table.cycle(new Set([bots[0]!])).catch(() => undefined);
    expect(a.state.lost).toEqual([{ botId: bots[0], reason: 'expired' }]);
    expect(a.state.unregained).toEqual([]);
    await new Promise((r) => setTimeout(r, 1100));
    await a.table.cycle(new Set([bots[0]!])).catch(() => undefined);
    expect(a.state.unregained).toEqual([bots[0]]);
    a.table.stop();
  });

  it('a lease overwritten by another replica is given up at once, without waiting for the next renewal', async () => {
    const kv = await freshKv();
    const a = replica(kv, nc, 'a');
    await a.table.start();
    await a.table.cycle(new Set([bots[0]!]));
    expect(a.table.holds(bots[0]!)).toBe(true);
    const entry = await kv.get(`bot.${bots[0]}`);
    await kv.update(`bot.${bots[0]}`, JSON.stringify({ owner: 'intruder', expiresAt: Date.now() + TTL_MS }), entry!.revision);
    await until(
      () => Promise.resolve(a.table.holds(bots[0]!)),
      (held) => !held,
      2000,
      20,
    );
    expect(a.table.holds(bots[0]!)).toBe(false);
    expect(a.state.lost).toEqual([{ botId: bots[0], reason: 'taken' }]);
    a.table.stop();
  });
});
