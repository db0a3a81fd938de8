import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import {
  KillSwitchActivatedEvt,
  KillSwitchDeactivateCmd,
  KillSwitchStatusQry,
  OrderAcceptedEvt,
  OrderDeniedEvt,
  OrderFilledEvt,
  RiskExposureReportQry,
  RiskLimitsSetCmd,
  TickerUpdatedMd,
  tickerKey,
  type Actor,
  type Envelope,
  type EventDef,
  type ExposureReport,
  type Fill,
  type KillSwitchChange,
  type Order,
  type ScopeState,
} from '@garde/contracts';
import type { RunningService } from '@garde/platform';
import { createSandbox, runConsole, testOrder, until, type TestSandbox } from '@garde/testing';
import { TEST_API_TOKENS, TEST_TOKENS, apiClient } from '../../exchange-gateway/test/api-client.js';
import { startExchangeGateway } from '../../exchange-gateway/src/app.js';
import { startRiskService } from '../src/app.js';
import { GetExposureReport } from '../src/use-cases/get-exposure-report/get-exposure-report.use-case.js';

const rita: Actor = { id: 'rita', kind: 'operator', role: 'risk' };

/**
 * Positions and PnL from the fills in the AUDIT stream, the exposure report (bus, HTTP, console), and
 * the automatic kill switch (loss limits and runaway bots), against real NATS and PostgreSQL. The
 * gateway's events are published here as the gateway would publish them; prices are its ticker broadcasts.
 */
