import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect } from '@nats-io/transport-node';
import { BalancesQry, BotOrdersQry, KillSwitchActivateCmd, OpenOrdersQry, OrderCancelCmd, OrderFilledEvt, OrderSubmitCmd } from '@garde/contracts';
import type { RunningSimulator } from '@garde/exchange-simulator';
import { JsonLogger, MessageBus, ServiceError, type RunningService } from '@garde/platform';
import { runConsole, testOrder, until, type TestSandbox } from '@garde/testing';
import { TEST_TOKENS, apiClient } from './api-client.js';
import { setFaults, startTradingStack, type TradingStack } from './trading-stack.js';
import { createCcxtClient } from '../src/venues/ccxt-client.js';
import { VenueOrderRepository, pendingRow, toOrder } from '../src/persistence/venue-order.repository.js';

const TOKENS = TEST_TOKENS;
const KEY = 'sim-key-orders-1';
const SECRET = 'sim-secret-orders-1';

interface SimOrder {
  clientOrderId: string;
  status: string;
  executedQty: string;
  origQty: string;
  price: string;
  type: string;
}

/**
 * Orders through the gateway to a venue (the exchange simulator, over HTTP through unmodified ccxt),
 * with risk-service's pre-trade check: sent once, recorded, never duplicated.
 */
