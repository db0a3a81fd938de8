import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Decimal } from './decimal-math.js';
import {
  applyFill,
  averageEntryPrice,
  emptyPosition,
  emptyPositionOf,
  positionDirection,
  positionFromFills,
  POSITION_SCALE,
  unrealizedPnl,
  type Position,
  type PositionFill,
} from './position.js';

const D = (v: string): Decimal => Decimal.of(v);

function fill(side: 'buy' | 'sell', price: string, quantity: string, fee = '0', feeCurrency: string | null = 'USDT'): PositionFill {
  return { side, price: D(price), quantity: D(quantity), fee: D(fee), feeCurrency };
}

const btc = (...fills: PositionFill[]): Position => positionFromFills('BTC', 'USDT', fills);

/** The position as plain strings, for readable expectations. */
function show(p: Position, mark?: string) {
  return {
    quantity: p.quantity.toString(),
    cost: p.cost.toString(),
    average: averageEntryPrice(p, 8)?.toString() ?? null,
    realized: p.realizedPnl.toString(),
    ...(mark === undefined ? {} : { unrealized: unrealizedPnl(p, D(mark)).toString() }),
    fees: Object.fromEntries(Object.entries(p.fees).map(([c, f]) => [c, f.toString()])),
    fills: p.fills,
  };
}

describe('position (average cost)', () => {
  it('averages the entries and realizes against the average on a sell', () => {
    const p = btc(fill('buy', '100', '1'), fill('buy', '200', '1'));
    expect(show(p, '170')).toEqual({ quantity: '2', cost: '300', average: '150', realized: '0', unrealized: '40', fees: {}, fills: 2 });
    const sold = applyFill(p, fill('sell', '180', '1'));
    expect(show(sold, '170')).toEqual({ quantity: '1', cost: '150', average: '150', realized: '30', unrealized: '20', fees: {}, fills: 3 });
    expect(positionDirection(sold)).toBe('long');
    // The input position is left as it was.
    expect(p.quantity.toString()).toBe('2');
  });

  it('adds a fee in quote to the cost of a buy, and takes it from the realized PnL of a sell', () => {
    const bought = btc(fill('buy', '100', '1', '0.1'));
    expect(show(bought)).toMatchObject({ quantity: '1', cost: '100.1', average: '100.1', realized: '0', fees: { USDT: '0.1' } });
    const sold = applyFill(bought, fill('sell', '110', '1', '0.11'));
    expect(show(sold, '999')).toEqual({
      quantity: '0',
      cost: '0',
      average: null,
      realized: '9.79',
      unrealized: '0',
      fees: { USDT: '0.21' },
      fills: 2,
    });
    expect(positionDirection(sold)).toBe('flat');
  });

  it('takes a fee in base from the base held (the simulator’s buys), and a null fee currency is the quote', () => {
    const bought = btc(fill('buy', '59500', '0.001', '0.000001', 'BTC'));
    expect(show(bought)).toMatchObject({ quantity: '0.000999', cost: '59.5', average: '59559.55955956', realized: '0', fees: { BTC: '0.000001' } });
    const sold = applyFill(bought, fill('sell', '60000', '0.000999', '0.05994', null));
    // 0.000999 × 60000 = 59.94, minus the cost 59.5, minus the fee 0.05994.
    expect(show(sold)).toMatchObject({ quantity: '0', cost: '0', realized: '0.38006', fees: { BTC: '0.000001', USDT: '0.05994' } });
  });

  it('sells the fee in base with the quantity: the base leaving takes its share of the cost', () => {
    const p = btc(fill('buy', '100', '2'), fill('sell', '120', '0.9', '0.1', 'BTC'));
    // One BTC left the position (0.9 sold, 0.1 in fee) for 108: half of the cost, 100, goes with it.
    expect(show(p)).toMatchObject({ quantity: '1', cost: '100', realized: '8', fees: { BTC: '0.1' } });
  });

  it('keeps a fee in another currency (BNB) apart, unconverted, out of PnL', () => {
    const p = btc(fill('buy', '100', '1', '0.002', 'BNB'), fill('sell', '110', '1', '0.003', 'BNB'));
    expect(show(p)).toEqual({ quantity: '0', cost: '0', average: null, realized: '10', fees: { BNB: '0.005' }, fills: 2 });
  });

  it('opens a short when selling more than it holds, and realizes it on the buy-back', () => {
    const short = btc(fill('sell', '100', '1'));
    expect(show(short, '90')).toMatchObject({ quantity: '-1', cost: '-100', average: '100', realized: '0', unrealized: '10' });
    expect(positionDirection(short)).toBe('short');
    const covered = applyFill(short, fill('buy', '80', '0.5'));
    expect(show(covered, '90')).toMatchObject({ quantity: '-0.5', cost: '-50', average: '100', realized: '10', unrealized: '5' });
  });

  it('closes one side and opens the other when a fill crosses zero, sharing its cash and fee by base', () => {
    const p = btc(fill('buy', '100', '1'), fill('sell', '110', '3', '0.33'));
    // The first BTC closes the long (110 − 0.11 fee − 100), the two others open a short at 110 with 0.22 of fee.
    expect(show(p, '100')).toMatchObject({ quantity: '-2', cost: '-219.78', average: '109.89', realized: '9.89', unrealized: '19.78' });
  });

  it('reads the currencies from a symbol and refuses impossible fills', () => {
    expect(emptyPositionOf('ETH/BTC')).toMatchObject({ base: 'ETH', quote: 'BTC', fills: 0 });
    expect(() => emptyPositionOf('BTCUSDT')).toThrow(RangeError);
    expect(() => emptyPosition('BTC', 'BTC')).toThrow(RangeError);
    const p = emptyPosition('BTC', 'USDT');
    expect(() => applyFill(p, fill('buy', '100', '0'))).toThrow(/quantity must be positive/);
    expect(() => applyFill(p, fill('buy', '-1', '1'))).toThrow(/price cannot be negative/);
    expect(() => applyFill(p, fill('buy', '1', '1', '-0.1'))).toThrow(/fee cannot be negative/);
  });

  it('rounds only the cost share of a partial reduction, and the share left carries the rest', () => {
    const p = btc(fill('buy', '1', '3'), fill('buy', '0', '0.0000000000000000001'), fill('sell', '1', '1'));
    // A third of a cost of 3 is 1 exactly; the rest remains the cost of the rest.
    expect(p.cost.plus(p.realizedPnl).toString()).toBe('2');
    const third = btc(fill('buy', '1', '1'), fill('buy', '2', '2'), fill('sell', '0', '1'));
    expect(third.cost.toString()).toBe('3.333333333333333333');
    expect(third.realizedPnl.toString()).toBe('-1.666666666666666667');
  });
});

