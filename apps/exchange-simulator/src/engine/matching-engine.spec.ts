import { describe, expect, it } from '@jest/globals';
import { Decimal } from '@garde/domain';
import fc from 'fast-check';
import { MatchingEngine, type PlaceOrderRequest } from './matching-engine.js';
import { DEFAULT_SYMBOLS, toSymbolSpec } from './symbols.js';
import { VenueError } from './types.js';

const d = (v: string) => Decimal.of(v);
const FLAGS = { neverFill: false, unreported: false };

function engine(options: { held?: boolean; maxFill?: string } = {}) {
  const symbols = DEFAULT_SYMBOLS.map((s) => toSymbolSpec(s.symbol === 'BTC/USDT' && options.maxFill ? { ...s, maxFillQtyPerTick: options.maxFill } : s));
  const e = new MatchingEngine({
    symbols,
    makerFee: d('0.001'),
    takerFee: d('0.002'),
    clock: () => 1_700_000_000_000,
    isHeld: (o) => o.neverFill && options.held === true,
  });
  e.ledger.open('k', { USDT: '100000', BTC: '1' });
  return e;
}

const limit = (side: 'BUY' | 'SELL', quantity: string, price: string, clientOrderId = `c-${side}-${price}`): PlaceOrderRequest => ({
  symbol: 'BTCUSDT',
  side,
  type: 'LIMIT',
  quantity: d(quantity),
  price: d(price),
  clientOrderId,
});

const bal = (e: MatchingEngine, asset: string) => {
  const b = e.ledger.balance('k', asset);
  return { free: b.free.toString(), locked: b.locked.toString() };
};

function code(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof VenueError) return err.code;
    throw err;
  }
  return undefined;
}

