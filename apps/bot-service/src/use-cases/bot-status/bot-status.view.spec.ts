import { describe, expect, it } from '@jest/globals';
import { BotStatus, type TickerView } from '@garde/contracts';
import { Decimal, gridOpenOrders, initialGridState, parseGridParameters, stepGrid, type GridParams } from '@garde/domain';
import type { BotRow } from '../../persistence/bot.entities.js';
import type { StoredFill } from '../../persistence/bot.repository.js';
import type { EngineState } from '../run-bot-step/run-bot-step.use-case.js';
import { botStatus, lastErrorView, markPrices, openOrdersView, positionView, type MarkPrice } from './bot-status.view.js';

const ticker = (extra: Partial<TickerView> = {}): TickerView => ({
  exchangeId: 'sim',
  symbol: 'BTC/USDT',
  bid: '59990',
  ask: '60010',
  last: '60000',
  venueTime: null,
  receivedAt: '2026-01-02T03:04:05.000Z',
  ageMs: 300,
  stale: false,
  ...extra,
});

const fill = (side: 'buy' | 'sell', price: string, quantity: string, fee: string, feeCurrency: string | null): StoredFill => ({
  side,
  price,
  quantity,
  fee,
  feeCurrency,
});
const LEGACY: StoredFill = { side: null, price: null, quantity: null, fee: null, feeCurrency: null };
const AT_60000: MarkPrice = { ok: true, price: Decimal.of('60000'), at: '2026-01-02T03:04:05.000Z' };

describe('markPrices', () => {
  it('gives the last price of a fresh ticker of the bot’s market', () => {
    const mark = markPrices({ ok: true, tickers: [ticker({ symbol: 'ETH/USDT', last: '3000' }), ticker()] });
    expect(mark('sim', 'BTC/USDT')).toEqual({ ok: true, price: Decimal.of('60000'), at: '2026-01-02T03:04:05.000Z' });
  });

  it('gives no price, and says why, for a stale ticker, a missing one, one without a last price, or no answer', () => {
    const mark = markPrices({ ok: true, tickers: [ticker({ stale: true, ageMs: 42_000 }), ticker({ symbol: 'ETH/USDT', last: null })] });
    expect(mark('sim', 'BTC/USDT')).toEqual({ ok: false, why: 'no mark price: the ticker for BTC/USDT on sim is stale (42 s old)' });
    expect(mark('sim', 'ETH/USDT')).toEqual({ ok: false, why: 'no mark price: the ticker for ETH/USDT on sim has no last price' });
    expect(mark('other', 'BTC/USDT')).toMatchObject({ ok: false, why: expect.stringContaining('no ticker for BTC/USDT on other') });
    const none = markPrices({ ok: false, why: 'TIMEOUT: gateway.qry.market.tickers got no answer within 1000 ms' });
    expect(none('sim', 'BTC/USDT')).toEqual({ ok: false, why: 'no mark price: TIMEOUT: gateway.qry.market.tickers got no answer within 1000 ms' });
  });
});

describe('positionView', () => {
  // The simulator's round trip: a buy paying its fee in base, then the sell of what it brought, paying in quote.
  const roundTrip = [fill('buy', '59500', '0.001', '0.000001', 'BTC'), fill('sell', '60000', '0.000999', '0.05994', 'USDT')];

  it('sums the fills into quantity, average entry, realized PnL and fees per currency', () => {
    const view = positionView('BTC/USDT', [...roundTrip, fill('buy', '59000', '0.002', '0.000002', 'BTC')], AT_60000);
    expect(view).toEqual({
      baseCurrency: 'BTC',
      quoteCurrency: 'USDT',
      quantity: '0.001998',
      averagePrice: '59059.059059059059',
      realizedPnl: '0.38006',
      unrealizedPnl: '1.88',
      unrealizedPnlNote: null,
      markPrice: '60000',
      markPriceAt: '2026-01-02T03:04:05.000Z',
      fees: { BTC: '0.000003', USDT: '0.05994' },
      fillCount: 3,
      fillsWithoutDetails: 0,
    });
  });

  it('shows no unrealized PnL without a mark price, with the reason; a flat position has none to show', () => {
    const none: MarkPrice = { ok: false, why: 'no mark price: stale' };
    expect(positionView('BTC/USDT', roundTrip.slice(0, 1), none)).toMatchObject({
      quantity: '0.000999',
      unrealizedPnl: null,
      unrealizedPnlNote: 'no mark price: stale',
      markPrice: null,
    });
    expect(positionView('BTC/USDT', roundTrip, none)).toMatchObject({ quantity: '0', unrealizedPnl: '0', unrealizedPnlNote: null, averagePrice: null });
  });

  it('counts, and leaves out, the fills recorded before their details were kept', () => {
    expect(positionView('BTC/USDT', [LEGACY, ...roundTrip, LEGACY], AT_60000)).toMatchObject({ realizedPnl: '0.38006', fillCount: 2, fillsWithoutDetails: 2 });
  });
});

