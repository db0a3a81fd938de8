import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { BalancesQry, BotIntentSentEvt, OpenOrdersQry, busTopology } from '@garde/contracts';
import pg from 'pg';
import { freePort, startNatsServer, type PrivateNatsServer } from '@garde/testing';
import { JsonLogger, MessageBus } from '../src/index.js';

/** A server whose messages may be 8 KB at most (NATS's default is 1 MB): the limit is reached with little data. */
const MAX_PAYLOAD = 8192;

describe('MessageBus answers on a server with a payload limit', () => {
  let server: PrivateNatsServer;
  const connections: NatsConnection[] = [];
  let caller: MessageBus;

  beforeAll(async () => {
    server = await startNatsServer(`max_payload: ${MAX_PAYLOAD}\n`);
    const open = async (name: string) => {
      const nc = await connect({ servers: server.url, name });
      connections.push(nc);
      return new MessageBus(nc, busTopology('bus_limit'), name, new JsonLogger(name, 'fatal').child('bus'));
    };
    const service = await open('exchange-gateway/test');
    caller = await open('risk-service/test');
    // An account with many open orders: its answer is over the limit. Balances answer small.
    const order = (i: number) => ({
      venueOrderId: String(i),
      clientOrderId: `bot-1-${i}`,
      symbol: 'BTC/USDT',
      side: 'buy',
      price: '30000.00',
      quantity: '0.001',
      filled: '0',
    });
    service.serve(OpenOrdersQry, 'q', () =>
      Promise.resolve({
        accounts: [{ accountId: 'acc-1', exchangeId: 'sim', orders: Array.from({ length: 500 }, (_, i) => order(i)), at: new Date().toISOString() }],
      }),
    );
    service.serve(BalancesQry, 'q', () => Promise.resolve({ accounts: [] }));
    await Promise.all(connections.map((nc) => nc.flush()));
  });

  afterAll(async () => {
    for (const nc of connections) await nc.close();
    await server?.stop();
  });

  it('an answer over the limit becomes an error that says so, and the service keeps answering', async () => {
    const tooLarge = await caller.request(OpenOrdersQry, {}, {}, 5000);
    expect(tooLarge).toEqual({
      ok: false,
      error: {
        code: 'INTERNAL',
        message: expect.stringMatching(
          new RegExp(
            `^the answer to gateway\\.qry\\.account\\.open-orders is \\d+ bytes, over the bus's limit of ${MAX_PAYLOAD} bytes \\(NATS max_payload\\)$`,
          ),
        ),
      },
    });
    expect(await caller.request(BalancesQry, {}, {}, 5000)).toEqual({ ok: true, result: { accounts: [] } });
  });
});

