import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Decimal } from '../decimal-math.js';
import { gridPrices, gridOpenOrders, initialGridState, parseGridParameters, stepGrid, type GridParams, type GridState } from './grid.js';
import { CALM, PaperVenue, prng, type VenueChaos } from './paper-venue.fixture.js';
import { StrategyError, type MarketSnapshot, type StrategyFill, type StrategyIntent } from './strategy.js';

const D = (v: string): Decimal => Decimal.of(v);

function market(last: string, extra: Partial<MarketSnapshot> = {}): MarketSnapshot {
  return { symbol: 'BTC/USDT', bid: D(last), ask: D(last), last: D(last), at: 0, ...extra };
}

function params(raw: Record<string, unknown>): GridParams {
  const parsed = parseGridParameters(raw);
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  return parsed.params;
}

function fill(clientOrderId: string, side: 'buy' | 'sell', price: string, quantity: string, fee = '0', feeCurrency = 'USDT'): StrategyFill {
  return { clientOrderId, side, price: D(price), quantity: D(quantity), fee: D(fee), feeCurrency };
}

/** Intents as readable lines: `buy limit 1 @ 125 bot-1-g-L1-b-3`. */
function show(intents: readonly StrategyIntent[]): string[] {
  return intents.map((i) =>
    i.kind === 'cancel'
      ? `cancel ${i.clientOrderId}`
      : `${i.side} ${i.type} ${i.quantity.toString()}${i.price ? ` @ ${i.price.toString()}` : ''} ${i.clientOrderId}`,
  );
}

const FIVE_LEVELS = params({ lower: '100', upper: '200', levels: 5, orderSize: '1' });

/** The ladder of FIVE_LEVELS around 160, with its initial market buy filled. */
function placedLadder(): GridState {
  const first = stepGrid(FIVE_LEVELS, { state: initialGridState('bot-1', 'BTC/USDT'), market: market('160') });
  return stepGrid(FIVE_LEVELS, { state: first.state, market: market('160'), fills: [fill('bot-1-g-init-b-1', 'buy', '160', '2')] }).state;
}

describe('grid parameters', () => {
  it('accepts the demo bots’ parameters', () => {
    expect(parseGridParameters({ lower: '60000', upper: '70000', levels: 10, orderSize: '0.001' }).ok).toBe(true);
    expect(parseGridParameters({ lower: '120', upper: '180', levels: 6, orderSize: '0.5' }).ok).toBe(true);
  });

  it('reports every error at once, in words', () => {
    const result = parseGridParameters({ lower: '70000', upper: '60000', levels: 0, orderSize: 0.5, lowr: '1' });
    expect(result).toEqual({
      ok: false,
      errors: [
        'unknown parameter "lowr" (known: lower, upper, levels, orderSize, tickSize, stepSize)',
        'levels must be an integer ≥ 2 and ≤ 200 (got 0)',
        'orderSize must be a decimal string such as "0.01" (got 0.5)',
        'lower must be below upper (lower 70000, upper 60000)',
      ],
    });
  });

  it('refuses lower equal to upper, missing values, zero sizes, and steps the ladder cannot fit', () => {
    const errorsOf = (raw: unknown): readonly string[] => {
      const r = parseGridParameters(raw);
      return r.ok ? [] : r.errors;
    };
    expect(errorsOf({ lower: '100', upper: '100', levels: 2, orderSize: '1' })).toEqual(['lower must be below upper (lower 100, upper 100)']);
    expect(errorsOf({})).toEqual(['lower is required', 'upper is required', 'levels is required', 'orderSize is required']);
    expect(errorsOf({ lower: '1', upper: '2', levels: 2.5, orderSize: '0' })).toEqual([
      'levels must be an integer ≥ 2 and ≤ 200 (got 2.5)',
      'orderSize must be greater than 0',
    ]);
    expect(errorsOf({ lower: '100', upper: '101', levels: 4, orderSize: '1', tickSize: '0.5' })).toEqual([
      '4 levels are closer than tickSize 0.5: two levels would share the price 100',
    ]);
    expect(errorsOf({ lower: '1', upper: '2', levels: 2, orderSize: '0.0004', stepSize: '0.001' })).toEqual([
      'orderSize 0.0004 is smaller than stepSize 0.001',
    ]);
    expect(errorsOf('grid')).toEqual(['parameters must be an object']);
  });

  it('takes whole numbers as JS numbers and integers as digit strings', () => {
    expect(parseGridParameters({ lower: 60000, upper: '70000', levels: '10', orderSize: '0.001' })).toMatchObject({ ok: true, params: { levels: 10 } });
  });
});