describe('exchange-gateway order pipeline against the simulator', () => {
  let sandbox: TestSandbox;
  let sim: RunningSimulator;
  let risk: RunningService | undefined;
  let gateway: RunningService;
  let venueUrl: string;

  const call = apiClient(() => gateway.url);
  const api = (role: keyof typeof TOKENS, method: string, path: string, body?: unknown) => call(role, method, path, body);
  const submit = (extra: Record<string, unknown> = {}) =>
    api('operator', 'POST', '/api/v1/orders', testOrder({ exchangeId: 'sim-binance', price: '59000', ...extra }));
  const venueOrders = async (): Promise<SimOrder[]> => ((await (await fetch(`${venueUrl}/__sim/state`)).json()) as { orders: SimOrder[] }).orders;
  const faults = (body: Record<string, unknown> | null) => setFaults(sim.venue('sim-a').controlUrl, body);
  const storedOrders = () =>
    sandbox.sql<{ client_order_id: string; state: string }>('SELECT client_order_id, state FROM gateway.venue_order ORDER BY created_at');

  let stack: TradingStack;

  beforeAll(async () => {
    stack = await startTradingStack({
      label: 'gw-orders',
      venues: [{ id: 'sim-a', port: 0, tickIntervalMs: 0, accounts: [{ apiKey: KEY, secret: SECRET, balances: { USDT: '100000', BTC: '1' } }] }],
      gatewayEnv: {
        VENUE_TIMEOUT_MS: '1500',
        UNKNOWN_FIRST_LOOKUP_MS: '300',
        UNKNOWN_LOOKUP_INTERVAL_MS: '200',
        UNKNOWN_MAX_LOOKUPS: '3',
        ORDER_TRACKER_INTERVAL_MS: '100',
        ORDER_POLL_MS: '100',
        STUCK_AFTER_MS: '1500',
      },
      accounts: [{ id: 'sim-main', exchangeId: 'sim-binance', venue: 'sim-a', apiKey: KEY, secret: SECRET }],
    });
    ({ sandbox, sim, risk, gateway } = stack);
    venueUrl = sim.venue('sim-a').url;
    await until(
      () => submit({ clientOrderId: 'warm-up', quantity: '0.001', price: '1000' }),
      (r) => r.status === 201,
    );
  });
  afterAll(() => stack?.stop());

  it('a limit order below the price rests OPEN at the venue; a market order is FILLED at once', async () => {
    const limit = await submit({ clientOrderId: 'limit-1', quantity: '0.01', price: '59000.5' });
    expect(limit.status).toBe(201);
    expect(limit.body).toMatchObject({ clientOrderId: 'limit-1', accountId: 'sim-main', state: 'OPEN', quantity: '0.01', price: '59000.5', filled: '0' });
    expect(limit.body.venueOrderId).toEqual(expect.any(String));

    const market = await submit({ clientOrderId: 'market-1', type: 'market', price: undefined, quantity: '0.002' });
    expect(market.body).toMatchObject({ state: 'FILLED', filled: '0.002' });

    const atVenue = await venueOrders();
    expect(atVenue.find((o) => o.clientOrderId === 'limit-1')).toMatchObject({ status: 'NEW', origQty: '0.01', price: '59000.5' });
    expect(atVenue.find((o) => o.clientOrderId === 'market-1')).toMatchObject({ status: 'FILLED', executedQty: '0.002' });
    expect((await api('operator', 'GET', '/api/v1/orders/limit-1')).body).toMatchObject({ state: 'OPEN' });
  });

  it('records each execution once with its exact price, quantity and fee, and publishes it once: at once for a market order, by polling for a resting one', async () => {
    const published: Array<{ clientOrderId: string; price: string; quantity: string; fee: string }> = [];
    const seen = gateway.runtime.bus.observe(OrderFilledEvt, (p) =>
      published.push({ clientOrderId: p.order.clientOrderId, price: p.fill.price, quantity: p.fill.quantity, fee: p.fill.fee }),
    );
    const fills = (id: string) =>
      sandbox.sql<{ price: string; quantity: string; fee: string; fee_currency: string }>(
        'SELECT price::text, quantity::text, fee::text, fee_currency FROM gateway.venue_fill WHERE client_order_id = $1',
        [id],
      );
    const venueTrades = async () =>
      (
        (await (await fetch(`${venueUrl}/__sim/state`)).json()) as {
          trades: Array<{ orderId: number; price: string; qty: string; commission: string; commissionAsset: string }>;
        }
      ).trades;

    await submit({ clientOrderId: 'mkt-fill', type: 'market', price: undefined, quantity: '0.003' });
    const [marketFill] = await fills('mkt-fill');
    const marketVenueId = Number((await api('operator', 'GET', '/api/v1/orders/mkt-fill')).body.venueOrderId);
    const [trade] = (await venueTrades()).filter((t) => t.orderId === marketVenueId);
    expect(marketFill).toEqual({ price: trade!.price, quantity: trade!.qty, fee: trade!.commission, fee_currency: trade!.commissionAsset });

    await submit({ clientOrderId: 'rest-fill', quantity: '0.01', price: '59500' });
    await fetch(`${venueUrl}/__sim/price`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ symbol: 'BTC/USDT', price: '59400' }),
    });
    const filled = await until(
      () => api('operator', 'GET', '/api/v1/orders/rest-fill'),
      (r) => r.body.state === 'FILLED',
    );
    expect(filled.body).toMatchObject({ state: 'FILLED', filled: '0.01' });
    // Maker fee 0.1 % of the base bought, at the limit price.
    expect(
      await until(
        () => fills('rest-fill'),
        (f) => f.length > 0,
      ),
    ).toEqual([{ price: '59500', quantity: '0.01', fee: '0.00001', fee_currency: 'BTC' }]);
    await fetch(`${venueUrl}/__sim/price`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ symbol: 'BTC/USDT', price: '60000' }),
    });
    // Each execution is an event (gateway.evt.order.filled), once: bots and risk learn their fills from it.
    await until(
      () => Promise.resolve(published.filter((f) => f.clientOrderId === 'rest-fill').length),
      (n) => n > 0,
    );
    await new Promise((r) => setTimeout(r, 300));
    seen.unsubscribe();
    expect(published.filter((f) => ['mkt-fill', 'rest-fill'].includes(f.clientOrderId))).toEqual([
      { clientOrderId: 'mkt-fill', price: trade!.price, quantity: trade!.qty, fee: trade!.commission },
      { clientOrderId: 'rest-fill', price: '59500', quantity: '0.01', fee: '0.00001' },
    ]);
  });

  it('the same client order id, again or concurrently, never makes a second venue order', async () => {
    const again = await submit({ clientOrderId: 'limit-1', quantity: '0.5', price: '58000' });
    expect(again.body).toMatchObject({ clientOrderId: 'limit-1', quantity: '0.01', state: 'OPEN' });
    const concurrent = await Promise.all(Array.from({ length: 8 }, () => submit({ clientOrderId: 'dup-1', quantity: '0.003' })));
    expect(concurrent.map((r) => r.status)).toEqual(Array(8).fill(201));
    expect(
      (await venueOrders())
        .filter((o) => ['limit-1', 'dup-1'].includes(o.clientOrderId))
        .map((o) => o.clientOrderId)
        .sort(),
    ).toEqual(['dup-1', 'limit-1']);
  });

  it('bin/console order:submit sends an order and says where it stands', async () => {
    const env = { GARDE_API_URL: gateway.url, GARDE_TOKEN: TOKENS.operator };
    const args = ['order:submit', '--exchange=sim-binance', '--symbol=BTC/USDT', '--side=buy', '--type=limit', '--quantity=0.001', '--price=58000'];
    const placed = await runConsole([...args, '--client-order-id=cli-1'], env);
    expect(placed.stdout).toContain('Order cli-1 on sim-main: OPEN (buy 0.001 BTC/USDT at 58000, filled 0)');
    expect(placed.code).toBe(0);
    const rejected = await runConsole([...args.slice(0, 5), '--quantity=900', '--price=58000', '--client-order-id=cli-2'], env);
    expect(rejected.stdout).toContain('Order cli-2 on sim-main: REJECTED');
    expect(rejected.code).toBe(1);
  });

  it('answers the venues’ balances and open orders on the bus, for reconciliation', async () => {
    const balances = await gateway.runtime.bus.request(BalancesQry, {});
    if (!balances.ok) throw new Error(balances.error.message);
    const [account] = balances.result.accounts;
    const venueBalances = (
      (await (await fetch(`${venueUrl}/__sim/state`)).json()) as { accounts: Array<{ balances: Record<string, { free: string; locked: string }> }> }
    ).accounts[0]!.balances;
    expect(account).toMatchObject({ accountId: 'sim-main', exchangeId: 'sim-binance' });
    const usdt = account!.balances.find((b) => b.asset === 'USDT');
    expect([usdt?.free, usdt?.used]).toEqual([venueBalances.USDT!.free, venueBalances.USDT!.locked].map((v) => v.replace(/\.?0+$/, '')));

    const open = await gateway.runtime.bus.request(OpenOrdersQry, { accountId: 'sim-main' });
    if (!open.ok) throw new Error(open.error.message);
    expect(open.result.accounts[0]!.orders.map((o) => o.clientOrderId)).toContain('limit-1');
    expect(await gateway.runtime.bus.request(OpenOrdersQry, { accountId: 'nope' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
  });

  it("answers a bot's orders with their fills, and cancels one on the bus, as a bot would", async () => {
    const since = new Date().toISOString();
    await submit({ clientOrderId: 'bot-list-rest', botId: 'bot-list', quantity: '0.002', price: '50000' });
    await submit({ clientOrderId: 'bot-list-mkt', botId: 'bot-list', type: 'market', price: undefined, quantity: '0.001' });
    await submit({ clientOrderId: 'other-bot-rest', botId: 'bot-other', quantity: '0.002', price: '50000' });
    const { bus } = gateway.runtime;
    const live = await bus.request(BotOrdersQry, { botId: 'bot-list' });
    expect(live).toMatchObject({ ok: true, result: { orders: [{ clientOrderId: 'bot-list-rest', state: 'OPEN' }], fills: [] } });
    const all = await until(
      () => bus.request(BotOrdersQry, { botId: 'bot-list', since }),
      (r) => r.ok && r.result.fills.length > 0,
    );
    if (!all.ok) throw new Error(all.error.message);
    expect(all.result.orders.map((o) => [o.clientOrderId, o.state])).toEqual([
      ['bot-list-rest', 'OPEN'],
      ['bot-list-mkt', 'FILLED'],
    ]);
    const [trade] = (
      (await (await fetch(`${venueUrl}/__sim/state`)).json()) as { trades: Array<{ id: number; orderId: number; price: string; commission: string }> }
    ).trades.filter((t) => String(t.orderId) === all.result.orders[1]!.venueOrderId);
    expect(all.result.fills).toEqual([
      {
        clientOrderId: 'bot-list-mkt',
        tradeId: String(trade!.id),
        price: trade!.price,
        quantity: '0.001',
        fee: trade!.commission,
        feeCurrency: 'BTC',
        at: expect.any(String),
      },
    ]);

    await expect(bus.request(OrderCancelCmd, { clientOrderId: 'bot-list-rest', reason: 'x' })).rejects.toMatchObject({ code: 'CONTRACT_VIOLATION' });
    expect(await bus.request(OrderCancelCmd, { clientOrderId: 'bot-list-rest', reason: 'grid level moved' })).toMatchObject({
      ok: true,
      result: { clientOrderId: 'bot-list-rest', state: 'CANCELED' },
    });
    expect(await bus.request(OrderCancelCmd, { clientOrderId: 'nope', reason: 'grid level moved' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await bus.request(BotOrdersQry, { botId: 'bot-list' })).toMatchObject({ ok: true, result: { orders: [] } });

    // The order tracker writes only over the state it read before asking the venue: its older answer
    // (OPEN) never overwrites the cancel that landed meanwhile.
    const repository = gateway.app.get(VenueOrderRepository);
    expect(await repository.updateIfState('bot-list-rest', 'OPEN', { state: 'OPEN', filled: '0' })).toBeNull();
    expect((await repository.get('bot-list-rest'))?.state).toBe('CANCELED');
  });

  it('lists the markets of the orders not final (the symbols market data polls), as a DISTINCT over every order would', async () => {
    // Orders of made-up venues, straight into the table: none is due for a lookup or a poll (no next check).
    const rows: Array<[string, string, string, string]> = [
      ['lm-1', 'lm-ex-a', 'AAA/USDT', 'OPEN'],
      ['lm-2', 'lm-ex-a', 'AAA/USDT', 'PARTIALLY_FILLED'],
      ['lm-3', 'lm-ex-a', 'BBB/USDT', 'FILLED'],
      ['lm-4', 'lm-ex-b', 'AAA/USDT', 'UNKNOWN'],
      ['lm-5', 'lm-ex-b', 'CCC/USDT', 'CANCELED'],
      ['lm-6', 'lm-ex-c', 'ZZZ/USDT', 'PENDING_CANCEL'],
    ];
    for (const [id, exchangeId, symbol, state] of rows) {
      await sandbox.sql(
        `INSERT INTO gateway.venue_order (client_order_id, account_id, exchange_id, symbol, side, type, quantity, price, state, correlation_id, created_at, updated_at)
         VALUES ($1, 'lm-account', $2, $3, 'buy', 'limit', 1, 1, $4, $1, now(), now())`,
        [id, exchangeId, symbol, state],
      );
    }
    try {
      const listed = (await gateway.app.get(VenueOrderRepository).liveSymbols()).map((m) => `${m.exchangeId} ${m.symbol}`);
      expect(listed.filter((m) => m.startsWith('lm-'))).toEqual(['lm-ex-a AAA/USDT', 'lm-ex-b AAA/USDT', 'lm-ex-c ZZZ/USDT']);
      const every = await sandbox.sql<{ market: string }>(
        `SELECT DISTINCT exchange_id || ' ' || symbol AS market FROM gateway.venue_order
          WHERE state NOT IN ('FILLED', 'CANCELED', 'REJECTED', 'EXPIRED', 'LOST') ORDER BY 1`,
      );
      expect([...listed].sort()).toEqual(every.map((r) => r.market).sort());
    } finally {
      await sandbox.sql(`DELETE FROM gateway.venue_order WHERE client_order_id LIKE 'lm-%'`);
    }
  });

  it('keeps writing orders through its prepared statements after a migration adds a column while it runs', async () => {
    const repository = gateway.app.get(VenueOrderRepository);
    // Both statements of the order path, a few times each, so that every pooled connection has them prepared.
    const submitAndAnswer = async (id: string) => {
      const pending = await repository.insertPending(
        pendingRow({
          clientOrderId: id,
          accountId: 'pa-account',
          exchangeId: 'pa-ex',
          botId: null,
          symbol: 'AAA/USDT',
          side: 'buy',
          type: 'limit',
          quantity: '1.5',
          price: '2',
          correlationId: id,
        }),
      );
      expect(pending.inserted).toBe(true);
      return repository.recordAnswer(id, { state: 'OPEN', venueOrderId: `v-${id}`, filled: '0', venueSeenAt: new Date(), nextCheckAt: null });
    };
    try {
      for (let i = 0; i < 12; i++) await submitAndAnswer(`pa-before-${i}`);
      await sandbox.sql('ALTER TABLE gateway.venue_order ADD COLUMN pa_extra text');
      for (let i = 0; i < 12; i++) {
        const row = await submitAndAnswer(`pa-after-${i}`);
        expect([row.state, row.venueOrderId, row.quantity, row.clientOrderId]).toEqual(['OPEN', `v-pa-after-${i}`, '1.5', `pa-after-${i}`]);
      }
    } finally {
      await sandbox.sql('ALTER TABLE gateway.venue_order DROP COLUMN IF EXISTS pa_extra');
      await sandbox.sql(`DELETE FROM gateway.venue_order WHERE client_order_id LIKE 'pa-%'`);
    }
  });

  it('refuses malformed orders with a clear error, nothing persisted or sent', async () => {
    const before = [(await storedOrders()).length, (await venueOrders()).length];
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ quantity: '-1' }, 'CONTRACT_VIOLATION', 'quantity'],
      [{ quantity: '1e3' }, 'CONTRACT_VIOLATION', 'quantity'],
      [{ symbol: 'DOGE/USDT' }, 'INVALID_REQUEST', 'has no market DOGE/USDT'],
      [{ accountId: 'nope' }, 'INVALID_REQUEST', 'no exchange account nope'],
      [{ exchangeId: 'kraken' }, 'NO_VENUE_CONFIGURED', 'no exchange account is configured for exchange kraken'],
      [{ quantity: '0.12345678901234567' }, 'INVALID_REQUEST', 'more than 15 significant digits'],
    ];
    for (const [extra, code, message] of cases) {
      const res = await submit(extra);
      expect(res.body.error).toMatchObject({ code, message: expect.stringContaining(message) });
    }
    expect([(await storedOrders()).length, (await venueOrders()).length]).toEqual(before);
  });

  it('an order that reaches the gateway after its caller may have given up (older than ORDER_MAX_AGE_MS) is refused, never persisted nor sent', async () => {
    const { bus, nc } = gateway.runtime;
    const env = bus.envelope(
      OrderSubmitCmd.type,
      OrderSubmitCmd.schemaVersion,
      testOrder({ clientOrderId: 'too-old', exchangeId: 'sim-binance', price: '59000' }),
    );
    const sent = { ...env, occurredAt: new Date(Date.now() - 10_000).toISOString() };
    const reply = await nc.request(bus.topology.subject(OrderSubmitCmd), JSON.stringify(sent), { timeout: 5000 });
    expect(reply.json()).toMatchObject({
      ok: false,
      error: { code: 'TIMEOUT', message: expect.stringMatching(/had not reached the venue \(ORDER_MAX_AGE_MS 2000\)/) },
    });
    expect((await storedOrders()).map((o) => o.client_order_id)).not.toContain('too-old');
    expect((await venueOrders()).map((o) => o.clientOrderId)).not.toContain('too-old');
  });

  it('a venue refusal is recorded REJECTED with its reason', async () => {
    const res = await submit({ clientOrderId: 'too-big', quantity: '1000', price: '59000' });
    expect(res.body).toMatchObject({ state: 'REJECTED', lastError: expect.stringContaining('InsufficientFunds') });
  });

  it('a POST that times out after the venue created the order is UNKNOWN, never sent again, then settled OPEN by a lookup', async () => {
    await faults({ timeoutAfterCreate: true });
    const res = await submit({ clientOrderId: 'lost-answer', quantity: '0.004' });
    await faults(null);
    expect(res.body).toMatchObject({ state: 'UNKNOWN', lastError: expect.stringContaining('RequestTimeout') });
    const again = await submit({ clientOrderId: 'lost-answer', quantity: '0.004' });
    expect(again.body).toMatchObject({ clientOrderId: 'lost-answer' });
    const settled = await until(
      () => api('operator', 'GET', '/api/v1/orders/lost-answer'),
      (r) => r.body.state !== 'UNKNOWN',
    );
    expect(settled.body).toMatchObject({ state: 'OPEN', venueOrderId: expect.any(String) });
    expect((await venueOrders()).filter((o) => o.clientOrderId === 'lost-answer')).toHaveLength(1);
  });

  it('records an update whose venue order id and filled quantity are the same text', async () => {
    expect((await submit({ clientOrderId: 'same-text', quantity: '0.003', price: '50000' })).body).toMatchObject({ state: 'OPEN' });
    const updated = await gateway.app.get(VenueOrderRepository).update('same-text', { venueOrderId: '7', filled: '7', state: 'PARTIALLY_FILLED' });
    expect(updated).toMatchObject({ venueOrderId: '7', state: 'PARTIALLY_FILLED', fillsPending: true });
    expect(toOrder(updated).filled).toBe('7');
  });

  it('a market order whose answer was lost is settled FILLED by a lookup, and its execution is still recorded', async () => {
    await faults({ timeoutAfterCreate: true });
    const res = await submit({ clientOrderId: 'lost-fill', type: 'market', price: undefined, quantity: '0.002' });
    await faults(null);
    expect(res.body).toMatchObject({ state: 'UNKNOWN' });
    const settled = await until(
      () => api('operator', 'GET', '/api/v1/orders/lost-fill'),
      (r) => r.body.state === 'FILLED',
    );
    const venueId = Number(settled.body.venueOrderId);
    const state = (await (await fetch(`${venueUrl}/__sim/state`)).json()) as {
      trades: Array<{ orderId: number; price: string; qty: string; commission: string }>;
    };
    const [trade] = state.trades.filter((t) => t.orderId === venueId);
    const fills = await until(
      () =>
        sandbox.sql<{ price: string; quantity: string; fee: string }>(
          'SELECT price::text, quantity::text, fee::text FROM gateway.venue_fill WHERE client_order_id = $1',
          ['lost-fill'],
        ),
      (f) => f.length > 0,
    );
    expect(fills).toEqual([{ price: trade!.price, quantity: trade!.qty, fee: trade!.commission }]);
    // The fills owed are cleared by the statement after the fills' insert: wait for it, not for the insert.
    const [owed] = await until(
      () => sandbox.sql<{ fills_pending: boolean }>('SELECT fills_pending FROM gateway.venue_order WHERE client_order_id = $1', ['lost-fill']),
      (r) => r[0]?.fills_pending === false,
    );
    expect(owed!.fills_pending).toBe(false);
  });

  it('an order the venue never heard of is looked up, never re-sent, and marked LOST with a critical event', async () => {
    await faults({ timeoutBeforeCreate: true });
    const res = await submit({ clientOrderId: 'never-arrived', quantity: '0.004' });
    await faults(null);
    expect(res.body).toMatchObject({ state: 'UNKNOWN' });
    const lost = await until(
      () => api('operator', 'GET', '/api/v1/orders/never-arrived'),
      (r) => r.body.state !== 'UNKNOWN',
    );
    expect(lost.body).toMatchObject({ state: 'LOST', lastError: expect.stringContaining('after 3 lookups; it was not re-sent') });
    expect((await venueOrders()).filter((o) => o.clientOrderId === 'never-arrived')).toHaveLength(0);
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(metrics).toMatch(/^garde_gateway_orders_settled_total\{result="LOST",service="exchange-gateway"\} 1$/m);
    expect(metrics).toMatch(/^garde_gateway_orders_settled_total\{result="OPEN",service="exchange-gateway"\} 1$/m);
  });

  it('orders a stopped gateway left PENDING_SUBMIT are looked up, never re-sent: settled if the venue has them, else LOST', async () => {
    // What a gateway killed between its PENDING_SUBMIT write and the venue's answer leaves behind
    // (rows written here as that process would have; 'crash-1' reached the venue, 'crash-2' did not).
    const direct = createCcxtClient({ ccxtId: 'binance', urlOverride: venueUrl, sandbox: false, apiKey: KEY, secret: SECRET, timeoutMs: 3000 });
    await direct.createOrder('BTC/USDT', 'limit', 'buy', 0.002, 57000, { newClientOrderId: 'crash-1' });
    for (const id of ['crash-1', 'crash-2']) {
      await sandbox.sql(
        `INSERT INTO gateway.venue_order (client_order_id, account_id, exchange_id, symbol, side, type, quantity, price, state, filled, correlation_id, created_at, updated_at)
         VALUES ($1, 'sim-main', 'sim-binance', 'BTC/USDT', 'buy', 'limit', 0.002, 57000, 'PENDING_SUBMIT', 0, $1, now() - interval '1 minute', now() - interval '1 minute')`,
        [id],
      );
    }
    const settled = await until(
      async () => [(await api('operator', 'GET', '/api/v1/orders/crash-1')).body.state, (await api('operator', 'GET', '/api/v1/orders/crash-2')).body.state],
      (states) => states[0] === 'OPEN' && states[1] === 'LOST',
      10_000,
    );
    expect(settled).toEqual(['OPEN', 'LOST']);
    expect((await venueOrders()).filter((o) => o.clientOrderId.startsWith('crash-')).map((o) => o.clientOrderId)).toEqual(['crash-1']);
  });

  it('an order its venue stops reporting on shows as stuck; exchange:order:resolve settles it from the venue', async () => {
    const env = { GARDE_API_URL: gateway.url, GARDE_TOKEN: TOKENS.operator };
    await faults({ neverReport: { mode: 'missing' } });
    expect((await submit({ clientOrderId: 'quiet-1', price: '56000' })).body).toMatchObject({ state: 'OPEN' });
    const stuck = await until(
      () => runConsole(['exchange:orders:stuck', '--json'], env),
      (r) => r.stdout.includes('quiet-1'),
      5000,
    );
    expect(JSON.parse(stuck.stdout)).toMatchObject({ stuckAfterMs: 1500, orders: [expect.objectContaining({ clientOrderId: 'quiet-1', state: 'OPEN' })] });
    expect(await (await fetch(`${gateway.url}/metrics`)).text()).toMatch(/^garde_gateway_orders_stuck\{service="exchange-gateway"\} [1-9]/m);

    await faults(null);
    const resolved = await runConsole(['exchange:order:resolve', 'quiet-1'], env);
    expect(resolved.stdout).toContain('Order quiet-1: OPEN');
    expect(resolved.code).toBe(0);
    const after = JSON.parse((await runConsole(['exchange:orders:stuck', '--json'], env)).stdout) as { orders: Array<{ clientOrderId: string }> };
    expect(after.orders.map((o) => o.clientOrderId)).not.toContain('quiet-1');
  });

  it('fails closed: a kill switch or a silent risk-service stops the order before the venue', async () => {
    const before = (await venueOrders()).length;
    await risk!.runtime.bus.request(
      KillSwitchActivateCmd,
      { scope: 'exchange:sim-binance', reason: 'drill' },
      { actor: { id: 'drill', kind: 'operator', role: 'operator' } },
    );
    expect(
      (
        await until(
          () => submit(),
          (r) => r.body.error?.code === 'KILL_SWITCH_ACTIVE',
        )
      ).body.error?.details,
    ).toMatchObject({ scope: 'exchange:sim-binance' });
    // Enforced from risk-service's announcement, then from the bucket's record of it.
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    for (const via of ['announced', 'recorded'])
      expect(metrics).toMatch(new RegExp(`^garde_gateway_kill_switch_propagation_seconds_count\\{service="exchange-gateway",via="${via}"\\} [1-9]`, 'm'));
    expect(metrics).toMatch(/^garde_gateway_kill_switch_unrecorded_total\{service="exchange-gateway"\} 0$/m);
    await risk!.close();
    risk = undefined;
    const noRisk = await submit({ exchangeId: 'sim-binance', botId: 'other-bot', reduceOnly: true });
    // The gateway's own gate still holds the halted scope; a reduce-only order passes it and meets the missing risk check.
    expect(['KILL_SWITCH_ACTIVE', 'UNAVAILABLE', 'TIMEOUT']).toContain(noRisk.body.error?.code);
    expect((await venueOrders()).length).toBe(before);
  });

  it("stops its own orders as it accepts an operator's activation, before risk-service has it; a refused one stops counting at once", async () => {
    // risk-service is stopped (the test above): this one answers the gateway's activation requests itself.
    const nc = await connect({ servers: sandbox.natsUrl });
    const riskStandIn = new MessageBus(nc, gateway.runtime.bus.topology, 'risk-service/test', new JsonLogger('test', 'error').child('bus'));
    const seenAtRisk: Array<string | undefined> = [];
    riskStandIn.serve(KillSwitchActivateCmd, riskStandIn.topology.queueGroup('risk-service'), async (p) => {
      // What a bot's order meets while the activation is on its way to risk-service.
      const order = await gateway.runtime.bus.request(OrderSubmitCmd, testOrder({ exchangeId: 'sim-other', botId: 'bot-9' }), {});
      seenAtRisk.push(order.ok ? 'ACCEPTED' : order.error.code);
      throw new ServiceError('FORBIDDEN', `stand-in refuses ${p.scope}`);
    });
    // The stand-in's subscription known to the server before the gateway asks (else: no responders, UNAVAILABLE).
    await nc.flush();
    try {
      const refused = await api('operator', 'POST', '/api/v1/kill-switch/activate', { scope: 'bot:bot-9', reason: 'stand-in drill' });
      expect(refused.body.error?.code).toBe('FORBIDDEN');
      expect(seenAtRisk).toEqual(['KILL_SWITCH_ACTIVE']);
      // Refused by risk-service: nothing recorded, the bot's orders meet the next gate again.
      const after = await gateway.runtime.bus.request(OrderSubmitCmd, testOrder({ exchangeId: 'sim-other', botId: 'bot-9' }), {});
      expect(after.ok ? 'ACCEPTED' : after.error.code).not.toBe('KILL_SWITCH_ACTIVE');
    } finally {
      await nc.drain();
    }
  });
});
