import { describe, expect, it } from '@jest/globals';
import { forEachBounded } from './for-each-bounded.js';

describe('forEachBounded', () => {
  it('visits every item with at most `limit` in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    const seen: number[] = [];
    const items = Array.from({ length: 50 }, (_, i) => i);
    const failures = await forEachBounded(items, 8, async (i) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 1));
      seen.push(i);
      inFlight -= 1;
    });
    expect(failures).toEqual([]);
    expect(peak).toBe(8);
    expect([...seen].sort((a, b) => a - b)).toEqual(items);
  });

  it('reports failures and still visits the rest', async () => {
    const seen: number[] = [];
    const failures = await forEachBounded([1, 2, 3, 4], 2, (i) => {
      if (i % 2 === 0) return Promise.reject(new Error(`boom ${i}`));
      seen.push(i);
      return Promise.resolve();
    });
    expect(seen.sort()).toEqual([1, 3]);
    expect(failures.map((f) => f.item).sort()).toEqual([2, 4]);
  });

  it('does nothing for no items', async () => {
    expect(await forEachBounded([], 4, () => Promise.resolve())).toEqual([]);
  });
});