describe('grid', () => {
  it('places its ladder: buys below the price, the nearest level empty, and the base its sells need bought first', () => {
    const first = stepGrid(FIVE_LEVELS, { state: initialGridState('bot-1', 'BTC/USDT'), market: market('160') });
    expect(show(first.intents)).toEqual(['buy market 2 bot-1-g-init-b-1', 'buy limit 1 @ 100 bot-1-g-L0-b-2', 'buy limit 1 @ 125 bot-1-g-L1-b-3']);

    const second = stepGrid(FIVE_LEVELS, { state: first.state, market: market('161'), fills: [fill('bot-1-g-init-b-1', 'buy', '160.5', '2')] });
    expect(show(second.intents)).toEqual(['sell limit 1 @ 175 bot-1-g-L3-s-4', 'sell limit 1 @ 200 bot-1-g-L4-s-5']);
    expect(second.intents.every((i) => i.kind === 'place' && i.reduceOnly === (i.side === 'sell'))).toBe(true);
    expect(second.state.base).toBe('2');
    expect(second.state.quote).toBe('-321');
    expect(gridOpenOrders(second.state)).toEqual(['bot-1-g-L0-b-2', 'bot-1-g-L1-b-3', 'bot-1-g-L3-s-4', 'bot-1-g-L4-s-5']);
  });

  it('spaces the demo ladder evenly, with four more digits than its bounds', () => {
    expect(gridPrices(D('60000'), D('70000'), 10).map(String)).toEqual([
      '60000',
      '61111.1111',
      '62222.2222',
      '63333.3333',
      '64444.4444',
      '65555.5555',
      '66666.6666',
      '67777.7777',
      '68888.8888',
      '70000',
    ]);
  });

  it('places the opposite order one level away when a level fills', () => {
    const ladder = placedLadder();
    const bought = stepGrid(FIVE_LEVELS, { state: ladder, market: market('124'), fills: [fill('bot-1-g-L1-b-3', 'buy', '125', '1')] });
    expect(show(bought.intents)).toEqual(['sell limit 1 @ 150 bot-1-g-L2-s-6']);

    const sold = stepGrid(FIVE_LEVELS, { state: ladder, market: market('176'), fills: [fill('bot-1-g-L3-s-4', 'sell', '175', '1')] });
    expect(show(sold.intents)).toEqual(['buy limit 1 @ 150 bot-1-g-L2-b-6']);
    expect(sold.state.base).toBe('1');
  });

  it('waits for the whole order: a partial fill places nothing', () => {
    const ladder = placedLadder();
    const part = stepGrid(FIVE_LEVELS, { state: ladder, market: market('125'), fills: [fill('bot-1-g-L1-b-3', 'buy', '125', '0.4')] });
    expect(part.intents).toEqual([]);
    const rest = stepGrid(FIVE_LEVELS, { state: part.state, market: market('125'), fills: [fill('bot-1-g-L1-b-3', 'buy', '125', '0.6')] });
    expect(show(rest.intents)).toEqual(['sell limit 1 @ 150 bot-1-g-L2-s-6']);
  });

  it('sells only the base a buy brought when its fee was charged in base, rounded down to the step', () => {
    const p = params({ lower: '100', upper: '200', levels: 5, orderSize: '1', stepSize: '0.01' });
    const first = stepGrid(p, { state: initialGridState('bot-1', 'BTC/USDT'), market: market('160') });
    const ladder = stepGrid(p, { state: first.state, market: market('160'), fills: [fill('bot-1-g-init-b-1', 'buy', '160', '2', '0.002', 'BTC')] });
    // 1.998 BTC arrived: the lower sell gets 1, the upper the 0.99 left on the step.
    expect(show(ladder.intents)).toEqual(['sell limit 1 @ 175 bot-1-g-L3-s-4', 'sell limit 0.99 @ 200 bot-1-g-L4-s-5']);
    const bought = stepGrid(p, { state: ladder.state, market: market('125'), fills: [fill('bot-1-g-L1-b-3', 'buy', '125', '1', '0.001', 'BTC')] });
    expect(show(bought.intents)).toEqual(['sell limit 0.99 @ 150 bot-1-g-L2-s-6']);
    expect(bought.state.fees).toEqual({ BTC: '0.003' });
  });

  it('places again, under a new id, an order that ended unfilled (cancelled or rejected)', () => {
    const ladder = placedLadder();
    const after = stepGrid(FIVE_LEVELS, { state: ladder, market: market('160'), endedOrders: ['bot-1-g-L0-b-2', 'bot-1-g-L3-s-4'] });
    expect(show(after.intents)).toEqual(['buy limit 1 @ 100 bot-1-g-L0-b-6', 'sell limit 1 @ 175 bot-1-g-L3-s-7']);
  });

  it('keeps one order per level when fills arrive out of order: the second waits for the level to free', () => {
    const ladder = placedLadder();
    // The buy at 100 is reported before the one at 125, which is still open: its sell must wait.
    const early = stepGrid(FIVE_LEVELS, { state: ladder, market: market('99'), fills: [fill('bot-1-g-L0-b-2', 'buy', '100', '1')] });
    expect(early.intents).toEqual([]);
    const late = stepGrid(FIVE_LEVELS, { state: early.state, market: market('99'), fills: [fill('bot-1-g-L1-b-3', 'buy', '125', '1')] });
    expect(show(late.intents)).toEqual(['sell limit 1 @ 125 bot-1-g-L1-s-6', 'sell limit 1 @ 150 bot-1-g-L2-s-7']);
  });

  it('rounds its prices and sizes down to the venue’s steps, which win over the parameters', () => {
    const p = params({ lower: '100', upper: '200', levels: 4, orderSize: '0.0157', tickSize: '0.1', stepSize: '0.0001' });
    const first = stepGrid(p, { state: initialGridState('bot-1', 'BTC/USDT'), market: market('101', { tickSize: D('1'), stepSize: D('0.001') }) });
    expect(show(first.intents)).toEqual(['buy market 0.045 bot-1-g-init-b-1']);
    expect(first.state.levels.map((l) => l.price)).toEqual(['100', '133', '166', '200']);
  });

  it('stops with a clear cause when the venue’s tick cannot hold the ladder', () => {
    const p = params({ lower: '100', upper: '101', levels: 4, orderSize: '1' });
    const run = (): unknown => stepGrid(p, { state: initialGridState('bot-1', 'BTC/USDT'), market: market('100', { tickSize: D('0.5') }) });
    expect(run).toThrow(StrategyError);
    expect(run).toThrow('4 levels are closer than tickSize 0.5');
  });

  it('refuses market data of another symbol and fills that contradict their order', () => {
    const ladder = placedLadder();
    expect(() => stepGrid(FIVE_LEVELS, { state: ladder, market: { ...market('160'), symbol: 'ETH/USDT' } })).toThrow(
      'market data for ETH/USDT given to a bot trading BTC/USDT',
    );
    expect(() => stepGrid(FIVE_LEVELS, { state: ladder, market: market('160'), fills: [fill('bot-1-g-L0-b-2', 'sell', '100', '1')] })).toThrow(
      'a sell fill for buy order bot-1-g-L0-b-2',
    );
  });

  it('reports fills it does not know and otherwise ignores them', () => {
    const ladder = placedLadder();
    const step = stepGrid(FIVE_LEVELS, { state: ladder, market: market('160'), fills: [fill('someone-else-1', 'buy', '100', '1')] });
    expect(step.unknownFills).toEqual(['someone-else-1']);
    expect(step.state).toEqual(ladder);
  });

  it('is pure and deterministic: same input, same output; the input state untouched; the state survives JSON', () => {
    const ladder = placedLadder();
    const snapshot = JSON.stringify(ladder);
    const input = { state: ladder, market: market('124'), fills: [fill('bot-1-g-L1-b-3', 'buy', '125', '1')] };
    const a = stepGrid(FIVE_LEVELS, input);
    const b = stepGrid(FIVE_LEVELS, input);
    expect(JSON.stringify(ladder)).toBe(snapshot);
    expect(show(a.intents)).toEqual(show(b.intents));
    expect(a.state).toEqual(b.state);
    expect(JSON.parse(JSON.stringify(a.state))).toEqual(a.state);
  });

  it('makes client order ids the gateway accepts from any bot id', () => {
    const longId = 'desk.eu-west.grid-btc-usdt-conservative-2025';
    const first = stepGrid(FIVE_LEVELS, { state: initialGridState(longId, 'BTC/USDT'), market: market('160') });
    const ids = first.intents.map((i) => i.clientOrderId);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{1,36}$/);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids[1]).toMatch(/-g-L0-b-2$/);
    const again = stepGrid(FIVE_LEVELS, { state: initialGridState(longId, 'BTC/USDT'), market: market('160') });
    expect(again.intents.map((i) => i.clientOrderId)).toEqual(ids);
  });
});

