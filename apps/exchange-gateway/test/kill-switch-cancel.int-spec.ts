import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { jetstreamManager } from '@nats-io/jetstream';
import { FlatConfirmedEvt, FlatFailedEvt, KillSwitchActivateCmd, KillSwitchDeactivateCmd, type Actor } from '@garde/contracts';
import type { RunningSimulator } from '@garde/exchange-simulator';
import type { RunningService } from '@garde/platform';
import { runConsole, startTcpProxy, testOrder, until, type TcpProxy, type TestSandbox } from '@garde/testing';
import { TEST_TOKENS, apiClient } from './api-client.js';
import { startTradingStack, type TradingStack } from './trading-stack.js';
import { createCcxtClient } from '../src/venues/ccxt-client.js';

const TOKENS = TEST_TOKENS;
const KEY = 'sim-key-flat-1';
const SECRET = 'sim-secret-flat-1';
const operator: Actor = { id: 'ops', kind: 'operator', role: 'operator' };
const riskOfficer: Actor = { id: 'rita', kind: 'operator', role: 'risk' };

/** The kill switch's venue side (DESIGN §3): cancel the scope's open orders everywhere, confirm flat. */
describe('kill switch: open orders cancelled on every venue, flat confirmed', () => {
  let sandbox: TestSandbox;
  let sim: RunningSimulator;
  let risk: RunningService;
  let gateway: RunningService;

  const call = apiClient(() => gateway.url);
  const api = (method: string, path: string, body?: unknown, role: keyof typeof TOKENS = 'operator') => call(role, method, path, body);
  const openAt = async (venue: string) =>
    ((await (await fetch(`${sim.venue(venue).url}/__sim/state`)).json()) as { orders: Array<{ clientOrderId: string; status: string }> }).orders.filter((o) =>
      ['NEW', 'PARTIALLY_FILLED'].includes(o.status),
    );
  const lastEvent = async (def: typeof FlatConfirmedEvt | typeof FlatFailedEvt) => {
    const jsm = await jetstreamManager(gateway.runtime.nc);
    const topology = gateway.runtime.bus.topology;
    const msg = await jsm.streams.getMessage(topology.auditStream, { last_by_subj: topology.subject(def) }).catch(() => null);
    return msg ? (JSON.parse(new TextDecoder().decode(msg.data)) as { payload: Record<string, unknown>; correlationId: string }) : null;
  };
  /** The last such event of `scope`, once there is one (10 s at most). */
  const lastFor = (def: typeof FlatConfirmedEvt | typeof FlatFailedEvt, scope: string) =>
    until(
      () => lastEvent(def),
      (e) => e?.payload.scope === scope,
      10_000,
    );
  const switchTo = (active: boolean, scope: string) =>
    active
      ? risk.runtime.bus.request(KillSwitchActivateCmd, { scope, reason: `drill ${scope}` }, { actor: operator })
      : risk.runtime.bus.request(KillSwitchDeactivateCmd, { scope, reason: 'drill over' }, { actor: riskOfficer });

  let stack: TradingStack;

  beforeAll(async () => {
    const account = { apiKey: KEY, secret: SECRET, balances: { USDT: '1000000', BTC: '10' } };
    stack = await startTradingStack({
      label: 'gw-flat',
      venues: [
        { id: 'venue-a', port: 0, tickIntervalMs: 0, accounts: [account] },
        { id: 'venue-b', port: 0, tickIntervalMs: 0, accounts: [account] },
      ],
      gatewayEnv: { FLAT_CONFIRM_TIMEOUT_MS: '1500', VENUE_TIMEOUT_MS: '1000' },
      accounts: ['a', 'b'].map((v) => ({ id: `acct-${v}`, exchangeId: `ex-${v}`, venue: `venue-${v}`, apiKey: KEY, secret: SECRET })),
    });
    ({ sandbox, sim, risk, gateway } = stack);
    await until(
      () => api('POST', '/api/v1/orders', testOrder({ exchangeId: 'ex-a', clientOrderId: 'warm-a', price: '1000' })),
      (r) => r.status === 201,
    );
  });
  afterAll(() => stack?.stop());

  it('global: 20 open orders across two venues (and one the gateway never sent) are cancelled, flat confirmed', async () => {
    for (let i = 0; i < 20; i++) {
      const res = await api(
        'POST',
        '/api/v1/orders',
        testOrder({ exchangeId: i % 2 ? 'ex-b' : 'ex-a', botId: `bot-${i % 4}`, clientOrderId: `g-${i}`, price: String(50000 + i) }),
      );
      expect(res.body).toMatchObject({ state: 'OPEN' });
    }
    // An order placed on the account outside Garde is open on the venue too.
    const outside = createCcxtClient({
      ccxtId: 'binance',
      urlOverride: sim.venue('venue-b').url,
      sandbox: false,
      apiKey: KEY,
      secret: SECRET,
      timeoutMs: 3000,
    });
    await outside.createOrder('BTC/USDT', 'limit', 'buy', 0.001, 40000, { newClientOrderId: 'outside-1' });
    expect((await openAt('venue-a')).length + (await openAt('venue-b')).length).toBe(22); // with warm-a

    await switchTo(true, 'global');
    const flat = await lastFor(FlatConfirmedEvt, 'global');
    expect(flat?.payload).toMatchObject({ scope: 'global', canceled: 21, accounts: ['acct-a', 'acct-b'] });
    expect(flat?.correlationId).toMatch(/^kill-switch:global:v\d+$/);
    expect([...(await openAt('venue-a')), ...(await openAt('venue-b'))]).toEqual([]);
    const states = await sandbox.sql<{ state: string; n: string }>('SELECT state, count(*) AS n FROM gateway.venue_order GROUP BY state');
    expect(states).toEqual([{ state: 'CANCELED', n: '21' }]);
    await switchTo(false, 'global');
  });

  it('a bot scope cancels only that bot’s orders', async () => {
    await until(
      () => api('POST', '/api/v1/orders', testOrder({ exchangeId: 'ex-a', botId: 'bot-x', clientOrderId: 'x-1', price: '51000' })),
      (r) => r.status === 201,
    );
    await api('POST', '/api/v1/orders', testOrder({ exchangeId: 'ex-b', botId: 'bot-x', clientOrderId: 'x-2', price: '51000' }));
    await api('POST', '/api/v1/orders', testOrder({ exchangeId: 'ex-a', botId: 'bot-y', clientOrderId: 'y-1', price: '51000' }));
    await switchTo(true, 'bot:bot-x');
    const flat = await lastFor(FlatConfirmedEvt, 'bot:bot-x');
    expect(flat?.payload).toMatchObject({ canceled: 2 });
    expect((await openAt('venue-a')).map((o) => o.clientOrderId)).toEqual(['y-1']);
  });

  it('PostgreSQL drops every connection (a restart): the next halt still cancels and confirms flat', async () => {
    await api('POST', '/api/v1/orders', testOrder({ exchangeId: 'ex-a', botId: 'bot-r', clientOrderId: 'r-1', price: '51000' }));
    // The order tracker has held its lock on a connection of its own since the first halt.
    const cut = await sandbox.sql<{ cut: boolean }>(
      "SELECT pg_terminate_backend(pid) AS cut FROM pg_stat_activity WHERE datname = current_database() AND application_name ~ '^(exchange-gateway|risk-service)/'",
    );
    expect(cut.length).toBeGreaterThan(1);
    await switchTo(true, 'bot:bot-r');
    const flat = await lastFor(FlatConfirmedEvt, 'bot:bot-r');
    expect(flat?.payload).toMatchObject({ canceled: 1 });
    expect((await openAt('venue-a')).map((o) => o.clientOrderId)).toEqual(['y-1']);
  });

  it('a halt whose cancels cannot run raises NOT FLAT with the error, and cancels once they can', async () => {
    await api('POST', '/api/v1/orders', testOrder({ exchangeId: 'ex-a', botId: 'bot-w', clientOrderId: 'w-1', price: '51000' }));
    // The gateway's orders out of its reach, as when its database cannot be read.
    await sandbox.sql('ALTER TABLE gateway.venue_order RENAME TO venue_order_away');
    try {
      await switchTo(true, 'bot:bot-w');
      const failed = await lastFor(FlatFailedEvt, 'bot:bot-w');
      expect(failed?.payload).toMatchObject({ stillOpen: {}, unreachable: [], error: expect.stringContaining('venue_order') });
      expect((await openAt('venue-a')).map((o) => o.clientOrderId)).toContain('w-1');
    } finally {
      await sandbox.sql('ALTER TABLE gateway.venue_order_away RENAME TO venue_order');
    }
    const flat = await lastFor(FlatConfirmedEvt, 'bot:bot-w');
    expect(flat?.payload).toMatchObject({ canceled: 1 });
    expect((await openAt('venue-a')).map((o) => o.clientOrderId)).toEqual(['y-1']);
  });

  it('a venue that cannot be asked makes the kill switch NOT flat: critical event, metric', async () => {
    await fetch(`${sim.venue('venue-b').controlUrl}/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ unavailable: true }),
    });
    await switchTo(true, 'exchange:ex-b');
    const failed = await lastFor(FlatFailedEvt, 'exchange:ex-b');
    await fetch(`${sim.venue('venue-b').controlUrl}/faults`, { method: 'DELETE' });
    expect(failed?.payload).toMatchObject({ scope: 'exchange:ex-b', unreachable: ['acct-b'] });
    expect(await (await fetch(`${gateway.url}/metrics`)).text()).toMatch(/^garde_gateway_kill_switch_flat_failures_total\{service="exchange-gateway"\} 2$/m);
  });

  it('bin/console exchange:order:cancel cancels one order, even under a kill switch', async () => {
    const env = { GARDE_API_URL: gateway.url, GARDE_TOKEN: TOKENS.operator };
    expect((await openAt('venue-a')).map((o) => o.clientOrderId)).toContain('y-1');
    await switchTo(true, 'exchange:ex-a');
    // The halt's own cancel may win the race; either way the order ends cancelled and the command says so.
    const res = await runConsole(['exchange:order:cancel', 'y-1', '--reason=manual cancel'], env);
    expect(res.stdout + res.stderr).toMatch(/Order y-1: CANCELED|INVALID_TRANSITION/);
    expect((await openAt('venue-a')).map((o) => o.clientOrderId)).not.toContain('y-1');
    expect((await runConsole(['exchange:order:cancel', 'no-such-order', '--reason=x y z'], env)).stderr).toContain('NOT_FOUND');
  });
});

/** The kill switch must not wait for the gateway's database: its cancels go straight to the venues it knows. */
describe('kill switch while the gateway cannot reach its database', () => {
  let stack: TradingStack;
  let proxy: TcpProxy;
  const call = apiClient(() => stack.gateway.url);
  const openAt = async () =>
    ((await (await fetch(`${stack.sim.venue('venue-c').url}/__sim/state`)).json()) as { orders: Array<{ clientOrderId: string; status: string }> }).orders
      .filter((o) => ['NEW', 'PARTIALLY_FILLED'].includes(o.status))
      .map((o) => o.clientOrderId);
  const events = async (def: typeof FlatConfirmedEvt | typeof FlatFailedEvt) => {
    const jsm = await jetstreamManager(stack.risk.runtime.nc);
    const topology = stack.risk.runtime.bus.topology;
    const msg = await jsm.streams.getMessage(topology.auditStream, { last_by_subj: topology.subject(def) }).catch(() => null);
    return msg ? (JSON.parse(new TextDecoder().decode(msg.data)) as { payload: Record<string, unknown> }) : null;
  };

  beforeAll(async () => {
    const server = new URL(process.env.DATABASE_URL!);
    proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port || 5432) });
    const account = { apiKey: KEY, secret: SECRET, balances: { USDT: '1000000', BTC: '10' } };
    stack = await startTradingStack({
      label: 'gw-flat-nodb',
      venues: [{ id: 'venue-c', port: 0, tickIntervalMs: 0, accounts: [account] }],
      gatewayEnv: (sandbox) => {
        const db = new URL(sandbox.databaseUrl);
        db.port = String(proxy.port);
        return { DATABASE_URL: db.toString(), FLAT_CONFIRM_TIMEOUT_MS: '1500', VENUE_TIMEOUT_MS: '1000' };
      },
      accounts: [{ id: 'acct-c', exchangeId: 'ex-c', venue: 'venue-c', apiKey: KEY, secret: SECRET }],
    });
  });
  afterAll(async () => {
    proxy?.restore();
    await stack?.stop();
    await proxy?.close();
  });

  it('global: the open orders are cancelled at the venue alone, flat confirmed; the book catches up once the database is back', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await until(
        () => call('operator', 'POST', '/api/v1/orders', testOrder({ exchangeId: 'ex-c', botId: 'bot-c', clientOrderId: `c-${i}`, price: String(50000 + i) })),
        (r) => r.status === 201,
      );
      expect(res.body).toMatchObject({ state: 'OPEN' });
    }
    expect((await openAt()).sort()).toEqual(['c-0', 'c-1', 'c-2']);

    proxy.cut();
    const activated = await stack.risk.runtime.bus.request(KillSwitchActivateCmd, { scope: 'global', reason: 'gateway database down' }, { actor: operator });
    expect(activated).toMatchObject({ ok: true });
    const flat = await until(
      () => events(FlatConfirmedEvt),
      (e) => e?.payload.venuesOnly === true,
      10_000,
    );
    expect(flat?.payload).toMatchObject({ scope: 'global', canceled: 3, accounts: ['acct-c'], venuesOnly: true });
    expect(await openAt()).toEqual([]);
    expect(await events(FlatFailedEvt)).toBeNull();

    proxy.restore();
    // The book's own sweep, once it can read the orders: each CANCELED, flat confirmed again from the book.
    await until(
      () => events(FlatConfirmedEvt),
      (e) => e?.payload.scope === 'global' && e.payload.venuesOnly === undefined,
      20_000,
    );
    const states = await stack.sandbox.sql<{ state: string; n: string }>('SELECT state, count(*) AS n FROM gateway.venue_order GROUP BY state');
    expect(states).toEqual([{ state: 'CANCELED', n: '3' }]);
  }, 45_000);
});