// ---- properties -------------------------------------------------------------------------------

/** A decimal with up to 8 integer and 8 fractional digits. */
const amount = (min: bigint) => fc.bigInt({ min, max: 10n ** 16n }).map((units) => Decimal.of(units).dividedBy(Decimal.of(10n ** 8n), 8, 'down'));

const arbitraryFill: fc.Arbitrary<PositionFill> = fc
  .record({
    side: fc.constantFrom('buy' as const, 'sell' as const),
    price: amount(1n),
    quantity: amount(1n),
    // Fees well under the quantity (a fee in base never takes the whole fill).
    feeRate: fc.constantFrom('0', '0.001', '0.00075', '0.1'),
    feeCurrency: fc.constantFrom('USDT', 'BTC', 'BNB', null),
  })
  .map(({ side, price, quantity, feeRate, feeCurrency }) => {
    const base = feeCurrency === 'BTC' ? quantity : quantity.times(price);
    return { side, price, quantity, fee: base.times(feeRate), feeCurrency };
  });

/** Quote received minus quote paid, fees in quote included. */
function cashFlow(fills: readonly PositionFill[]): Decimal {
  return fills.reduce((sum, f) => {
    const gross = f.quantity.times(f.price);
    const fee = (f.feeCurrency ?? 'USDT') === 'USDT' ? f.fee : Decimal.ZERO;
    return sum.plus(f.side === 'sell' ? gross : gross.negated()).minus(fee);
  }, Decimal.ZERO);
}

/** Base bought minus base sold, fees in base deducted. */
function baseFlow(fills: readonly PositionFill[]): Decimal {
  return fills.reduce((sum, f) => {
    const fee = f.feeCurrency === 'BTC' ? f.fee : Decimal.ZERO;
    return sum.plus(f.side === 'buy' ? f.quantity : f.quantity.negated()).minus(fee);
  }, Decimal.ZERO);
}