describe('openOrdersView', () => {
  const params = parseGridParameters({ lower: '59000', upper: '61000', levels: 5, orderSize: '0.001' });
  const grid = (params as { params: GridParams }).params;
  const first = stepGrid(grid, {
    state: initialGridState('g', 'BTC/USDT'),
    market: { symbol: 'BTC/USDT', bid: Decimal.of('60000'), ask: Decimal.of('60000'), last: Decimal.of('60000'), at: 0 },
  });

  it('counts the orders the strategy holds open, once each, and those not sent yet', () => {
    const open = gridOpenOrders(first.state);
    expect(open.length).toBeGreaterThan(0);
    const outbox = [
      { kind: 'place' as const, clientOrderId: open[0]!, side: 'buy' as const, type: 'market' as const, quantity: '0.002', reduceOnly: false },
      { kind: 'cancel' as const, clientOrderId: 'g-old' },
    ];
    const engine: EngineState = { strategy: first.state, outbox, refused: [] };
    expect(openOrdersView('grid', engine, 3)).toEqual({ count: open.length, unsent: 1, unsentCancels: 1, atGateway: 3 });
    expect(openOrdersView('grid', null, null)).toEqual({ count: 0, unsent: 0, unsentCancels: 0, atGateway: null });
  });
});

describe('lastErrorView', () => {
  const failure = { reason: 'strategy grid failed: UNTRADABLE', at: new Date('2026-01-02T10:00:00.000Z') };
  const engine = (at: string): EngineState => ({
    strategy: {},
    outbox: [],
    refused: [],
    errors: [
      { at: Date.parse('2026-01-02T09:00:00.000Z'), what: 'older' },
      { at: Date.parse(at), what: 'order g-1 rejected by the venue: InsufficientFunds' },
    ],
  });

  it('gives the later of the ERROR cause and the latest engine error', () => {
    expect(lastErrorView({ engine: engine('2026-01-02T09:30:00.000Z'), lastFailure: failure })).toEqual({
      source: 'state',
      message: 'strategy grid failed: UNTRADABLE',
      at: '2026-01-02T10:00:00.000Z',
    });
    expect(lastErrorView({ engine: engine('2026-01-02T11:00:00.000Z'), lastFailure: failure })).toEqual({
      source: 'engine',
      message: 'order g-1 rejected by the venue: InsufficientFunds',
      at: '2026-01-02T11:00:00.000Z',
    });
    expect(lastErrorView({ engine: null, lastFailure: null })).toBeNull();
  });
});

describe('botStatus', () => {
  it('is a contract-valid status, the bot’s own fields unchanged', () => {
    const row: BotRow = {
      id: 'g',
      name: 'grid',
      strategy: 'grid',
      parameters: {},
      exchangeId: 'sim',
      symbol: 'BTC/USDT',
      state: 'RUNNING',
      stateReason: 'go',
      stateActor: 'alice',
      stateSince: new Date('2026-01-02T00:00:00.000Z'),
      createdAt: new Date('2026-01-01T00:00:00.000Z'),
      version: 2,
    };
    const status = botStatus(row, { engine: null, fills: [fill('sell', '60000', '0.5', '0', null)], lastFailure: null }, AT_60000, 0);
    expect(BotStatus.parse(status)).toEqual(status);
    expect(status).toMatchObject({ id: 'g', state: 'RUNNING', position: { quantity: '-0.5', averagePrice: '60000', unrealizedPnl: '0' }, lastError: null });
  });
});
