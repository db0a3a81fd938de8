import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Decimal } from '../decimal-math.js';
import { dcaOpenOrders, dcaReserved, initialDcaState, parseDcaParameters, stepDca, type DcaParams, type DcaState } from './dca.js';
import { PaperVenue, prng } from './paper-venue.fixture.js';
import { StrategyError, type MarketSnapshot, type StrategyFill, type StrategyIntent, type StrategyStep } from './strategy.js';

const D = (v: string): Decimal => Decimal.of(v);
const MINUTE = 60_000;
const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

function market(ask: string, at: number, extra: Partial<MarketSnapshot> = {}): MarketSnapshot {
  return { symbol: 'ETH/USDT', bid: D(ask), ask: D(ask), last: D(ask), at, ...extra };
}

function params(raw: Record<string, unknown>): DcaParams {
  const parsed = parseDcaParameters(raw);
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  return parsed.params;
}

function fill(clientOrderId: string, side: 'buy' | 'sell', price: string, quantity: string): StrategyFill {
  return { clientOrderId, side, price: D(price), quantity: D(quantity), fee: D('0') };
}

function show(intents: readonly StrategyIntent[]): string[] {
  return intents.map((i) =>
    i.kind === 'cancel'
      ? `cancel ${i.clientOrderId}`
      : `${i.side} ${i.type} ${i.quantity.toString()}${i.price ? ` @ ${i.price.toString()}` : ''} ${i.clientOrderId}`,
  );
}

/** Steps in sequence, each from the previous state. */
function run(
  p: DcaParams,
  steps: ReadonlyArray<Omit<Parameters<typeof stepDca>[1], 'state'>>,
  state: DcaState = initialDcaState('bot-1', 'ETH/USDT'),
): StrategyStep<DcaState>[] {
  const out: StrategyStep<DcaState>[] = [];
  for (const input of steps) {
    const step = stepDca(p, { ...input, state });
    out.push(step);
    state = step.state;
  }
  return out;
}

describe('DCA parameters', () => {
  it('accepts the demo bots’ parameters, and the optional ones', () => {
    expect(parseDcaParameters({ quoteAmount: '50', intervalMinutes: 60 }).ok).toBe(true);
    expect(parseDcaParameters({ quoteAmount: '100', intervalMinutes: 240, budget: '1000', dropPercent: '2.5', takeProfitPercent: '3' })).toMatchObject({
      ok: true,
      params: { intervalMinutes: 240 },
    });
  });

  it('reports every error at once, in words', () => {
    expect(parseDcaParameters({ quoteAmount: '0', intervalMinutes: 0, budget: '-5', dropPercent: '100', takeProfitPercent: 'ten', interval: 5 })).toEqual({
      ok: false,
      errors: [
        'unknown parameter "interval" (known: quoteAmount, intervalMinutes, budget, dropPercent, takeProfitPercent, tickSize, stepSize)',
        'quoteAmount must be greater than 0',
        'intervalMinutes must be an integer ≥ 1 and ≤ 527040 (got 0)',
        'budget must be a decimal string such as "0.01" (got "-5")',
        'takeProfitPercent must be a decimal string such as "0.01" (got "ten")',
        'dropPercent must be below 100 (got 100)',
      ],
    });
    expect(parseDcaParameters({ quoteAmount: '100', intervalMinutes: 60, budget: '50' })).toEqual({
      ok: false,
      errors: ['budget 50 must be at least quoteAmount 100'],
    });
    expect(parseDcaParameters({ intervalMinutes: 60 })).toEqual({ ok: false, errors: ['quoteAmount is required'] });
  });
});