describe('MatchingEngine', () => {
  it('rests a limit buy with its quote locked, then fills it at the limit price as maker when the price crosses', () => {
    const e = engine();
    const { order, trades } = e.placeOrder('k', limit('BUY', '0.01', '59000.00'), FLAGS);
    expect(trades).toEqual([]);
    expect(order.status).toBe('NEW');
    expect(bal(e, 'USDT')).toEqual({ free: '99410', locked: '590' });

    expect(e.setPrice('BTCUSDT', d('59500.00'))).toEqual([]);
    const [fill] = e.setPrice('BTCUSDT', d('58900.00'));
    expect(fill).toMatchObject({ isMaker: true, commissionAsset: 'BTC' });
    expect(fill!.price.toString()).toBe('59000');
    expect(fill!.commission.toString()).toBe('0.00001'); // 0.01 × 0.1 %
    expect(order.status).toBe('FILLED');
    expect(bal(e, 'USDT')).toEqual({ free: '99410', locked: '0' });
    expect(bal(e, 'BTC')).toEqual({ free: '1.00999', locked: '0' });
  });

  it('fills a market sell at once at the current price as taker, fee in quote', () => {
    const e = engine();
    const { order, trades } = e.placeOrder('k', { symbol: 'BTCUSDT', side: 'SELL', type: 'MARKET', quantity: d('0.5'), clientOrderId: 'm1' }, FLAGS);
    expect(order.status).toBe('FILLED');
    expect(trades[0]!.quoteQty.toString()).toBe('30000');
    expect(trades[0]!.commission.toString()).toBe('60'); // 0.2 % taker
    expect(bal(e, 'USDT').free).toBe('129940');
    expect(bal(e, 'BTC').free).toBe('0.5');
  });

  it('buys by quote amount the whole lots it affords', () => {
    const e = engine();
    const { order } = e.placeOrder('k', { symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', quoteOrderQty: d('100'), clientOrderId: 'q1' }, FLAGS);
    expect(order.executedQty.toString()).toBe('0.00166'); // 100 / 60000 = 0.0016666… rounded down to the step
    expect(order.cummulativeQuoteQty.toString()).toBe('99.6');
  });

  it('fills a marketable limit at once at the better current price and returns the excess lock', () => {
    const e = engine();
    const { trades } = e.placeOrder('k', limit('BUY', '0.1', '61000.00'), FLAGS);
    expect(trades[0]!.price.toString()).toBe('60000');
    expect(trades[0]!.isMaker).toBe(false);
    expect(bal(e, 'USDT')).toEqual({ free: '94000', locked: '0' });
  });

  it('unlocks on cancel, and refuses to cancel twice', () => {
    const e = engine();
    const { order } = e.placeOrder('k', limit('SELL', '0.25', '65000.00'), FLAGS);
    expect(bal(e, 'BTC')).toEqual({ free: '0.75', locked: '0.25' });
    e.cancelOrder('k', 'BTCUSDT', { clientOrderId: order.clientOrderId });
    expect(bal(e, 'BTC')).toEqual({ free: '1', locked: '0' });
    expect(code(() => e.cancelOrder('k', 'BTCUSDT', { orderId: order.orderId }))).toBe(-2011);
  });

  it('refuses with Binance codes: filters, funds, duplicates, unknown symbol', () => {
    const e = engine();
    expect(code(() => e.placeOrder('k', limit('BUY', '0.01', '59000.005'), FLAGS))).toBe(-1013);
    expect(code(() => e.placeOrder('k', limit('BUY', '0.000001', '59000.00'), FLAGS))).toBe(-1013);
    expect(code(() => e.placeOrder('k', limit('BUY', '0.00005', '59000.00'), FLAGS))).toBe(-1013); // notional 2.95 < 5
    expect(code(() => e.placeOrder('k', limit('BUY', '2', '59000.00'), FLAGS))).toBe(-2010);
    expect(code(() => e.placeOrder('k', { symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', quantity: d('2'), clientOrderId: 'x' }, FLAGS))).toBe(-2010);
    e.placeOrder('k', limit('BUY', '0.01', '59000.00', 'dup'), FLAGS);
    expect(code(() => e.placeOrder('k', limit('BUY', '0.01', '58000.00', 'dup'), FLAGS))).toBe(-2010);
    expect(code(() => e.placeOrder('k', { ...limit('BUY', '0.01', '1.00'), symbol: 'DOGEUSDT' }, FLAGS))).toBe(-1121);
    expect(e.allOrders('k')).toHaveLength(1);
  });

  it('fills partially when the venue limits liquidity per price update', () => {
    const e = engine({ maxFill: '0.04' });
    const { order } = e.placeOrder('k', limit('BUY', '0.1', '59000.00'), FLAGS);
    e.setPrice('BTCUSDT', d('58000.00'));
    expect(order.status).toBe('PARTIALLY_FILLED');
    e.setPrice('BTCUSDT', d('58000.00'));
    e.setPrice('BTCUSDT', d('58000.00'));
    expect(order.status).toBe('FILLED');
    expect(e.allTrades('k').map((t) => t.qty.toString())).toEqual(['0.04', '0.04', '0.02']);
  });

  it('holds a neverFill order while the fault lasts', () => {
    const e = engine({ held: true });
    const { order } = e.placeOrder('k', limit('BUY', '0.01', '61000.00'), { neverFill: true, unreported: false });
    e.setPrice('BTCUSDT', d('50000.00'));
    expect(order.status).toBe('NEW');
  });
});

describe('MatchingEngine properties', () => {
  type Op =
    | { kind: 'limit'; side: 'BUY' | 'SELL'; qty: number; price: number }
    | { kind: 'market'; side: 'BUY' | 'SELL'; qty: number }
    | { kind: 'price'; price: number }
    | { kind: 'cancel'; index: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({
      kind: fc.constant('limit' as const),
      side: fc.constantFrom('BUY' as const, 'SELL' as const),
      qty: fc.integer({ min: 1, max: 5000 }),
      price: fc.integer({ min: 50000, max: 70000 }),
    }),
    fc.record({ kind: fc.constant('market' as const), side: fc.constantFrom('BUY' as const, 'SELL' as const), qty: fc.integer({ min: 1, max: 5000 }) }),
    fc.record({ kind: fc.constant('price' as const), price: fc.integer({ min: 50000, max: 70000 }) }),
    fc.record({ kind: fc.constant('cancel' as const), index: fc.nat() }),
  );
  // Integers scaled into decimals: quantities in steps of 0.0001 BTC, prices in whole USDT.
  const qtyOf = (n: number) => Decimal.of(BigInt(n)).dividedBy('10000', 4, 'down');

  it('never makes a balance negative, and moves every asset by exactly fills minus fees', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const e = engine();
        let n = 0;
        for (const o of ops) {
          try {
            if (o.kind === 'limit')
              e.placeOrder(
                'k',
                { symbol: 'BTCUSDT', side: o.side, type: 'LIMIT', quantity: qtyOf(o.qty), price: Decimal.of(BigInt(o.price)), clientOrderId: `p${n++}` },
                FLAGS,
              );
            else if (o.kind === 'market')
              e.placeOrder('k', { symbol: 'BTCUSDT', side: o.side, type: 'MARKET', quantity: qtyOf(o.qty), clientOrderId: `p${n++}` }, FLAGS);
            else if (o.kind === 'price') e.setPrice('BTCUSDT', Decimal.of(BigInt(o.price)));
            else {
              const open = e.openOrders('k', 'BTCUSDT');
              if (open.length > 0) e.cancelOrder('k', 'BTCUSDT', { orderId: open[o.index % open.length]!.orderId });
            }
          } catch (err) {
            if (!(err instanceof VenueError)) throw err;
          }
          for (const asset of ['BTC', 'USDT']) {
            const b = e.ledger.balance('k', asset);
            expect(b.free.isNegative() || b.locked.isNegative()).toBe(false);
          }
        }
        let btc = d('1');
        let usdt = d('100000');
        for (const t of e.allTrades('k')) {
          const sign = t.side === 'BUY' ? 1 : -1;
          btc = sign > 0 ? btc.plus(t.qty).minus(t.commission) : btc.minus(t.qty);
          usdt = sign > 0 ? usdt.minus(t.quoteQty) : usdt.plus(t.quoteQty).minus(t.commission);
        }
        const total = (asset: string) => {
          const b = e.ledger.balance('k', asset);
          return b.free.plus(b.locked);
        };
        expect(total('BTC').toString()).toBe(btc.toString());
        expect(total('USDT').toString()).toBe(usdt.toString());
        // What is locked is exactly what the open orders still hold.
        const open = e.openOrders('k', 'BTCUSDT');
        const lockedQuote = open.filter((o) => o.side === 'BUY').reduce((s, o) => s.plus(o.reserved), Decimal.ZERO);
        expect(e.ledger.balance('k', 'USDT').locked.toString()).toBe(lockedQuote.toString());
      }),
      { numRuns: 200 },
    );
  });
});