const feesOf = (p: Position) => Object.fromEntries(Object.entries(p.fees).map(([c, f]) => [c, f.toString()]));

describe('position properties', () => {
  it('realized + unrealized = cash flow + quantity × mark, exactly, for any fills and mark', () => {
    fc.assert(
      fc.property(fc.array(arbitraryFill, { maxLength: 30 }), amount(0n), (fills, mark) => {
        const p = btc(...fills);
        expect(p.quantity.eq(baseFlow(fills))).toBe(true);
        expect(p.realizedPnl.plus(unrealizedPnl(p, mark)).eq(cashFlow(fills).plus(p.quantity.times(mark)))).toBe(true);
        expect(p.fills).toBe(fills.length);
      }),
    );
  });

  it('holds the same base, fees and total PnL whatever the order of the fills', () => {
    fc.assert(
      fc.property(
        fc
          .array(arbitraryFill, { minLength: 1, maxLength: 20 })
          .chain((fills) => fc.tuple(fc.constant(fills), fc.shuffledSubarray(fills, { minLength: fills.length }))),
        amount(0n),
        ([fills, shuffled], mark) => {
          const a = btc(...fills);
          const b = btc(...shuffled);
          expect(a.quantity.eq(b.quantity)).toBe(true);
          expect(feesOf(a)).toEqual(feesOf(b));
          expect(a.realizedPnl.plus(unrealizedPnl(a, mark)).eq(b.realizedPnl.plus(unrealizedPnl(b, mark)))).toBe(true);
        },
      ),
    );
  });

  it('a position that ends flat has realized exactly its cash flow, in any order, with no cost left', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(amount(1n), amount(1n), amount(1n)), { minLength: 1, maxLength: 10 }), fc.boolean(), (trips, reversed) => {
        // Each trip buys a quantity at one price and sells it at another: the whole ends flat.
        const fills = trips.flatMap(([quantity, buy, sell]) => [
          fill('buy', buy.toString(), quantity.toString()),
          fill('sell', sell.toString(), quantity.toString()),
        ]);
        const p = btc(...(reversed ? [...fills].reverse() : fills));
        expect(p.quantity.isZero()).toBe(true);
        expect(p.cost.isZero()).toBe(true);
        expect(averageEntryPrice(p)).toBeNull();
        expect(p.realizedPnl.eq(cashFlow(fills))).toBe(true);
      }),
    );
  });

  it('buys alone realize nothing, and their average entry does not depend on their order', () => {
    const buy = arbitraryFill.map((f) => ({ ...f, side: 'buy' as const }));
    fc.assert(
      fc.property(fc.array(buy, { minLength: 1, maxLength: 20 }), (fills) => {
        const a = btc(...fills);
        const b = btc(...[...fills].reverse());
        expect(a.realizedPnl.isZero()).toBe(true);
        expect(a.cost.eq(cashFlow(fills).negated())).toBe(true);
        expect(averageEntryPrice(a)?.toString()).toBe(averageEntryPrice(b)?.toString());
      }),
    );
  });

  it('a long bought at one price realizes, on each partial sell, the sell price minus that price', () => {
    // Sells within the base held, no fees: the realized PnL is Σ (sell price − average entry then) × quantity.
    fc.assert(
      fc.property(amount(1n), amount(1n), fc.array(fc.tuple(fc.integer({ min: 1, max: 9 }), amount(1n)), { maxLength: 10 }), (quantity, buyPrice, sells) => {
        let p = btc(fill('buy', buyPrice.toString(), quantity.toString()));
        let expected = Decimal.ZERO;
        for (const [tenths, price] of sells) {
          const sold = p.quantity.times(Decimal.of(BigInt(tenths))).dividedBy('10', 18, 'down');
          if (!sold.isPositive()) continue;
          expected = expected.plus(price.minus(buyPrice).times(sold));
          p = applyFill(p, fill('sell', price.toString(), sold.toString()));
        }
        // A single entry price: the average never moves, so each sell realizes against it, give or take
        // the rounding of its cost share at POSITION_SCALE (half a unit of the last digit per sell).
        const dust = Decimal.of(`0.${'0'.repeat(POSITION_SCALE - 1)}1`).times(Decimal.of(BigInt(sells.length)));
        expect(p.realizedPnl.minus(expected).abs().lte(dust)).toBe(true);
        expect(p.quantity.isNegative()).toBe(false);
      }),
    );
  });
});