describe('DCA', () => {
  it('buys quoteAmount at the ask on schedule, once per interval', () => {
    const p = params({ quoteAmount: '100', intervalMinutes: 60, stepSize: '0.0001' });
    const steps = run(p, [
      { market: market('3000', T0) },
      { market: market('3010', T0 + 59 * MINUTE), fills: [fill('bot-1-d-b-1', 'buy', '3000', '0.0333')] },
      { market: market('2990', T0 + 60 * MINUTE) },
      { market: market('2990', T0 + 61 * MINUTE) },
    ]);
    expect(steps.map((s) => show(s.intents))).toEqual([['buy limit 0.0333 @ 3000 bot-1-d-b-1'], [], ['buy limit 0.0334 @ 2990 bot-1-d-b-2'], []]);
    expect(steps[3]!.state.nextBuyAt).toBe(T0 + 120 * MINUTE);
  });

  it('does not catch up missed slots: one buy, then the next slot on the same schedule', () => {
    const p = params({ quoteAmount: '100', intervalMinutes: 60 });
    const steps = run(p, [{ market: market('100', T0) }, { market: market('100', T0 + 5 * 60 * MINUTE + 7) }]);
    expect(show(steps[1]!.intents)).toEqual(['cancel bot-1-d-b-1', 'buy limit 1 @ 100 bot-1-d-b-2']);
    expect(steps[1]!.state.nextBuyAt).toBe(T0 + 6 * 60 * MINUTE);
  });

  it('skips a slot when the price has not fallen dropPercent below the last buy', () => {
    const p = params({ quoteAmount: '100', intervalMinutes: 60, dropPercent: '5' });
    const steps = run(p, [
      { market: market('100', T0) },
      { market: market('97', T0 + 60 * MINUTE), fills: [fill('bot-1-d-b-1', 'buy', '100', '1')] },
      { market: market('94', T0 + 90 * MINUTE) },
      { market: market('95', T0 + 120 * MINUTE) },
    ]);
    expect(steps.map((s) => show(s.intents))).toEqual([['buy limit 1 @ 100 bot-1-d-b-1'], [], [], ['buy limit 1.05263157 @ 95 bot-1-d-b-2']]);
    expect(steps[3]!.state.slotsSkipped).toBe(1);
  });

  it('places a take-profit at +Y % of the average entry, and moves it when a buy changes the average', () => {
    const p = params({ quoteAmount: '100', intervalMinutes: 60, takeProfitPercent: '10', tickSize: '0.01', stepSize: '0.01' });
    const steps = run(p, [
      { market: market('100', T0) },
      { market: market('100', T0 + MINUTE), fills: [fill('bot-1-d-b-1', 'buy', '100', '1')] },
      { market: market('80', T0 + 60 * MINUTE) },
      { market: market('80', T0 + 61 * MINUTE), fills: [fill('bot-1-d-b-3', 'buy', '80', '1.25')] },
      { market: market('80', T0 + 62 * MINUTE) },
      { market: market('80', T0 + 63 * MINUTE), endedOrders: ['bot-1-d-tp-2'] },
    ]);
    expect(steps.map((s) => show(s.intents))).toEqual([
      ['buy limit 1 @ 100 bot-1-d-b-1'],
      ['sell limit 1 @ 110 bot-1-d-tp-2'],
      ['buy limit 1.25 @ 80 bot-1-d-b-3'],
      ['cancel bot-1-d-tp-2'],
      [],
      // 200 for 2.25: average 88.888…, +10 % = 97.777… rounded up to the tick so it never sells under +10 %.
      ['sell limit 2.25 @ 97.78 bot-1-d-tp-4'],
    ]);
    expect(steps[5]!.intents[0]).toMatchObject({ reduceOnly: true });
  });

  it('ends the cycle when the take-profit fills: profit recorded, next buy without the drop condition', () => {
    const p = params({ quoteAmount: '100', intervalMinutes: 60, takeProfitPercent: '10', dropPercent: '5' });
    const steps = run(p, [
      { market: market('100', T0) },
      { market: market('100', T0 + MINUTE), fills: [fill('bot-1-d-b-1', 'buy', '100', '1')] },
      { market: market('111', T0 + 30 * MINUTE), fills: [fill('bot-1-d-tp-2', 'sell', '110', '1')] },
      { market: market('111', T0 + 60 * MINUTE) },
    ]);
    expect(steps[2]!.state).toMatchObject({ base: '0', cost: '0', realized: '10', quote: '10', takeProfit: null, lastBuyPrice: null });
    expect(show(steps[3]!.intents)).toEqual(['buy limit 0.9009009 @ 111 bot-1-d-b-3']);
  });

  it('stops buying when the next buy would not fit the budget (open buys counted)', () => {
    const p = params({ quoteAmount: '100', intervalMinutes: 60, budget: '250' });
    const steps = run(p, [
      { market: market('100', T0) },
      { market: market('100', T0 + 60 * MINUTE), fills: [fill('bot-1-d-b-1', 'buy', '100', '1')] },
      { market: market('100', T0 + 120 * MINUTE) },
    ]);
    expect(steps.map((s) => show(s.intents))).toEqual([['buy limit 1 @ 100 bot-1-d-b-1'], ['buy limit 1 @ 100 bot-1-d-b-2'], ['cancel bot-1-d-b-2']]);
    expect(dcaReserved(steps[2]!.state).toString()).toBe('100');
    expect(steps[2]!.state.slotsSkipped).toBe(1);
  });

  it('cancels a buy still open at the next slot, and keeps it counted until its end is reported', () => {
    const p = params({ quoteAmount: '100', intervalMinutes: 60 });
    const steps = run(p, [
      { market: market('100', T0) },
      { market: market('105', T0 + 60 * MINUTE) },
      { market: market('105', T0 + 61 * MINUTE), fills: [fill('bot-1-d-b-1', 'buy', '100', '0.5')], endedOrders: ['bot-1-d-b-1'] },
    ]);
    expect(show(steps[1]!.intents)).toEqual(['cancel bot-1-d-b-1', 'buy limit 0.95238095 @ 105 bot-1-d-b-2']);
    expect(dcaOpenOrders(steps[1]!.state)).toEqual(['bot-1-d-b-1', 'bot-1-d-b-2']);
    expect(dcaOpenOrders(steps[2]!.state)).toEqual(['bot-1-d-b-2']);
    expect(steps[2]!.state.spent).toBe('50');
  });

  it('stops with a clear cause when quoteAmount buys less than one step', () => {
    const p = params({ quoteAmount: '5', intervalMinutes: 60, stepSize: '0.01' });
    const first = (): unknown => stepDca(p, { state: initialDcaState('bot-1', 'ETH/USDT'), market: market('3000', T0) });
    expect(first).toThrow(StrategyError);
    expect(first).toThrow('quoteAmount 5 buys less than one quantity step at 3000');
  });

  it('is pure and deterministic, and its state survives JSON', () => {
    const p = params({ quoteAmount: '100', intervalMinutes: 60, takeProfitPercent: '2' });
    const [first] = run(p, [{ market: market('100', T0) }]);
    const snapshot = JSON.stringify(first!.state);
    const input = { state: first!.state, market: market('99', T0 + MINUTE), fills: [fill('bot-1-d-b-1', 'buy', '100', '1')] };
    const a = stepDca(p, input);
    const b = stepDca(p, input);
    expect(JSON.stringify(first!.state)).toBe(snapshot);
    expect(show(a.intents)).toEqual(show(b.intents));
    expect(a.state).toEqual(b.state);
    expect(JSON.parse(JSON.stringify(a.state))).toEqual(a.state);
  });
});

