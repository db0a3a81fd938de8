import { describe, expect, it } from '@jest/globals';
import { Decimal } from '@garde/domain';
import fc from 'fast-check';
import { PriceWalk } from './price-walk.js';

const path = (seed: number, symbol: string, steps: number) => {
  const walk = new PriceWalk(seed, symbol, Decimal.of('0.001'), Decimal.of('0.01'));
  const prices: string[] = [];
  let price = Decimal.of('60000.00');
  for (let i = 0; i < steps; i++) prices.push((price = walk.step(price)).toString());
  return prices;
};

describe('PriceWalk', () => {
  it('is reproducible from its seed, and differs between seeds and symbols', () => {
    expect(path(42, 'BTCUSDT', 50)).toEqual(path(42, 'BTCUSDT', 50));
    expect(path(42, 'BTCUSDT', 50)).not.toEqual(path(43, 'BTCUSDT', 50));
    expect(path(42, 'BTCUSDT', 50)).not.toEqual(path(42, 'ETHUSDT', 50));
  });

  it('walks on from a saved position as if it had never stopped', () => {
    const walk = new PriceWalk(42, 'BTCUSDT', Decimal.of('0.001'), Decimal.of('0.01'));
    let price = Decimal.of('60000.00');
    for (let i = 0; i < 20; i++) price = walk.step(price);
    const resumed = new PriceWalk(42, 'BTCUSDT', Decimal.of('0.001'), Decimal.of('0.01'), walk.position);
    let a = price;
    let b = price;
    const onward: Array<[string, string]> = [];
    for (let i = 0; i < 30; i++) onward.push([(a = walk.step(a)).toString(), (b = resumed.step(b)).toString()]);
    expect(onward.every(([x, y]) => x === y)).toBe(true);
    expect(path(42, 'BTCUSDT', 50).slice(20)).toEqual(onward.map(([x]) => x));
  });

  it('stays on the tick grid, positive, and within the volatility per step', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: 10_000_000 }), (seed, cents) => {
        const walk = new PriceWalk(seed, 'BTCUSDT', Decimal.of('0.001'), Decimal.of('0.01'));
        const before = Decimal.of(BigInt(cents)).dividedBy('100', 2, 'down');
        const after = walk.step(before);
        expect(after.isMultipleOf('0.01') && after.isPositive()).toBe(true);
        // |after − before| ≤ before × 0.1 % + half a tick of rounding (or the floor at one tick).
        expect(after.minus(before).abs().lte(before.times('0.001').plus('0.01'))).toBe(true);
      }),
    );
  });
});
