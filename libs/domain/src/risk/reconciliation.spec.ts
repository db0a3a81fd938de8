import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Decimal } from '../decimal-math.js';
import {
  adjustmentsToMatch,
  compareBalances,
  compareOpenOrders,
  confirmSightings,
  fillMovements,
  parseTolerances,
  sightingsOf,
  splitSymbol,
  type KnownOrder,
  type ReconciliationTolerances,
  type Sighting,
  type VenueOpenOrder,
} from './reconciliation.js';

const D = Decimal.of;
const TOL: ReconciliationTolerances = { default: D('0.00001'), perAsset: new Map([['USDT', D('0.01')]]) };
const balances = (entries: Record<string, string>) => new Map(Object.entries(entries).map(([k, v]) => [k, D(v)]));
const show = (movements: ReturnType<typeof fillMovements>['movements']) => movements.map((m) => [m.leg, m.asset, m.amount.toString()]);

describe('fillMovements: the ledger entries of one fill', () => {
  it('a buy adds base, takes quote, and the fee in its currency (base on the simulator, as on Binance)', () => {
    const { movements, problem } = fillMovements({
      symbol: 'BTC/USDT',
      side: 'buy',
      quantity: D('0.01'),
      price: D('60000.5'),
      fee: D('0.00001'),
      feeCurrency: 'BTC',
    });
    expect(problem).toBeUndefined();
    expect(show(movements)).toEqual([
      ['base', 'BTC', '0.01'],
      ['quote', 'USDT', '-600.005'],
      ['fee', 'BTC', '-0.00001'],
    ]);
  });

  it('a sell takes base, adds quote; the fee in quote', () => {
    const { movements } = fillMovements({ symbol: 'ETH/USDT', side: 'sell', quantity: D('2'), price: D('3000'), fee: D('6'), feeCurrency: 'USDT' });
    expect(show(movements)).toEqual([
      ['base', 'ETH', '-2'],
      ['quote', 'USDT', '6000'],
      ['fee', 'USDT', '-6'],
    ]);
  });

  it('a zero fee makes no entry; a fee without currency is not booked and named', () => {
    const fill = { symbol: 'BTC/USDT', side: 'buy' as const, quantity: D('1'), price: D('10') };
    expect(fillMovements({ ...fill, fee: D('0'), feeCurrency: null }).movements).toHaveLength(2);
    const noCurrency = fillMovements({ ...fill, fee: D('0.1'), feeCurrency: null });
    expect(noCurrency.movements).toHaveLength(2);
    expect(noCurrency.problem).toMatch(/0.1 without a currency/);
  });

  it('refuses what is not an execution', () => {
    const fill = { symbol: 'BTC/USDT', side: 'buy' as const, quantity: D('1'), price: D('10'), fee: D('0'), feeCurrency: null };
    expect(() => fillMovements({ ...fill, symbol: 'BTCUSDT' })).toThrow(/BASE\/QUOTE/);
    expect(() => fillMovements({ ...fill, quantity: D('0') })).toThrow(/not an execution/);
    expect(() => fillMovements({ ...fill, price: D('0') })).toThrow(/not an execution/);
    expect(() => fillMovements({ ...fill, fee: D('-1') })).toThrow(/rebate/);
  });

  it('property: a buy and a sell of the same quantity at the same price leave only the fees', () => {
    const dec = fc
      .tuple(fc.bigInt({ min: 1n, max: 10n ** 12n }), fc.integer({ min: 0, max: 8 }))
      .map(([units, scale]) => D(units).dividedBy(D(10n ** BigInt(scale)), scale, 'down'));
    const positive = dec.filter((d) => d.isPositive());
    fc.assert(
      fc.property(positive, positive, fc.constantFrom('0', '0.001', '1.5'), (quantity, price, fee) => {
        const net = new Map<string, Decimal>();
        for (const side of ['buy', 'sell'] as const) {
          for (const m of fillMovements({ symbol: 'BTC/USDT', side, quantity, price, fee: D(fee), feeCurrency: 'USDT' }).movements) {
            net.set(m.asset, (net.get(m.asset) ?? Decimal.ZERO).plus(m.amount));
          }
        }
        expect(net.get('BTC')?.isZero()).toBe(true);
        expect(net.get('USDT')?.toString()).toBe(D(fee).times('2').negated().toString());
      }),
    );
  });
});

describe('splitSymbol and parseTolerances', () => {
  it('splits BASE/QUOTE', () => {
    expect(splitSymbol('BTC/USDT')).toEqual({ base: 'BTC', quote: 'USDT' });
    expect(splitSymbol('btc/usdt')).toEqual({ error: expect.stringContaining('BASE/QUOTE') });
  });

  it('reads ASSET=decimal entries and names every bad one', () => {
    const ok = parseTolerances(' USDT=0.01, BTC=0.00001 ,');
    expect('perAsset' in ok && [...ok.perAsset].map(([a, t]) => [a, t.toString()])).toEqual([
      ['USDT', '0.01'],
      ['BTC', '0.00001'],
    ]);
    expect(parseTolerances('')).toEqual({ perAsset: new Map() });
    expect(parseTolerances('USDT=-1,BTC,ETH=1,ETH=2')).toEqual({
      errors: [expect.stringContaining('"USDT=-1"'), expect.stringContaining('"BTC"'), 'ETH given twice'],
    });
  });
});