const dcaCase = fc.record({
  quoteAmount: fc.constantFrom('10', '25.5', '100', '333.33'),
  budgetBuys: fc.integer({ min: 1, max: 12 }),
  budgetExtra: fc.constantFrom('0', '0.01', '7', '99.99'),
  intervalMinutes: fc.integer({ min: 1, max: 240 }),
  dropPercent: fc.option(fc.constantFrom('0.5', '2', '10'), { nil: undefined }),
  takeProfitPercent: fc.option(fc.constantFrom('0.5', '3', '20'), { nil: undefined }),
  stepSize: fc.option(fc.constantFrom('0.0001', '0.001'), { nil: undefined }),
  seed: fc.integer(),
  ticks: fc.integer({ min: 1, max: 150 }),
  chaos: fc.record({
    partial: fc.constantFrom(0, 0.3),
    delay: fc.constantFrom(0, 0.4),
    reject: fc.constantFrom(0, 0.05),
    cancel: fc.constantFrom(0, 0.02),
    baseFee: fc.constantFrom(0, 0.5),
  }),
});

describe('DCA properties', () => {
  it('never exceeds its budget: executed buys plus open buys at their limit stay within it; between slots, a step with nothing new changes nothing', () => {
    let bought = 0;
    const quiet = { steps: 0, same: 0 };
    fc.assert(
      fc.property(dcaCase, (c) => {
        const budget = D(c.quoteAmount)
          .times(Decimal.of(BigInt(c.budgetBuys)))
          .plus(c.budgetExtra);
        const p = params({
          quoteAmount: c.quoteAmount,
          intervalMinutes: c.intervalMinutes,
          budget: budget.toString(),
          ...(c.dropPercent && { dropPercent: c.dropPercent }),
          ...(c.takeProfitPercent && { takeProfitPercent: c.takeProfitPercent }),
          ...(c.stepSize && { stepSize: c.stepSize }),
        });
        const random = prng(c.seed);
        const venue = new PaperVenue(random, c.chaos, 'ETH');
        let state = initialDcaState('bot-1', 'ETH/USDT');
        let cents = 100_000 + Math.floor(random() * 400_000);
        let at = T0;
        for (let tick = 0; tick <= c.ticks; tick++) {
          const price = (n: number): Decimal => Decimal.of(BigInt(n)).dividedBy('100', 2, 'down');
          const snapshot = { symbol: 'ETH/USDT', bid: price(cents - 1), ask: price(cents + 1), last: price(cents), at };
          venue.match(snapshot);
          const step = stepDca(p, { state, market: snapshot, ...venue.deliver(tick === c.ticks) });
          state = step.state;
          venue.submit(step.intents, snapshot);

          // At the same instant (its next slot is always later), a step with nothing new changes nothing, at any
          // price, and most answer the state itself.
          const moved = price(Math.max(1_000, cents + Math.round((random() - 0.5) * 20_000)));
          const again = stepDca(p, { state, market: { ...snapshot, bid: moved, ask: moved, last: moved } });
          expect(again.intents).toEqual([]);
          expect(again.state).toEqual(state);
          quiet.steps++;
          if (again.state === state) quiet.same++;

          const openBuys = venue
            .openOrders()
            .filter((o) => o.side === 'buy')
            .reduce((sum, o) => sum.plus(o.quantity.minus(o.filled).times(o.price!)), Decimal.ZERO);
          expect(venue.spentOnBuys.plus(openBuys).lte(budget)).toBe(true);
          expect(D(state.spent).plus(dcaReserved(state)).lte(budget)).toBe(true);
          // The take-profit never offers more than is held either.
          const offered = venue
            .openOrders()
            .filter((o) => o.side === 'sell')
            .reduce((sum, o) => sum.plus(o.quantity).minus(o.filled), Decimal.ZERO);
          expect(offered.lte(venue.base)).toBe(true);

          cents = Math.max(1_000, cents + Math.round((random() - 0.52) * 4_000));
          at += Math.floor(random() * 3 * c.intervalMinutes * MINUTE);
        }
        bought += state.buysPlaced;
      }),
      { numRuns: 200 },
    );
    // The property is only worth something if buys happened.
    expect(bought).toBeGreaterThan(200);
    expect(quiet.same / quiet.steps).toBeGreaterThan(0.5);
  });
});
