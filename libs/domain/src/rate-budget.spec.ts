import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { RateBudget, type CallPriority, type RateWindow } from './rate-budget.js';

const MINUTE_WEIGHT: RateWindow = { unit: 'weight', intervalMs: 60_000, limit: 1000 };
const ORDERS_10S: RateWindow = { unit: 'orders', intervalMs: 10_000, limit: 100 };
const options = { utilization: 0.8, cancelReserve: 0.1, orderReserve: 0.2 };

describe('RateBudget', () => {
  it('lets queries use 70 % of 80 % of the limit, orders 90 %, and cancels the rest', () => {
    const budget = new RateBudget([MINUTE_WEIGHT], options);
    let taken = 0;
    while (budget.take({ priority: 'query', weight: 10 }, 0) === 0) taken += 10;
    expect(taken).toBe(560);
    let orders = 0;
    while (budget.take({ priority: 'order', weight: 1 }, 0) === 0) orders++;
    expect(orders).toBe(160);
    let cancels = 0;
    while (budget.take({ priority: 'cancel', weight: 1 }, 0) === 0) cancels++;
    expect(cancels).toBe(80);
    expect(budget.usage(0)).toEqual([{ ...MINUTE_WEIGHT, cap: 800, used: 800 }]);
  });

  it('counts only new orders against an orders window', () => {
    const budget = new RateBudget([ORDERS_10S], options);
    for (let i = 0; i < 500; i++) expect(budget.take({ priority: 'query', weight: 20 }, 0)).toBe(0);
    for (let i = 0; i < 72; i++) expect(budget.take({ priority: 'order', weight: 1 }, 0)).toBe(0);
    expect(budget.take({ priority: 'order', weight: 1 }, 0)).toBeGreaterThan(0);
    expect(budget.take({ priority: 'cancel', weight: 1 }, 0)).toBe(0);
  });

  it('answers how long to wait, and the call fits after that wait', () => {
    const budget = new RateBudget([ORDERS_10S], options);
    for (let i = 0; i < 72; i++) budget.take({ priority: 'order', weight: 1 }, 1_000 + i);
    const wait = budget.take({ priority: 'order', weight: 1 }, 2_000);
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(10_000);
    expect(budget.take({ priority: 'order', weight: 1 }, 2_000 + wait - 1)).toBeGreaterThan(0);
    expect(budget.take({ priority: 'order', weight: 1 }, 2_000 + wait)).toBe(0);
  });

  it('takes the venue’s own count when it is higher than ours', () => {
    const budget = new RateBudget([MINUTE_WEIGHT], options);
    budget.take({ priority: 'query', weight: 5 }, 0);
    budget.sync('weight', 60_000, 700, 10);
    expect(budget.usage(10)[0]!.used).toBe(700);
    budget.sync('weight', 60_000, 100, 20);
    expect(budget.usage(20)[0]!.used).toBe(700);
  });

  it('keeps the counts of a window when the venue’s limits are read', () => {
    const budget = new RateBudget([{ unit: 'requests', intervalMs: 60_000, limit: 100 }], options);
    for (let i = 0; i < 50; i++) budget.take({ priority: 'query', weight: 1 }, 0);
    budget.configure([{ unit: 'requests', intervalMs: 60_000, limit: 1000 }, ORDERS_10S], 0);
    expect(budget.usage(0).map((u) => u.used)).toEqual([50, 0]);
  });

  it('lets a call bigger than its cap through an empty window only', () => {
    const budget = new RateBudget([{ unit: 'weight', intervalMs: 1000, limit: 50 }], options);
    expect(budget.take({ priority: 'query', weight: 80 }, 0)).toBe(0);
    expect(budget.take({ priority: 'query', weight: 80 }, 0)).toBeGreaterThan(0);
  });

  it('refuses nonsense limits', () => {
    expect(() => new RateBudget([{ unit: 'weight', intervalMs: 0, limit: 10 }], options)).toThrow(RangeError);
    expect(() => new RateBudget([MINUTE_WEIGHT], { utilization: 1.5, cancelReserve: 0 })).toThrow(RangeError);
  });

  it('property: no window of the venue’s length ever holds more than the cap, whatever the calls', () => {
    const call = fc.record({
      dt: fc.integer({ min: 0, max: 400 }),
      priority: fc.constantFrom<CallPriority>('cancel', 'order', 'query'),
      weight: fc.integer({ min: 1, max: 30 }),
    });
    fc.assert(
      fc.property(fc.array(call, { maxLength: 400 }), (calls) => {
        const windows: RateWindow[] = [
          { unit: 'weight', intervalMs: 5_000, limit: 300 },
          { unit: 'orders', intervalMs: 2_000, limit: 20 },
        ];
        const budget = new RateBudget(windows, options);
        const taken: Array<{ at: number; priority: CallPriority; weight: number }> = [];
        let now = 0;
        for (const c of calls) {
          now += c.dt;
          if (budget.take(c, now) === 0) taken.push({ at: now, priority: c.priority, weight: c.weight });
        }
        for (const start of taken.map((t) => t.at)) {
          const inWeight = taken.filter((t) => t.at >= start && t.at < start + 5_000).reduce((s, t) => s + t.weight, 0);
          const inOrders = taken.filter((t) => t.at >= start && t.at < start + 2_000 && t.priority === 'order').length;
          expect(inWeight).toBeLessThanOrEqual(240);
          expect(inOrders).toBeLessThanOrEqual(16);
        }
      }),
    );
  });
});
