import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { OrderApprovedEvt, OrderCheckQry, OrderDeniedEvt, type Envelope, type EventDef } from '@garde/contracts';
import type { RunningService } from '@garde/platform';
import { runConsole, testOrder, until } from '@garde/testing';
import { TEST_TOKENS, apiClient, type ApiReply } from '../../exchange-gateway/test/api-client.js';
import { setFaults, startTradingStack, type TradingStack } from '../../exchange-gateway/test/trading-stack.js';
import { startRiskService } from '../src/app.js';
import { KillSwitchView } from '../src/state/kill-switch-view.js';
import { MarketPrices } from '../src/state/market-prices.js';

const KEY = 'sim-key-risk';
const SECRET = 'sim-secret-risk';

interface SimOrder {
  clientOrderId: string;
  status: string;
}

/**
 * The pre-trade checks at the choke point, against the whole path: the gateway asks risk-service for
 * every order, risk-service judges it on the simulator's prices (the gateway's tickers) and on the
 * order events it reads from the stream, with the limits the migration seeds and operators change.
 */
describe('risk-service pre-trade checks, through the gateway to the simulator', () => {
  let stack: TradingStack;
  const api = apiClient(() => stack.gateway.url);
  const submit = (extra: Record<string, unknown> = {}): Promise<ApiReply> =>
    api('operator', 'POST', '/api/v1/orders', testOrder({ exchangeId: 'sim-risk', price: '59000', ...extra }));
  const setLimits = async (scope: string, changes: Record<string, unknown>, reason = 'pre-trade test') => {
    const res = await api('risk', 'POST', '/api/v1/risk/limits', { scope, changes, reason });
    if (res.status !== 200) throw new Error(`limits not set: ${JSON.stringify(res.body)}`);
    return res.body;
  };
  const venueOrders = async (): Promise<SimOrder[]> =>
    ((await (await fetch(`${stack.sim.venue('risk-venue').controlUrl}/state`)).json()) as { orders: SimOrder[] }).orders;
  const atVenue = async (clientOrderId: string) => (await venueOrders()).filter((o) => o.clientOrderId === clientOrderId);
  const faults = (body: Record<string, unknown> | null) => setFaults(stack.sim.venue('risk-venue').controlUrl, body);
  const price = (p: string) =>
    fetch(`${stack.sim.venue('risk-venue').controlUrl}/price`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ symbol: 'BTC/USDT', price: p }),
    });

  /** Every event of a type in the AUDIT stream, oldest first. */
  const events = async (def: EventDef): Promise<Envelope[]> => {
    const nc = stack.gateway.runtime.nc;
    const topology = stack.gateway.runtime.bus.topology;
    const filter = topology.subject(def);
    const { state } = await (await jetstreamManager(nc)).streams.info(topology.auditStream, { subjects_filter: filter });
    const found: Envelope[] = [];
    if ((state.subjects?.[filter] ?? 0) === 0) return found;
    const consumer = await jetstream(nc).consumers.get(topology.auditStream, { filter_subjects: filter });
    for (;;) {
      const msg = await consumer.next({ expires: 2000 });
      if (!msg) break;
      found.push(msg.json<Envelope>());
      if (msg.info.pending === 0) break;
    }
    return found;
  };
  const denialOf = async (clientOrderId: string) =>
    (await events(OrderDeniedEvt)).find((e) => (e.payload as { order: { clientOrderId: string } }).order.clientOrderId === clientOrderId);

  beforeAll(async () => {
    stack = await startTradingStack({
      label: 'risk-pretrade',
      venues: [
        {
          id: 'risk-venue',
          port: 0,
          tickIntervalMs: 0,
          accounts: [{ apiKey: KEY, secret: SECRET, balances: { USDT: '1000000', BTC: '10' } }],
          rateLimits: { ordersPer10Seconds: 1000, requestWeightPerMinute: 100_000 },
        },
      ],
      // The firm's limits as the migration seeds them (the venue tests widen them).
      defaultRiskLimits: true,
      gatewayEnv: { MARKET_DATA_POLL_MS: '200', ORDER_POLL_MS: '200', ORDER_TRACKER_INTERVAL_MS: '100', HEALTH_PROBE_MS: '30000' },
      accounts: [{ id: 'risk-main', exchangeId: 'sim-risk', venue: 'risk-venue', apiKey: KEY, secret: SECRET }],
    });
    await until(
      () => submit({ clientOrderId: 'warm-up', quantity: '0.001', price: '50000' }),
      (r) => r.status === 201,
      20_000,
    );
  }, 60_000);
  let restarted: RunningService | undefined;
  afterAll(async () => {
    await restarted?.close();
    await stack?.stop();
  });

  it('an order within the default limits is checked against the venue price, approved, and its approval is in the audit stream', async () => {
    const placed = await submit({ clientOrderId: 'ok-1', quantity: '0.01', price: '59500' });
    expect(placed).toMatchObject({ status: 201, body: { state: 'OPEN' } });
    const approved = (await events(OrderApprovedEvt)).find((e) => (e.payload as { order: { clientOrderId: string } }).order.clientOrderId === 'ok-1');
    expect(approved?.payload).toMatchObject({ order: { accountId: 'risk-main' }, referencePrice: '60000', notional: '595' });
    expect(approved?.correlationId).toBe('ok-1');
    // A market no order touched before: risk-service asks the gateway to poll it and waits for its first ticker.
    expect(stack.risk.app.get(MarketPrices).quote('sim-risk', 'ETH/USDT')).toBeUndefined();
    expect(await submit({ clientOrderId: 'eth-1', symbol: 'ETH/USDT', quantity: '0.01', price: '2900' })).toMatchObject({
      status: 201,
      body: { state: 'OPEN' },
    });
  });

  it('an order over the notional limit never reaches the simulator; its denial is in the audit stream with its code', async () => {
    await setLimits('firm', { maxOrderNotional: '1000' });
    const denied = await submit({ clientOrderId: 'too-much', quantity: '0.02', price: '59000' });
    expect(denied.status).toBe(422);
    expect(denied.body.error).toMatchObject({
      code: 'RISK_DENIED',
      details: { reason: 'ORDER_NOTIONAL_OVER_LIMIT', scope: 'firm', notional: '1180', limit: '1000' },
    });
    // A market order is judged at the reference price: 0.02 × 60000.
    const market = await submit({ clientOrderId: 'too-much-mkt', type: 'market', price: undefined, quantity: '0.02' });
    expect(market.body.error?.details).toMatchObject({ reason: 'ORDER_NOTIONAL_OVER_LIMIT', notional: '1200' });
    expect(await atVenue('too-much')).toEqual([]);
    expect(await atVenue('too-much-mkt')).toEqual([]);
    expect(await stack.sandbox.sql("SELECT 1 FROM gateway.venue_order WHERE client_order_id LIKE 'too-much%'")).toEqual([]);

    const denial = await until(
      () => denialOf('too-much'),
      (e) => e !== undefined,
    );
    expect(denial).toMatchObject({
      type: OrderDeniedEvt.type,
      correlationId: 'too-much',
      actor: { id: 'operator-person', role: 'operator' },
      payload: { reason: 'ORDER_NOTIONAL_OVER_LIMIT', scope: 'firm', context: { notional: '1180', limit: '1000', referencePrice: '60000' } },
    });
    expect(await (await fetch(`${stack.risk.url}/metrics`)).text()).toMatch(
      /^garde_risk_order_checks_total\{decision="DENIED",reason="ORDER_NOTIONAL_OVER_LIMIT",service="risk-service"\} 2$/m,
    );
    await setLimits('firm', { maxOrderNotional: '25000' });
    expect(await submit({ clientOrderId: 'enough-now', quantity: '0.02', price: '59000' })).toMatchObject({ status: 201 });
  });

  it('a stale reference price denies orders; fresh again, they pass', async () => {
    await setLimits('instrument:sim-risk:BTC/USDT', { maxReferenceAgeMs: 1500 });
    expect((await submit({ clientOrderId: 'fresh-1', quantity: '0.001', price: '58000' })).status).toBe(201);
    // The venue stops answering: the gateway's tickers stop, and the reference risk-service holds ages.
    await faults({ unavailable: true });
    const prices = stack.risk.app.get(MarketPrices);
    await until(
      () => Promise.resolve(Date.now() - (prices.quote('sim-risk', 'BTC/USDT')?.at ?? 0)),
      (ageMs) => ageMs > 1600,
      10_000,
      100,
    );
    const stale = await submit({ quantity: '0.001', price: '58001' });
    expect(stale.body.error).toMatchObject({
      code: 'RISK_DENIED',
      details: { reason: 'REFERENCE_PRICE_STALE', scope: 'instrument:sim-risk:BTC/USDT', limitMs: '1500' },
    });
    expect(Number(stale.body.error?.details?.ageMs)).toBeGreaterThan(1500);
    await faults(null);
    const fresh = await until(
      () => submit({ quantity: '0.001', price: '58002' }),
      (r) => r.status === 201,
      10_000,
      200,
    );
    expect(fresh.body).toMatchObject({ state: 'OPEN' });
    await setLimits('instrument:sim-risk:BTC/USDT', { maxReferenceAgeMs: null });
  });

  it('limits changed with bin/console while orders flow apply to the next order, on every replica, without restart', async () => {
    const replica = await startRiskService(stack.sandbox.env());
    try {
      const env = { GARDE_API_URL: stack.gateway.url, GARDE_TOKEN: TEST_TOKENS.risk };
      expect((await submit({ botId: 'bot-live', quantity: '0.01', price: '57000' })).status).toBe(201);
      const set = await runConsole(['risk:limits:set', '--scope=bot:bot-live', '--max-order-quantity=0.005', '--reason=bot-live sends too big'], env);
      expect(set).toMatchObject({ code: 0, stdout: expect.stringContaining('max-order-quantity: - -> 0.005') });
      // The next orders, whichever replica checks them, are held to the new limit.
      const next = await Promise.all(Array.from({ length: 6 }, (_, i) => submit({ botId: 'bot-live', quantity: '0.01', price: String(57001 + i) })));
      expect(next.map((r) => r.body.error?.details)).toEqual(
        Array(6).fill(expect.objectContaining({ reason: 'ORDER_QUANTITY_OVER_LIMIT', scope: 'bot:bot-live' })),
      );
      expect((await submit({ botId: 'bot-live', quantity: '0.005', price: '57010' })).status).toBe(201);

      const shown = await runConsole(['risk:limits:show', '--scope=bot:bot-live', '--history', '--json'], env);
      expect(JSON.parse(shown.stdout)).toMatchObject({
        scopes: [{ scope: 'bot:bot-live', version: 1, actor: { id: 'risk-person' }, reason: 'bot-live sends too big' }],
      });
      const table = await runConsole(['risk:limits:show'], { ...env, GARDE_TOKEN: TEST_TOKENS.viewer });
      expect(table.code).toBe(0);
      expect(table.stdout.split('\n')[2]).toMatch(/^firm +\d+ +25000 /);
      // Only the risk or admin role changes limits.
      const byOperator = await runConsole(['risk:limits:set', '--scope=firm', '--max-order-notional=1', '--reason=not mine'], {
        ...env,
        GARDE_TOKEN: TEST_TOKENS.operator,
      });
      expect(byOperator).toMatchObject({ code: 1, stderr: expect.stringContaining('FORBIDDEN') });
      const bad = await runConsole(['risk:limits:set', '--scope=instrument:sim-risk:BTC/USDT', '--max-messages-per-second=3', '--reason=not there'], env);
      expect(bad).toMatchObject({ code: 2, stderr: expect.stringContaining('maxMessagesPerSecond cannot be set on an instrument scope') });
    } finally {
      await replica.close();
    }
  });

  it('open orders count from their approval and are released when cancelled', async () => {
    // 0.01 BTC a resting buy, valued at the reference 60000: 600 each.
    await setLimits('bot:bot-x', { maxOpenNotional: '1500' });
    for (const [i, id] of ['x-1', 'x-2'].entries())
      expect((await submit({ clientOrderId: id, botId: 'bot-x', quantity: '0.01', price: String(50000 + i) })).status).toBe(201);
    const third = await submit({ clientOrderId: 'x-3', botId: 'bot-x', quantity: '0.01', price: '50002' });
    expect(third.body.error?.details).toMatchObject({ reason: 'OPEN_NOTIONAL_OVER_LIMIT', scope: 'bot:bot-x', before: '1200', after: '1800', limit: '1500' });
    expect((await api('operator', 'POST', '/api/v1/orders/x-1/cancel', { reason: 'make room' })).body).toMatchObject({ state: 'CANCELED' });
    const again = await until(
      () => submit({ clientOrderId: 'x-3', botId: 'bot-x', quantity: '0.01', price: '50002' }),
      (r) => r.status === 201,
    );
    expect(again.body).toMatchObject({ clientOrderId: 'x-3', state: 'OPEN' });
  });

  it('REDUCING lets through only what shrinks the position the bot holds from its fills', async () => {
    expect((await submit({ clientOrderId: 'r-buy', botId: 'bot-r', type: 'market', price: undefined, quantity: '0.002' })).body).toMatchObject({
      state: 'FILLED',
    });
    const act = await api('operator', 'POST', '/api/v1/kill-switch/activate', { scope: 'bot:bot-r', reason: 'reduce only drill', state: 'REDUCING' });
    expect(act.status).toBe(200);
    await until(
      () => Promise.resolve(stack.risk.app.get(KillSwitchView).effective({ exchangeId: 'sim-risk', botId: 'bot-r' }).state),
      (state) => state === 'REDUCING',
    );
    const tooMuch = await submit({ botId: 'bot-r', side: 'sell', type: 'market', price: undefined, quantity: '0.003', reduceOnly: true });
    expect(tooMuch.body.error?.details).toMatchObject({ reason: 'KILL_SWITCH_REDUCING', scope: 'bot:bot-r', position: '0.002' });
    const wrongSide = await submit({ botId: 'bot-r', side: 'buy', quantity: '0.001', price: '59000', reduceOnly: true });
    expect(wrongSide.body.error?.details).toMatchObject({ reason: 'KILL_SWITCH_REDUCING' });
    expect((await submit({ botId: 'bot-r', side: 'sell', type: 'market', price: undefined, quantity: '0.002', reduceOnly: true })).body).toMatchObject({
      state: 'FILLED',
    });
    expect((await api('risk', 'POST', '/api/v1/kill-switch/deactivate', { scope: 'bot:bot-r', reason: 'drill over' })).status).toBe(200);
  });

  it('a bot repeating an order, or sending more than its message rate, is denied', async () => {
    expect((await submit({ clientOrderId: 'd-1', botId: 'bot-d', quantity: '0.001', price: '55000' })).status).toBe(201);
    const dup = await submit({ clientOrderId: 'd-2', botId: 'bot-d', quantity: '0.001', price: '55000' });
    expect(dup.body.error?.details).toMatchObject({ reason: 'DUPLICATE_ORDER', duplicateOf: 'd-1' });
    // The same client order id again is the same order: the gateway answers it, nothing new is sent.
    expect((await submit({ clientOrderId: 'd-1', botId: 'bot-d', quantity: '0.001', price: '55000' })).body).toMatchObject({
      clientOrderId: 'd-1',
      state: 'OPEN',
    });

    await setLimits('bot:bot-m', { maxMessagesPerSecond: 2 });
    const burst = await Promise.all([0, 1, 2].map((i) => submit({ botId: 'bot-m', quantity: '0.001', price: String(54000 + i) })));
    expect(burst.filter((r) => r.status === 201)).toHaveLength(2);
    expect(burst.find((r) => r.status !== 201)?.body.error?.details).toMatchObject({ reason: 'MESSAGE_RATE_OVER_LIMIT', scope: 'bot:bot-m', limit: '2' });
  });

  it('risk-service down or too slow: the gateway refuses the order and nothing reaches the venue; restarted, it counts what was open', async () => {
    const before = (await venueOrders()).length;
    await stack.risk.close();
    const down = await submit({ clientOrderId: 'no-risk' });
    expect(down.body.error?.code).toBe('UNAVAILABLE');

    // A risk-service that answers too late (after the gateway's RISK_CHECK_TIMEOUT_MS).
    const nc = stack.gateway.runtime.nc;
    const topology = stack.gateway.runtime.bus.topology;
    const slow = nc.subscribe(topology.subject(OrderCheckQry), {
      queue: topology.queueGroup('risk-service'),
      callback: (_err, msg) => {
        setTimeout(() => msg.respond(JSON.stringify({ ok: true, result: { decision: 'APPROVED' } })), 1500);
      },
    });
    try {
      const late = await submit({ clientOrderId: 'slow-risk' });
      expect(late.body.error?.code).toBe('TIMEOUT');
    } finally {
      slow.unsubscribe();
    }
    await new Promise((r) => setTimeout(r, 1600));
    expect((await venueOrders()).length).toBe(before);
    expect(await stack.sandbox.sql("SELECT 1 FROM gateway.venue_order WHERE client_order_id IN ('no-risk', 'slow-risk')")).toEqual([]);

    // A new risk-service rebuilds what counts from the stream: bot-x's two open orders still fill its limit.
    restarted = await startRiskService(stack.sandbox.env());
    const after = await until(
      () => submit({ clientOrderId: 'x-4', botId: 'bot-x', quantity: '0.01', price: '50004' }),
      (r) => r.status !== 503 && r.status !== 504,
      15_000,
    );
    expect(after.body.error?.details).toMatchObject({ reason: 'OPEN_NOTIONAL_OVER_LIMIT', before: '1200', after: '1800' });
    // And the price moves: exposure follows the reference.
    await price('40000');
    const cheaper = await until(
      () => submit({ clientOrderId: 'x-4', botId: 'bot-x', quantity: '0.01', price: '39000' }),
      (r) => r.status === 201,
      10_000,
      200,
    );
    expect(cheaper.body).toMatchObject({ state: 'OPEN' });
    await price('60000');
  });
});