describe('compareBalances', () => {
  it('compares every asset either side has; missing = 0; over tolerance only beyond it, per asset', () => {
    const rows = compareBalances(balances({ BTC: '1.5', USDT: '100.01', ETH: '0.000005' }), balances({ BTC: '1', USDT: '100', SOL: '2' }), TOL);
    expect(rows.map((r) => [r.asset, r.venue.toString(), r.ledger.toString(), r.difference.toString(), r.tolerance.toString(), r.overTolerance])).toEqual([
      ['BTC', '1.5', '1', '0.5', '0.00001', true],
      ['ETH', '0.000005', '0', '0.000005', '0.00001', false],
      ['SOL', '0', '2', '-2', '0.00001', true],
      ['USDT', '100.01', '100', '0.01', '0.01', false],
    ]);
  });

  it('property: after the adjustments, the ledger matches the venue exactly, and nothing is adjusted when it already does', () => {
    const amount = fc.bigInt({ min: 0n, max: 10n ** 15n }).map((u) => D(u).dividedBy(D(10n ** 8n), 8, 'down'));
    const side = fc.dictionary(fc.constantFrom('BTC', 'ETH', 'USDT', 'SOL'), amount);
    fc.assert(
      fc.property(side, side, (v, l) => {
        const venue = new Map(Object.entries(v));
        const ledger = new Map(Object.entries(l));
        const after = new Map(ledger);
        for (const a of adjustmentsToMatch(compareBalances(venue, ledger, TOL))) after.set(a.asset, (after.get(a.asset) ?? Decimal.ZERO).plus(a.amount));
        const again = compareBalances(venue, after, TOL);
        expect(again.every((c) => c.difference.isZero())).toBe(true);
        expect(adjustmentsToMatch(again)).toEqual([]);
      }),
    );
  });
});

describe('compareOpenOrders', () => {
  const venueOrder = (venueOrderId: string, clientOrderId: string | null): VenueOpenOrder => ({ venueOrderId, clientOrderId, symbol: 'BTC/USDT', side: 'buy' });
  const known = (clientOrderId: string, state: KnownOrder['state'], over: Partial<KnownOrder> = {}): KnownOrder => ({
    clientOrderId,
    venueOrderId: null,
    botId: 'b-1',
    symbol: 'BTC/USDT',
    side: 'buy',
    state,
    createdAt: 1000,
    ...over,
  });

  it('matches by client order id or venue id; names orders only the venue has and orders it should have but lacks', () => {
    const findings = compareOpenOrders({
      venue: [venueOrder('11', 'c-open'), venueOrder('12', null), venueOrder('13', 'c-ended-here'), venueOrder('14', null)],
      known: [
        known('c-open', 'OPEN'),
        known('c-by-venue-id', 'PARTIALLY_FILLED', { venueOrderId: '14' }),
        known('c-gone', 'OPEN', { venueOrderId: '9', botId: 'b-2' }),
        known('c-sending', 'PENDING_SUBMIT'),
        known('c-unknown', 'UNKNOWN'),
        known('c-canceling', 'PENDING_CANCEL'),
        known('c-too-new', 'OPEN', { createdAt: 5000 }),
      ],
      venueReadAt: 2000,
    });
    expect(findings.map((f) => [f.kind, f.subject, f.clientOrderId, f.botId])).toEqual([
      ['UNKNOWN_VENUE_ORDER', '12', null, null],
      ['UNKNOWN_VENUE_ORDER', '13', 'c-ended-here', null],
      ['MISSING_VENUE_ORDER', 'c-gone', 'c-gone', 'b-2'],
    ]);
  });

  it('finds nothing when both sides agree', () => {
    expect(compareOpenOrders({ venue: [venueOrder('1', 'a')], known: [known('a', 'OPEN')], venueReadAt: 2000 })).toEqual([]);
    expect(compareOpenOrders({ venue: [], known: [], venueReadAt: 2000 })).toEqual([]);
  });
});

describe('confirmSightings: a difference raises only when seen twice', () => {
  const balance = (difference: string, accountId = 'acc', asset = 'BTC'): Sighting => ({
    accountId,
    kind: 'BALANCE',
    subject: asset,
    difference: D(difference),
    tolerance: D('0.00001'),
  });

  it('a drift that stays put is confirmed; one that changed or vanished (a fill in flight) is not', () => {
    expect(confirmSightings([balance('0.5')], [balance('0.5')])).toEqual([balance('0.5')]);
    expect(confirmSightings([balance('0.5')], [balance('0.500005')])).toHaveLength(1);
    expect(confirmSightings([balance('0.01')], [balance('0.5')])).toEqual([]);
    expect(confirmSightings([balance('0.5')], [])).toEqual([]);
    expect(confirmSightings([], [balance('0.5')])).toEqual([]);
    expect(confirmSightings([balance('0.5', 'other')], [balance('0.5')])).toEqual([]);
    expect(confirmSightings([balance('0.5', 'acc', 'ETH')], [balance('0.5')])).toEqual([]);
  });

  it('an order finding is confirmed when the same order is found again', () => {
    const order: Sighting = { accountId: 'acc', kind: 'UNKNOWN_VENUE_ORDER', subject: '42' };
    expect(confirmSightings([order], [order])).toEqual([order]);
    expect(confirmSightings([{ ...order, kind: 'MISSING_VENUE_ORDER' }], [order])).toEqual([]);
  });

  it('sightingsOf keeps the balances over tolerance and every order finding', () => {
    const rows = compareBalances(balances({ BTC: '1.5', USDT: '100' }), balances({ BTC: '1', USDT: '100' }), TOL);
    const sightings = sightingsOf('acc', rows, [
      { kind: 'UNKNOWN_VENUE_ORDER', subject: '7', clientOrderId: null, venueOrderId: '7', botId: null, symbol: 'BTC/USDT', side: 'buy' },
    ]);
    expect(sightings.map((s) => [s.kind, s.subject, s.difference?.toString()])).toEqual([
      ['BALANCE', 'BTC', '0.5'],
      ['UNKNOWN_VENUE_ORDER', '7', undefined],
    ]);
  });
});