describe('MessageBus requests', () => {
  let server: PrivateNatsServer;
  const connections: NatsConnection[] = [];
  let caller: MessageBus;
  let service: MessageBus;

  beforeAll(async () => {
    server = await startNatsServer('');
    const open = async (name: string) => {
      const nc = await connect({ servers: server.url, name });
      connections.push(nc);
      return new MessageBus(nc, busTopology('bus_requests'), name, new JsonLogger(name, 'fatal').child('bus'));
    };
    service = await open('exchange-gateway/test');
    caller = await open('risk-service/test');
    // Each answer names the account asked about; `slow-*` accounts are answered after 300 ms. `db-down`
    // fails as a handler whose PostgreSQL is down does (a real connection refused), `broken` with a bug.
    service.serve(BalancesQry, 'q', async ({ accountId = 'none' }) => {
      if (accountId.startsWith('slow-')) await new Promise((resolve) => setTimeout(resolve, 300));
      if (accountId === 'db-down')
        await new pg.Client({ host: '127.0.0.1', port: await freePort() /* nothing listens there */, user: 'postgres', database: 'test' }).connect();
      if (accountId === 'broken') throw new TypeError("Cannot read properties of undefined (reading 'state')");
      return { accounts: [{ accountId, exchangeId: 'sim', balances: [], at: new Date().toISOString() }] };
    });
    await Promise.all(connections.map((nc) => nc.flush()));
  });

  afterAll(async () => {
    for (const nc of connections) await nc.close();
    await server?.stop();
  });

  const asked = (reply: Awaited<ReturnType<MessageBus['request']>>) =>
    reply.ok ? (reply.result as { accounts: Array<{ accountId: string }> }).accounts[0]?.accountId : reply.error.code;

  it('many requests in flight at once each get their own answer', async () => {
    const ids = Array.from({ length: 300 }, (_, i) => `acc-${i}`);
    const replies = await Promise.all(ids.map((accountId) => caller.request(BalancesQry, { accountId }, {}, 5000)));
    expect(replies.map(asked)).toEqual(ids);
  });

  it('no answer in time is TIMEOUT, and the answer that comes later goes to nobody', async () => {
    // Answered after 300 ms: a TIMEOUT (not the answer) says the request gave up first.
    const late = await caller.request(BalancesQry, { accountId: 'slow-1' }, {}, 100);
    expect(late).toEqual({ ok: false, error: { code: 'TIMEOUT', message: 'gateway.qry.account.balances got no answer within 100 ms' } });
    // Asked while the late answer is on its way: each request hears only its own.
    const [next, slow] = await Promise.all([
      caller.request(BalancesQry, { accountId: 'acc-next' }, {}, 2000),
      caller.request(BalancesQry, { accountId: 'slow-2' }, {}, 2000),
    ]);
    expect([asked(next), asked(slow)]).toEqual(['acc-next', 'slow-2']);
  });

  it('a handler that cannot reach its database answers UNAVAILABLE with the cause; a bug stays INTERNAL', async () => {
    const down = await caller.request(BalancesQry, { accountId: 'db-down' }, {}, 5000);
    expect(down).toEqual({
      ok: false,
      error: {
        code: 'UNAVAILABLE',
        message: expect.stringMatching(
          /^gateway\.qry\.account\.balances failed: exchange-gateway\/test cannot reach what it depends on \(ECONNREFUSED 127\.0\.0\.1:\d+\); try again once it is back$/,
        ),
      },
    });
    const broken = await caller.request(BalancesQry, { accountId: 'broken' }, {}, 5000);
    expect(broken).toEqual({
      ok: false,
      error: { code: 'INTERNAL', message: 'gateway.qry.account.balances failed unexpectedly; see the exchange-gateway/test logs' },
    });
  });

  it('nobody serving the request is UNAVAILABLE, not a timeout', async () => {
    const reply = await caller.request(OpenOrdersQry, {}, {}, 5000);
    expect(reply).toEqual({ ok: false, error: { code: 'UNAVAILABLE', message: 'no gateway service is answering gateway.qry.account.open-orders' } });
  });

  it('a request on a closed connection fails at once, saying why', async () => {
    const nc = await connect({ servers: server.url, name: 'closed' });
    const bus = new MessageBus(nc, busTopology('bus_requests'), 'risk-service/test', new JsonLogger('closed', 'fatal').child('bus'));
    await nc.close();
    const reply = await bus.request(BalancesQry, {}, {}, 5000);
    expect(reply).toEqual({ ok: false, error: { code: 'UNAVAILABLE', message: expect.stringMatching(/^gateway\.qry\.account\.balances failed: .*closed/i) } });
  });
});

describe('MessageBus.publishNow', () => {
  let server: PrivateNatsServer;
  const connections: NatsConnection[] = [];
  let publisher: MessageBus;
  let watcher: NatsConnection;
  const topology = busTopology('bus_now');

  beforeAll(async () => {
    server = await startNatsServer('');
    const nc = await connect({ servers: server.url, name: 'publisher' });
    watcher = await connect({ servers: server.url, name: 'watcher' });
    connections.push(nc, watcher);
    publisher = new MessageBus(nc, topology, 'bot-service/test', new JsonLogger('publisher', 'fatal').child('bus'));
  });

  afterAll(async () => {
    for (const nc of connections) await nc.close();
    await server?.stop();
  });

  const intent = { botId: 'bot-1', strategy: 'grid', intent: { kind: 'cancel' as const, clientOrderId: 'bot-1-g-7' } };

  it('writes the event before a request made after it, and reports a stream that does not confirm it', async () => {
    const seen: string[] = [];
    watcher.subscribe(topology.subject(BotIntentSentEvt), { callback: () => void seen.push('event') });
    watcher.subscribe(topology.subject(BalancesQry), {
      callback: (_err, msg) => {
        seen.push('request');
        msg.respond(new Uint8Array());
      },
    });
    await watcher.flush();
    const failures: unknown[] = [];
    publisher.publishNow(BotIntentSentEvt, intent, {}, (err) => failures.push(err));
    await publisher.request(BalancesQry, {}, {}, 2000);
    expect(seen).toEqual(['event', 'request']);
    // No stream stores the subject on this server: the group's confirmation says so.
    const deadline = Date.now() + 10_000;
    while (failures.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(String(failures[0])).toMatch(/bot\.evt\.intent\.sent/);
  });

  it('reports a payload that breaks its contract, and sends nothing', () => {
    const failures: unknown[] = [];
    publisher.publishNow(BotIntentSentEvt, { ...intent, botId: '' }, {}, (err) => failures.push(err));
    expect(failures).toHaveLength(1);
    expect(String(failures[0])).toMatch(/bot\.evt\.intent\.sent/);
  });
});
