import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BotCreateCmd, BotOrdersQry, BotStartCmd, type Actor, type Order } from '@garde/contracts';
import { openBucket } from '@garde/platform';
import { freePort, startServiceProcess, until, type ServiceProcess } from '@garde/testing';
import { startTradingStack, type TradingStack } from '../../exchange-gateway/test/trading-stack.js';

const KEY = 'sim-key-leases';
const SECRET = 'sim-secret-leases';
const BOTS = 20;
const TTL_MS = 3000;
const alice: Actor = { id: 'alice', kind: 'operator', role: 'operator' };
const botIds = Array.from({ length: BOTS }, (_, i) => `fleet-${String(i).padStart(2, '0')}`);

/**
 * Issue 4: "Two bot-service replicas with 20 bots → each bot runs in exactly one replica; killing one
 * replica moves its bots to the other within the lease period, with no duplicated orders." Both
 * replicas run as their own processes, as in production, against the gateway and the simulator.
 */
describe('two bot-service replicas share a fleet through leases (KV BOT_LEASES)', () => {
  let stack: TradingStack;
  const replicas = new Map<string, ServiceProcess>();
  const bus = () => stack.gateway.runtime.bus;

  const startReplica = async (instance: string) => {
    const env = stack.sandbox.env({ INSTANCE_ID: instance, BOT_TICK_MS: '300', LEASE_TTL_MS: String(TTL_MS), LEASE_RENEW_MS: '500' });
    replicas.set(instance, await startServiceProcess('bot-service', env, await freePort(), `leases-${instance}`));
  };
  /** Who holds each bot's lease now, as the bucket says (expired leases count as nobody). */
  const owners = async (): Promise<Map<string, string>> => {
    const kv = await openBucket(bus().nc, bus().topology.botLeasesBucket);
    const result = new Map<string, string>();
    for (const id of botIds) {
      const entry = await kv.get(`bot.${id}`);
      if (entry?.operation !== 'PUT') continue;
      const lease = entry.json<{ owner: string; expiresAt: number }>();
      if (lease.expiresAt > Date.now()) result.set(id, lease.owner);
    }
    return result;
  };
  /** Leases a replica says it holds (its own metric). */
  const held = async (instance: string): Promise<number> => {
    const text = await (await fetch(`${replicas.get(instance)!.url}/metrics`)).text();
    return Number(/^garde_bot_leases_held(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? NaN);
  };
  const orders = async (botId: string): Promise<Order[]> => {
    const reply = await bus().request(BotOrdersQry, { botId, since: new Date(0).toISOString() });
    if (!reply.ok) throw new Error(reply.error.message);
    return reply.result.orders;
  };
  const price = (p: string) =>
    fetch(`${stack.sim.venue('leases-venue').controlUrl}/price`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ symbol: 'BTC/USDT', price: p }),
    });
  /** At most one live order per bot and price level, and every order of the venue made once. */
  const expectNoDuplicates = async () => {
    for (const id of botIds) {
      const live = (await orders(id)).filter((o) => o.state === 'OPEN' || o.state === 'PENDING_SUBMIT');
      const levels = live.map((o) => `${o.side}@${Number(o.price)}`);
      expect(new Set(levels).size).toBe(levels.length);
    }
    const state = (await (await fetch(`${stack.sim.venue('leases-venue').controlUrl}/state`)).json()) as { orders: Array<{ clientOrderId: string }> };
    const ids = state.orders.map((o) => o.clientOrderId);
    expect(new Set(ids).size).toBe(ids.length);
  };

  beforeAll(async () => {
    stack = await startTradingStack({
      label: 'bot-leases',
      venues: [
        {
          id: 'leases-venue',
          port: 0,
          tickIntervalMs: 0,
          rateLimits: { ordersPer10Seconds: 5000 },
          accounts: [{ apiKey: KEY, secret: SECRET, balances: { USDT: '10000000', BTC: '100' } }],
        },
      ],
      gatewayEnv: { MARKET_DATA_POLL_MS: '200', ORDER_POLL_MS: '300', ORDER_TRACKER_INTERVAL_MS: '100' },
      accounts: [{ id: 'leases-main', exchangeId: 'sim-leases', venue: 'leases-venue', apiKey: KEY, secret: SECRET }],
    });
    await price('60000');
    await startReplica('replica-a');
    await startReplica('replica-b');
    for (const id of botIds) {
      const created = await bus().request(
        BotCreateCmd,
        {
          id,
          name: id,
          strategy: 'grid',
          exchangeId: 'sim-leases',
          symbol: 'BTC/USDT',
          parameters: { lower: '59000', upper: '61000', levels: 5, orderSize: '0.001' },
        },
        { actor: alice },
      );
      if (!created.ok) throw new Error(created.error.message);
      const started = await bus().request(BotStartCmd, { botId: id, reason: 'lease test' }, { actor: alice });
      if (!started.ok) throw new Error(started.error.message);
    }
  }, 90_000);
  afterAll(async () => {
    for (const replica of replicas.values()) await replica.stop('SIGKILL');
    await stack?.stop();
  });

  it('each bot is run by exactly one replica, and both replicas take a share of the fleet', async () => {
    const shared = await until(
      async () => ({ owners: await owners(), a: await held('replica-a'), b: await held('replica-b') }),
      (s) => s.owners.size === BOTS && s.a + s.b === BOTS && s.a > 0 && s.b > 0,
      20_000,
      200,
    );
    expect(shared.owners.size).toBe(BOTS);
    expect(new Set(shared.owners.values())).toEqual(new Set(['replica-a', 'replica-b']));
    // What each replica says it runs agrees with the bucket: no bot counted twice, none forgotten.
    expect([...shared.owners.values()].filter((o) => o === 'replica-a').length).toBe(shared.a);
    expect([...shared.owners.values()].filter((o) => o === 'replica-b').length).toBe(shared.b);
    // Every bot trades: its ladder is at the venue.
    for (const id of botIds) {
      const ladder = await until(
        () => orders(id),
        (o) => o.some((x) => x.side === 'sell' && x.state === 'OPEN') && o.some((x) => x.side === 'buy' && x.state === 'OPEN'),
        20_000,
        200,
      );
      expect(ladder.some((x) => x.side === 'buy' && x.state === 'OPEN')).toBe(true);
    }
    await expectNoDuplicates();
  }, 120_000);

  it('a replica killed (SIGKILL) loses its bots to the other within the lease period; they keep trading, nothing duplicated', async () => {
    const before = await owners();
    const moved = botIds.filter((id) => before.get(id) === 'replica-a');
    expect(moved.length).toBeGreaterThan(0);
    await replicas.get('replica-a')!.stop('SIGKILL');
    // Within the lease period, one renewal round and the clock-skew margin (with room for a slow machine).
    const after = await until(
      () => owners(),
      (o) => botIds.every((id) => o.get(id) === 'replica-b'),
      4 * TTL_MS,
      100,
    );
    expect(botIds.every((id) => after.get(id) === 'replica-b')).toBe(true);
    expect(
      await until(
        () => held('replica-b'),
        (n) => n === BOTS,
        5000,
        100,
      ),
    ).toBe(BOTS);

    // The moved bots trade under their new owner: the price falls through a level, its buys fill, sells follow.
    await price('59400');
    for (const id of moved) {
      const traded = await until(
        () => orders(id),
        (o) =>
          o.some((x) => x.side === 'buy' && Number(x.price) === 59500 && x.state === 'FILLED') &&
          o.some((x) => x.side === 'sell' && Number(x.price) === 60000 && x.state === 'OPEN'),
        20_000,
        200,
      );
      expect({ id, orders: traded.map((x) => `${x.side}@${x.price}:${x.state}`) }).toEqual({ id, orders: expect.arrayContaining(['sell@60000:OPEN']) });
    }
    await expectNoDuplicates();
  }, 120_000);
});