/** Cents → a price string. */
const price = (cents: number): string => Decimal.of(BigInt(cents)).dividedBy('100', 2, 'down').toString();

const gridCase = fc.record({
  lowerCents: fc.integer({ min: 1_000, max: 20_000 }),
  spanCents: fc.integer({ min: 500, max: 50_000 }),
  levels: fc.integer({ min: 2, max: 20 }),
  orderSize: fc.constantFrom('1', '0.5', '0.001', '0.123', '2.5'),
  stepSize: fc.option(fc.constantFrom('0.001', '0.0001'), { nil: undefined }),
  tickSize: fc.option(fc.constant('0.01'), { nil: undefined }),
  seed: fc.integer(),
  ticks: fc.integer({ min: 1, max: 120 }),
  chaos: fc.record({
    partial: fc.constantFrom(0, 0.3),
    delay: fc.constantFrom(0, 0.4),
    reject: fc.constantFrom(0, 0.05),
    cancel: fc.constantFrom(0, 0.02),
    baseFee: fc.constantFrom(0, 0.5),
  }),
});

type GridCase = Omit<typeof gridCase extends fc.Arbitrary<infer T> ? T : never, 'chaos'> & { chaos: VenueChaos };

/** Runs a grid against a paper venue on a random price walk; `check` sees both after every step. */
function runGrid(c: GridCase, check: (venue: PaperVenue, state: GridState, p: GridParams, market: MarketSnapshot) => void): PaperVenue {
  const p = params({
    lower: price(c.lowerCents),
    upper: price(c.lowerCents + c.spanCents),
    levels: c.levels,
    orderSize: c.orderSize,
    ...(c.stepSize && { stepSize: c.stepSize }),
    ...(c.tickSize && { tickSize: c.tickSize }),
  });
  const random = prng(c.seed);
  const venue = new PaperVenue(random, c.chaos);
  let cents = c.lowerCents + Math.floor(random() * c.spanCents);
  let state = initialGridState('bot-1', 'BTC/USDT');
  const levelWidth = Math.max(2, Math.floor(c.spanCents / (c.levels - 1)));
  for (let tick = 0; tick <= c.ticks; tick++) {
    const snapshot = { symbol: 'BTC/USDT', bid: D(price(cents - 1)), ask: D(price(cents + 1)), last: D(price(cents)), at: tick * 1000 };
    venue.match(snapshot);
    const reports = venue.deliver(tick === c.ticks);
    const step = stepGrid(p, { state, market: snapshot, ...reports });
    state = step.state;
    venue.submit(step.intents, snapshot);
    check(venue, state, p, snapshot);
    cents = Math.max(5, cents + Math.round((random() - 0.5) * 3 * levelWidth));
  }
  return venue;
}