describe('risk-service positions, PnL, exposure report and automatic kill switch', () => {
  let sandbox: TestSandbox;
  let risk: RunningService;
  let replica: RunningService | undefined;
  let gateway: RunningService;
  const bus = () => risk.runtime.bus;
  const api = apiClient(() => gateway.url);
  let seq = 0;

  beforeAll(async () => {
    sandbox = await createSandbox('risk-exposure');
    risk = await startRiskService(sandbox.env({ PNL_MARK_INTERVAL_MS: '200' }));
    gateway = await startExchangeGateway(sandbox.env({ GARDE_API_TOKENS: TEST_API_TOKENS }));
  }, 60_000);
  afterAll(async () => {
    await gateway?.close();
    await replica?.close();
    await risk?.close();
    await sandbox?.dispose();
  });

  const order = (o: Pick<Order, 'botId' | 'exchangeId' | 'symbol' | 'side' | 'quantity'> & Partial<Order>): Order => {
    seq += 1;
    const now = new Date().toISOString();
    return {
      clientOrderId: `o-${seq}`,
      venueOrderId: `v-${seq}`,
      accountId: `acct-${o.exchangeId}`,
      type: 'limit',
      price: null,
      state: 'FILLED',
      filled: o.quantity,
      lastError: null,
      createdAt: now,
      updatedAt: now,
      ...o,
    };
  };
  /** A fill as the gateway publishes it; `agoMs` back in time (a ticker after it is then the younger price). */
  const fill = async (o: Order, f: Pick<Fill, 'price' | 'quantity'> & Partial<Fill>, agoMs = 2000): Promise<Fill> => {
    seq += 1;
    const full: Fill = { tradeId: `tr-${seq}`, fee: '0', feeCurrency: null, at: new Date(Date.now() - agoMs).toISOString(), ...f };
    await bus().publish(OrderFilledEvt, { order: o, fill: full }, { correlationId: o.clientOrderId });
    return full;
  };
  /** The latest price broadcast per market. */
  const prices = new Map<string, { exchangeId: string; symbol: string; price: string }>();
  /** A ticker as the gateway broadcasts it (every second for a market in use; here when a test says). */
  const ticker = (exchangeId: string, symbol: string, price: string) => {
    prices.set(tickerKey(exchangeId, symbol), { exchangeId, symbol, price });
    bus().broadcast(
      TickerUpdatedMd,
      { exchangeId, symbol, bid: price, ask: price, last: price, tickSize: '0.01', stepSize: '0.0001', venueTime: null, receivedAt: new Date().toISOString() },
      tickerKey(exchangeId, symbol),
    );
  };
  /** Every market's latest price again (a replica started since has seen none of them). */
  const tickAgain = () => [...prices.values()].forEach((p) => ticker(p.exchangeId, p.symbol, p.price));
  /** The report through the bus (any replica answers), or from one replica's own use case. */
  const report = async (query: { botId?: string; exchangeId?: string } = {}, service?: RunningService): Promise<ExposureReport> => {
    if (service) return service.app.get(GetExposureReport).execute(query);
    const reply = await bus().request(RiskExposureReportQry, query);
    if (!reply.ok) throw new Error(`${reply.error.code}: ${reply.error.message}`);
    return reply.result;
  };
  const setLimits = async (scope: string, changes: Record<string, unknown>) => {
    const reply = await bus().request(RiskLimitsSetCmd, { scope, changes, reason: 'exposure test' }, { actor: rita });
    if (!reply.ok) throw new Error(reply.error.message);
  };
  const scopeState = async (scope: string): Promise<ScopeState | undefined> => {
    const reply = await bus().request(KillSwitchStatusQry, { scope });
    return reply.ok ? reply.result.scopes.find((s) => s.scope === scope) : undefined;
  };
  const haltedSoon = (scope: string, timeoutMs = 10_000) =>
    until(
      () => scopeState(scope),
      (s) => s?.state === 'HALTED',
      timeoutMs,
      100,
    );
  /** Every event of a type in the AUDIT stream, oldest first. */
  const events = async (def: EventDef): Promise<Envelope[]> => {
    const nc = risk.runtime.nc;
    const topology = bus().topology;
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
  const activationsOf = async (scope: string) => (await events(KillSwitchActivatedEvt)).filter((e) => (e.payload as KillSwitchChange).current.scope === scope);
  const metric = async (service: RunningService, line: RegExp): Promise<number> => {
    const text = await (await fetch(`${service.url}/metrics`)).text();
    return Number(line.exec(text)?.[1] ?? 0);
  };

  it('fills move positions and PnL (average cost, fees in quote, base and apart), open orders count, each fill once; shown by bus, HTTP and console', async () => {
    const bot = { botId: 'pnl-1', exchangeId: 'ex-pnl', symbol: 'BTC/USDT' };
    const buy1 = order({ ...bot, side: 'buy', quantity: '0.1', price: '60000' });
    const first = await fill(buy1, { price: '60000', quantity: '0.1', fee: '0.6', feeCurrency: 'USDT' });
    // The same execution published again (another message): applied once.
    await bus().publish(OrderFilledEvt, { order: buy1, fill: first });
    await fill(order({ ...bot, side: 'buy', quantity: '0.1', price: '62000' }), { price: '62000', quantity: '0.1', fee: '0.0001', feeCurrency: 'BTC' });
    await fill(order({ ...bot, side: 'sell', quantity: '0.05', price: '63000' }), { price: '63000', quantity: '0.05', fee: '0.01', feeCurrency: 'BNB' });
    // An open buy of the bot, and a manual order's fill on the same market.
    await bus().publish(OrderAcceptedEvt, order({ ...bot, side: 'buy', quantity: '0.02', price: '59000', state: 'OPEN', filled: '0' }));
    await fill(order({ ...bot, botId: null, side: 'sell', quantity: '0.01', price: '61500' }), { price: '61500', quantity: '0.01' });
    ticker('ex-pnl', 'BTC/USDT', '61000');

    const shown = await until(
      () => report({ botId: 'pnl-1' }),
      (r) => r.positions[0]?.markSource === 'market' && r.positions[0]?.openBuy === '0.02',
      10_000,
      100,
    );
    // Average cost 61000 after both buys; the sell realizes 0.05 × (63000 − 61000) = 100; fees 0.6 + 0.0001 × 62000.
    expect(shown.positions).toEqual([
      {
        botId: 'pnl-1',
        exchangeId: 'ex-pnl',
        symbol: 'BTC/USDT',
        quote: 'USDT',
        quantity: '0.15',
        averageCost: '61000',
        markPrice: '61000',
        markSource: 'market',
        notional: '9150',
        openBuy: '0.02',
        openSell: '0',
        openOrderNotional: '1220',
        realizedPnl: '100',
        unrealizedPnl: '0',
        fees: '6.8',
        unpricedFees: { BNB: '0.01' },
        equity: '93.2',
      },
    ]);
    expect(shown.bots).toMatchObject([
      {
        botId: 'pnl-1',
        realizedPnl: '100',
        fees: '6.8',
        equity: '93.2',
        // At the sell's fill (marked at 63000): 100 + 0.15 × 63000 − 9150 − 6.8.
        peak: '393.2',
        drawdown: { value: '300', limit: null, utilizationPercent: null },
        fillsLastMinute: { value: '3', limit: null },
        killSwitch: 'ACTIVE',
        currency: 'USDT',
      },
    ]);
    // The firm: everyone (the manual sell too), whatever the filter; against the firm's exposure limit (250,000 seeded).
    expect(shown.firm).toMatchObject({ realizedPnl: '100', unrealizedPnl: '5', equity: '98.2', killSwitch: 'ACTIVE' });
    expect(shown.firm.exposure).toMatchObject({ limit: '250000', limitScope: 'firm' });
    expect(Number(shown.firm.exposure.utilizationPercent)).toBeGreaterThan(0);
    const manual = await report({ exchangeId: 'ex-pnl' });
    expect(manual.positions.map((p) => [p.botId, p.quantity])).toEqual([
      ['pnl-1', '0.15'],
      [null, '-0.01'],
    ]);
    expect(manual.bots.map((b) => b.botId)).toEqual(['pnl-1', null]);
    expect(manual.exchanges).toMatchObject([{ exchangeId: 'ex-pnl', realizedPnl: '100', unrealizedPnl: '5' }]);
    expect((await report({ exchangeId: 'elsewhere' })).positions).toEqual([]);
    // A query that breaks its contract reaches no use case.
    const bad = bus().envelope(RiskExposureReportQry.type, RiskExposureReportQry.schemaVersion, { botId: 'not an id' });
    const answer = await risk.runtime.nc.request(bus().topology.subject(RiskExposureReportQry), JSON.stringify(bad), { timeout: 2000 });
    expect(answer.json()).toMatchObject({ ok: false, error: { code: 'CONTRACT_VIOLATION', message: expect.stringContaining('botId') } });

    // The same through the gateway (viewer role) and the console.
    const http = await api('viewer', 'GET', '/api/v1/risk/exposure?bot=pnl-1');
    expect(http.status).toBe(200);
    expect(http.body).toMatchObject({ botId: 'pnl-1', positions: shown.positions });
    expect(await api(undefined, 'GET', '/api/v1/risk/exposure')).toMatchObject({ status: 401 });
    expect(await api('viewer', 'GET', '/api/v1/risk/exposure?bot=not%20an%20id')).toMatchObject({
      status: 400,
      body: { error: { code: 'CONTRACT_VIOLATION' } },
    });
    const env = { GARDE_API_URL: gateway.url, GARDE_TOKEN: TEST_TOKENS.viewer };
    const json = await runConsole(['risk:exposure:report', '--bot=pnl-1', '--json'], env);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ positions: shown.positions });
    const table = await runConsole(['risk:exposure:report', '--exchange=ex-pnl'], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^pnl-1 +ex-pnl +BTC\/USDT +0\.15 +61,000\.00 +61000 +9,150\.00 +0\.02 +0 +1,220\.00 +100\.00 +0\.00 +6\.80 +93\.20$/m);
    expect(table.stdout).toContain('exposure        ');
    expect((await runConsole(['risk:exposure:report', '--bot=a b'], env)).code).toBe(2);
  });

  it('a drawdown past the bot limit halts bot:<id> by itself, once with two replicas, naming the trigger and the figures; it stays until the limit allows', async () => {
    await setLimits('bot:dd-1', { maxDrawdown: '50' });
    // A second replica rebuilds the positions from the stream and judges the same events.
    replica = await startRiskService(sandbox.env({ PNL_MARK_INTERVAL_MS: '200' }));
    expect((await report({ botId: 'pnl-1' }, replica)).positions.map((p) => [p.quantity, p.realizedPnl, p.fees])).toEqual([['0.15', '100', '6.8']]);

    await fill(order({ botId: 'dd-1', exchangeId: 'ex-dd', symbol: 'ETH/USDT', side: 'buy', quantity: '1' }), { price: '1000', quantity: '1' });
    ticker('ex-dd', 'ETH/USDT', '1020');
    await until(
      () => Promise.all([report({ botId: 'dd-1' }, risk), report({ botId: 'dd-1' }, replica)]),
      (rs) => rs.every((r) => r.bots[0]?.peak === '20'),
      10_000,
      100,
    );
    expect((await scopeState('bot:dd-1'))?.state ?? 'ACTIVE').toBe('ACTIVE');

    ticker('ex-dd', 'ETH/USDT', '960');
    const halted = await haltedSoon('bot:dd-1');
    expect(halted).toMatchObject({
      state: 'HALTED',
      actor: { id: 'risk-service', kind: 'system' },
      reason: 'automatic: drawdown 60.00 USDT from peak 20.00 (equity -40.00) exceeds maxDrawdown 50 for bot:dd-1',
    });
    await new Promise((r) => setTimeout(r, 1000));
    // One activation, whichever replica made it: one event, one history row, one count.
    expect(await activationsOf('bot:dd-1')).toHaveLength(1);
    expect(await sandbox.sql("SELECT to_state FROM risk.kill_switch_change WHERE scope = 'bot:dd-1'")).toEqual([{ to_state: 'HALTED' }]);
    const counted = /^garde_risk_auto_kill_switch_activations_total\{trigger="drawdown",scope_kind="bot",service="risk-service"\} (\d+)$/m;
    expect((await metric(risk, counted)) + (await metric(replica, counted))).toBe(1);
    expect(await metric(risk, /^garde_risk_limit_utilization_ratio\{scope_kind="bot",limit="max_drawdown",service="risk-service"\} ([\d.]+)$/m)).toBeCloseTo(
      1.2,
    );
    const shown = await report({ botId: 'dd-1' }, risk);
    expect(shown.bots[0]).toMatchObject({
      equity: '-40',
      peak: '20',
      drawdown: { value: '60', limit: '50', limitScope: 'bot:dd-1', utilizationPercent: '120.00' },
      killSwitch: 'HALTED',
    });

    // Deactivated while the drawdown is still beyond the limit: halted again at once (never left to trade past it).
    const deactivate = () => bus().request(KillSwitchDeactivateCmd, { scope: 'bot:dd-1', reason: 'trying to resume' }, { actor: rita });
    expect(await deactivate()).toMatchObject({ ok: true, result: { changed: true } });
    expect(await haltedSoon('bot:dd-1')).toMatchObject({ actor: { id: 'risk-service' }, reason: expect.stringContaining('exceeds maxDrawdown 50') });
    // The limit raised by the risk role, then deactivated: it stays ACTIVE.
    await setLimits('bot:dd-1', { maxDrawdown: '100' });
    expect(await deactivate()).toMatchObject({ ok: true, result: { changed: true } });
    await new Promise((r) => setTimeout(r, 1000));
    expect((await scopeState('bot:dd-1'))?.state).toBe('ACTIVE');
    expect(await activationsOf('bot:dd-1')).toHaveLength(2);
  });

  it('a runaway bot (fills or counted denials within a minute beyond its limit) is halted; kill-switch and stale-price denials do not count', async () => {
    await setLimits('bot:rw-fills', { maxFillsPerMinute: 3 });
    await setLimits('firm', { maxDenialsPerMinute: 2 });
    const base = { botId: 'rw-fills', exchangeId: 'ex-rw', symbol: 'BTC/USDT' } as const;
    for (let i = 0; i < 3; i++) await fill(order({ ...base, side: i % 2 ? 'sell' : 'buy', quantity: '0.001' }), { price: '60000', quantity: '0.001' }, 0);
    await new Promise((r) => setTimeout(r, 500));
    expect((await scopeState('bot:rw-fills'))?.state ?? 'ACTIVE').toBe('ACTIVE');
    await fill(order({ ...base, side: 'sell', quantity: '0.001' }), { price: '60000', quantity: '0.001' }, 0);
    expect(await haltedSoon('bot:rw-fills')).toMatchObject({
      reason: 'automatic: runaway bot: 4 fills in the last minute exceeds maxFillsPerMinute 3 for bot:rw-fills',
    });

    const deny = (reason: 'KILL_SWITCH_HALTED' | 'REFERENCE_PRICE_STALE' | 'MESSAGE_RATE_OVER_LIMIT') =>
      bus().publish(OrderDeniedEvt, { order: testOrder({ botId: 'rw-denied', exchangeId: 'ex-rw' }), reason, message: 'test', context: {} });
    for (let i = 0; i < 3; i++) await deny('KILL_SWITCH_HALTED');
    await deny('REFERENCE_PRICE_STALE');
    await deny('MESSAGE_RATE_OVER_LIMIT');
    await deny('MESSAGE_RATE_OVER_LIMIT');
    await new Promise((r) => setTimeout(r, 500));
    expect((await scopeState('bot:rw-denied'))?.state ?? 'ACTIVE').toBe('ACTIVE');
    expect((await report({ botId: 'rw-denied' })).bots[0]?.deniedLastMinute).toEqual({
      value: '2',
      limit: '2',
      limitScope: 'firm',
      utilizationPercent: '100.00',
    });
    await deny('MESSAGE_RATE_OVER_LIMIT');
    expect(await haltedSoon('bot:rw-denied')).toMatchObject({
      actor: { id: 'risk-service', kind: 'system' },
      reason: 'automatic: runaway bot: 3 orders denied in the last minute exceeds maxDenialsPerMinute 2 (firm) for bot:rw-denied',
    });
  });

  it("the firm's loss of the day beyond maxDailyLoss halts the global scope", async () => {
    await fill(order({ botId: 'day-1', exchangeId: 'ex-day', symbol: 'SOL/USDT', side: 'buy', quantity: '10' }), { price: '100', quantity: '10' });
    ticker('ex-day', 'SOL/USDT', '100');
    // Both replicas on the same prices (the second one started after the first tickers).
    tickAgain();
    const [before] = await until(
      () => Promise.all([report({}, risk), report({}, replica)]),
      (rs) => rs.every((r) => r.positions.every((p) => p.markSource === 'market' || p.quantity === '0')) && rs[0].firm.equity === rs[1].firm.equity,
      10_000,
      100,
    );
    const dailyPnl = Number(before.firm.dailyPnl);
    await setLimits('firm', { maxDailyLoss: '30' });
    // −20 × 10 = −200 more today.
    ticker('ex-day', 'SOL/USDT', '80');
    const halted = await haltedSoon('global');
    expect(halted?.reason).toMatch(/^automatic: daily loss [\d,.]+ USDT since 00:00 UTC exceeds maxDailyLoss 30 for the firm$/);
    expect(Number(/daily loss ([\d,.]+)/.exec(halted!.reason)![1]!.replaceAll(',', ''))).toBeCloseTo(200 - dailyPnl, 2);
    expect(await metric(risk, /^garde_risk_kill_switch_global_halted\{service="risk-service"\} (\d+)$/m)).toBe(1);
  });
});