describe('grid properties', () => {
  it('never holds two open orders at one level', () => {
    let filled = 0;
    fc.assert(
      fc.property(gridCase, (c) => {
        const venue = runGrid(c, (venue, state) => {
          const prices = venue.openOrders().flatMap((o) => (o.type === 'limit' ? [o.price!.toString()] : []));
          expect(new Set(prices).size).toBe(prices.length);
          expect(prices.every((p) => state.levels.some((l) => l.price === p))).toBe(true);
        });
        filled += [...venue.orders.values()].filter((o) => o.type === 'limit' && o.filled.isPositive()).length;
      }),
      { numRuns: 150 },
    );
    // The property is only worth something if levels filled and opposite orders followed.
    expect(filled).toBeGreaterThan(300);
  });

  it('never sells more base than it holds', () => {
    fc.assert(
      fc.property(gridCase, (c) => {
        runGrid(c, (venue, state) => {
          // At the venue (which also throws if a sell ever takes the base below zero)…
          const offered = venue
            .openOrders()
            .filter((o) => o.side === 'sell')
            .reduce((sum, o) => sum.plus(o.quantity).minus(o.filled), Decimal.ZERO);
          expect(offered.lte(venue.base)).toBe(true);
          // …and in its own books.
          const own = state.levels.reduce((sum, l) => (l.order?.side === 'sell' ? sum.plus(l.order.quantity).minus(l.order.filled) : sum), Decimal.ZERO);
          expect(own.lte(state.base)).toBe(true);
        });
      }),
      { numRuns: 150 },
    );
  });

  it('a step with nothing new, at any price, changes nothing; most return the very same state, uncopied', () => {
    let same = 0;
    let steps = 0;
    fc.assert(
      fc.property(gridCase, fc.integer({ min: -50, max: 50 }), (c, move) => {
        runGrid(c, (_venue, state, p, market) => {
          const moved = market.last.times(Decimal.of(String(100 + move))).dividedBy('100', 2, 'down');
          const again = stepGrid(p, { state, market: { ...market, bid: moved, ask: moved, last: moved, at: market.at + 1 } });
          expect(again.intents).toEqual([]);
          expect(again.state).toEqual(state);
          steps++;
          if (again.state === state) same++;
        });
      }),
      { numRuns: 100 },
    );
    expect(same / steps).toBeGreaterThan(0.5);
  });

  it('with an orderly venue, keeps its ladder whole: levels − 1 orders once the base is bought', () => {
    fc.assert(
      fc.property(gridCase, (c) => {
        runGrid({ ...c, chaos: CALM }, (venue, state) => {
          if (state.init) return;
          expect(venue.openOrders().filter((o) => o.type === 'limit').length).toBe(state.levels.length - 1);
        });
      }),
      { numRuns: 100 },
    );
  });
});
