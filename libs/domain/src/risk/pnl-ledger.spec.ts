import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Decimal } from '../decimal-math.js';
import { PnlLedger, type EquityFigures, type LedgerFill } from './pnl-ledger.js';

const D = (v: string): Decimal => Decimal.of(v);
const DAY = 86_400_000;
/** 2025-03-10T00:00:00Z. */
const MIDNIGHT = Date.UTC(2025, 2, 10);
const T0 = MIDNIGHT + 9 * 3_600_000;

let seq = 0;
function fill(
  overrides: Omit<Partial<LedgerFill>, 'price' | 'quantity'> & Pick<LedgerFill, 'side'> & { price: string | Decimal; quantity: string | Decimal },
): LedgerFill {
  seq += 1;
  const { price, quantity, ...rest } = overrides;
  return {
    tradeId: `t${seq}`,
    clientOrderId: `o${seq}`,
    botId: 'b1',
    exchangeId: 'ex',
    symbol: 'BTC/USDT',
    fee: Decimal.ZERO,
    feeCurrency: 'USDT',
    at: T0,
    ...rest,
    price: Decimal.of(price),
    quantity: Decimal.of(quantity),
  };
}

/** Figures as plain strings, for readable expectations. */
function show(f: EquityFigures) {
  return {
    realized: f.realizedPnl.toString(),
    unrealized: f.unrealizedPnl.toString(),
    fees: f.fees.toString(),
    equity: f.equity.toString(),
    peak: f.peak.toString(),
    drawdown: f.drawdown.toString(),
    daily: f.dailyPnl.toString(),
  };
}

describe('PnL ledger', () => {
  it('keeps a position per holder and instrument by average cost, realized against the average, unrealized at the mark', () => {
    const ledger = new PnlLedger();
    ledger.apply(fill({ side: 'buy', price: '100', quantity: '1' }));
    ledger.apply(fill({ side: 'buy', price: '200', quantity: '1' }));
    ledger.apply(fill({ side: 'sell', price: '180', quantity: '1' }));
    ledger.mark('ex', 'BTC/USDT', D('170'), T0 + 1);
    const [p] = ledger.positions();
    expect(p).toMatchObject({ botId: 'b1', exchangeId: 'ex', symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', fills: 3, markSource: 'market' });
    expect([p!.quantity, p!.averageCost, p!.realizedPnl, p!.markPrice, p!.unrealizedPnl, p!.notional, p!.equity].map(String)).toEqual([
      '1',
      '150',
      '30',
      '170',
      '20',
      '170',
      '50',
    ]);
  });

  it('values each fee in quote: quote as is, base at the fill price, a third currency at the price given, else keeps it apart', () => {
    const ledger = new PnlLedger();
    ledger.apply(fill({ side: 'buy', price: '100', quantity: '1', fee: D('0.1'), feeCurrency: 'USDT' }));
    ledger.apply(fill({ side: 'buy', price: '100', quantity: '1', fee: D('0.001'), feeCurrency: 'BTC' }));
    ledger.apply(fill({ side: 'sell', price: '100', quantity: '1', fee: D('0.02'), feeCurrency: 'BNB', feeCurrencyPrice: D('600') }));
    ledger.apply(fill({ side: 'sell', price: '100', quantity: '1', fee: D('0.03'), feeCurrency: 'BNB' }));
    const [p] = ledger.positions();
    // 0.1 + 0.001 × 100 + 0.02 × 600; the last BNB fee has no price: apart, not in equity.
    expect(p!.fees.toString()).toBe('12.2');
    expect(Object.fromEntries(Object.entries(p!.unpricedFees).map(([c, v]) => [c, v.toString()]))).toEqual({ BNB: '0.03' });
    // A fee in base does not shrink the position: the executed quantities net to zero.
    expect(p!.quantity.toString()).toBe('0');
    expect(show(ledger.holderFigures('b1', T0))).toMatchObject({ realized: '0', unrealized: '0', fees: '12.2', equity: '-12.2' });
    expect(ledger.firmFigures(T0).unpricedFees.BNB?.toString()).toBe('0.03');
  });

  it('applies a fill once per order and trade id; the same trade id of another order is another fill', () => {
    const ledger = new PnlLedger();
    const first = fill({ side: 'buy', price: '100', quantity: '1' });
    expect(ledger.apply(first)).toBe(true);
    expect(ledger.apply({ ...first, price: D('1') })).toBe(false);
    expect(ledger.positions()[0]!.quantity.toString()).toBe('1');
    expect(ledger.apply({ ...first, clientOrderId: 'other' })).toBe(true);
    expect(ledger.positions()[0]!.quantity.toString()).toBe('2');
    expect(ledger.has(first.clientOrderId, first.tradeId)).toBe(true);
  });

  it('refuses a fill that cannot be, and applies nothing of it', () => {
    const ledger = new PnlLedger();
    expect(() => ledger.apply(fill({ side: 'buy', price: '100', quantity: '0' }))).toThrow(RangeError);
    expect(() => ledger.apply(fill({ side: 'buy', price: '100', quantity: '1', fee: D('-1') }))).toThrow(RangeError);
    expect(() => ledger.apply(fill({ side: 'buy', price: '100', quantity: '1', symbol: 'BTCUSDT' }))).toThrow(RangeError);
    expect(ledger.positions()).toEqual([]);
    expect(ledger.bots()).toEqual([]);
  });

  it('marks at the younger of the market price and the last fill', () => {
    const ledger = new PnlLedger();
    ledger.apply(fill({ side: 'buy', price: '100', quantity: '1', at: T0 }));
    expect(ledger.positions()[0]).toMatchObject({ markSource: 'fill', markAt: T0 });
    ledger.mark('ex', 'BTC/USDT', D('110'), T0 + 1000);
    expect(ledger.positions()[0]!.unrealizedPnl.toString()).toBe('10');
    // An older market price does not replace a younger one.
    ledger.mark('ex', 'BTC/USDT', D('90'), T0 + 500);
    expect(ledger.positions()[0]!.markPrice.toString()).toBe('110');
    // A fill after the market price: its price is the mark.
    ledger.apply(fill({ side: 'buy', price: '105', quantity: '1', at: T0 + 2000 }));
    expect(ledger.positions()[0]).toMatchObject({ markSource: 'fill' });
    expect(ledger.positions()[0]!.markPrice.toString()).toBe('105');
  });

  it('follows the peak of the equity and the drawdown from it, on fills and on marks', () => {
    const ledger = new PnlLedger();
    ledger.apply(fill({ side: 'buy', price: '100', quantity: '2' }));
    expect(show(ledger.holderFigures('b1', T0))).toMatchObject({ equity: '0', peak: '0', drawdown: '0' });
    ledger.mark('ex', 'BTC/USDT', D('120'), T0 + 1);
    ledger.observeAll(T0 + 1);
    expect(show(ledger.holderFigures('b1', T0 + 1))).toMatchObject({ equity: '40', peak: '40', drawdown: '0' });
    ledger.mark('ex', 'BTC/USDT', D('95'), T0 + 2);
    ledger.observeAll(T0 + 2);
    expect(show(ledger.holderFigures('b1', T0 + 2))).toMatchObject({ unrealized: '-10', equity: '-10', peak: '40', drawdown: '50' });
    // Selling realizes the loss: the drawdown stays; the firm's is the same (one holder).
    ledger.apply(fill({ side: 'sell', price: '95', quantity: '2', fee: D('0.19'), at: T0 + 3 }));
    expect(show(ledger.holderFigures('b1', T0 + 3))).toMatchObject({ realized: '-10', unrealized: '0', fees: '0.19', equity: '-10.19', drawdown: '50.19' });
    expect(show(ledger.firmFigures(T0 + 3))).toMatchObject({ equity: '-10.19', peak: '40', drawdown: '50.19' });
  });

  it('counts the daily PnL from the equity last observed before 00:00 UTC', () => {
    const ledger = new PnlLedger();
    ledger.apply(fill({ side: 'buy', price: '100', quantity: '1', at: T0 }));
    ledger.mark('ex', 'BTC/USDT', D('110'), T0 + 1000);
    ledger.observeAll(T0 + 1000);
    expect(ledger.holderFigures('b1', T0 + 1000).dailyPnl.toString()).toBe('10');
    // The next day, before any observation: the day starts from the last equity seen (10).
    ledger.mark('ex', 'BTC/USDT', D('104'), MIDNIGHT + DAY + 60_000);
    expect(ledger.holderFigures('b1', MIDNIGHT + DAY + 60_000).dailyPnl.toString()).toBe('-6');
    ledger.observeAll(MIDNIGHT + DAY + 60_000);
    ledger.apply(fill({ side: 'sell', price: '101', quantity: '1', at: MIDNIGHT + DAY + 120_000 }));
    expect(show(ledger.holderFigures('b1', MIDNIGHT + DAY + 120_000))).toMatchObject({ realized: '1', equity: '1', daily: '-9' });
    // The day after, nothing moved: 0.
    expect(ledger.holderFigures('b1', MIDNIGHT + 2 * DAY + 1).dailyPnl.toString()).toBe('0');
  });

  it('keeps the bots, the manual orders and the firm apart; filters by bot and exchange; names the quote unless mixed', () => {
    const ledger = new PnlLedger();
    ledger.apply(fill({ side: 'buy', price: '100', quantity: '1', botId: 'b1' }));
    ledger.apply(fill({ side: 'buy', price: '100', quantity: '2', botId: 'b2', exchangeId: 'other' }));
    ledger.apply(fill({ side: 'sell', price: '100', quantity: '1', botId: null }));
    ledger.mark('ex', 'BTC/USDT', D('90'), T0 + 1);
    ledger.mark('other', 'BTC/USDT', D('110'), T0 + 1);
    expect(ledger.bots()).toEqual(['b1', 'b2']);
    expect(ledger.holderFigures('b1', T0 + 1).equity.toString()).toBe('-10');
    expect(ledger.holderFigures('b2', T0 + 1).equity.toString()).toBe('20');
    expect(ledger.holderFigures(null, T0 + 1).equity.toString()).toBe('10');
    expect(ledger.firmFigures(T0 + 1)).toMatchObject({ currency: 'USDT', positions: 3 });
    expect(ledger.firmFigures(T0 + 1).equity.toString()).toBe('20');
    expect(ledger.positions({ exchangeId: 'ex' }).map((p) => p.botId)).toEqual(['b1', null]);
    expect(ledger.positions({ botId: null }).map((p) => p.quantity.toString())).toEqual(['-1']);
    expect(ledger.positions({ botId: 'b2', exchangeId: 'ex' })).toEqual([]);
    expect(ledger.instruments()).toEqual([
      { exchangeId: 'ex', symbol: 'BTC/USDT' },
      { exchangeId: 'other', symbol: 'BTC/USDT' },
    ]);
    ledger.apply(fill({ side: 'buy', price: '0.05', quantity: '1', botId: 'b1', symbol: 'ETH/BTC' }));
    expect(ledger.firmFigures(T0 + 1).currency).toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------------

interface Op {
  bot: number;
  symbol: number;
  side: 'buy' | 'sell';
  /** Price in cents. */
  cents: number;
  /** Quantity in thousandths. */
  milli: number;
  /** Fee in quote, in cents. */
  feeCents: number;
}

const opArb: fc.Arbitrary<Op> = fc.record({
  bot: fc.nat(2),
  symbol: fc.nat(1),
  side: fc.constantFrom('buy' as const, 'sell' as const),
  cents: fc.integer({ min: 1, max: 2_000_000 }),
  milli: fc.integer({ min: 1, max: 5000 }),
  feeCents: fc.integer({ min: 0, max: 500 }),
});
const SYMBOLS = ['BTC/USDT', 'ETH/USDT'];
const cents = (n: number) => Decimal.of(BigInt(n)).dividedBy('100', 2, 'down');
const milli = (n: number) => Decimal.of(BigInt(n)).dividedBy('1000', 3, 'down');
const botOf = (n: number) => (n === 2 ? null : `bot${n}`);

function toFill(op: Op, i: number): LedgerFill {
  return {
    tradeId: `t${i}`,
    clientOrderId: `o${i}`,
    botId: botOf(op.bot),
    exchangeId: 'ex',
    symbol: SYMBOLS[op.symbol]!,
    side: op.side,
    price: cents(op.cents),
    quantity: milli(op.milli),
    fee: cents(op.feeCents),
    feeCurrency: 'USDT',
    at: T0 + i * 1000,
  };
}

describe('PnL ledger properties', () => {
  it('a position is always the signed sum of its fills, and a fill seen twice changes nothing', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), fc.array(fc.nat(), { maxLength: 10 }), (ops, replays) => {
        const ledger = new PnlLedger();
        const fills = ops.map(toFill);
        fills.forEach((f) => ledger.apply(f));
        for (const r of replays) if (fills.length) expect(ledger.apply(fills[r % fills.length]!)).toBe(false);
        for (const p of ledger.positions()) {
          const sum = fills
            .filter((f) => (f.botId ?? null) === p.botId && f.symbol === p.symbol)
            .reduce((acc, f) => (f.side === 'buy' ? acc.plus(f.quantity) : acc.minus(f.quantity)), Decimal.ZERO);
          expect(p.quantity.toString()).toBe(sum.toString());
        }
      }),
    );
  });

  it('equity = quote received − quote paid − fees + position × mark, whatever the order of the fills; the firm is the sum of its holders', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), fc.integer({ min: 1, max: 2_000_000 }), (ops, markCents) => {
        const ledger = new PnlLedger();
        const fills = ops.map(toFill);
        fills.forEach((f) => ledger.apply(f));
        const now = T0 + fills.length * 1000 + 1;
        for (const symbol of SYMBOLS) ledger.mark('ex', symbol, cents(markCents), now);
        let expected = Decimal.ZERO;
        for (const f of fills) {
          const gross = f.quantity.times(f.price);
          expected = (f.side === 'sell' ? expected.plus(gross) : expected.minus(gross)).minus(f.fee);
          expected = expected.plus((f.side === 'buy' ? f.quantity : f.quantity.negated()).times(cents(markCents)));
        }
        const firm = ledger.firmFigures(now);
        // Exact: the cost shares taken on partial reductions are rounded, but what is left takes the rest.
        expect(firm.equity.toString()).toBe(expected.toString());
        const holders = [...ledger.bots(), null].map((b) => ledger.holderFigures(b, now).equity);
        expect(holders.reduce((a, b) => a.plus(b), Decimal.ZERO).toString()).toBe(firm.equity.toString());
      }),
    );
  });

  it('a round trip at one price realizes nothing: equity = −fees (in quote, and in base valued at that price)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2_000_000 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 0, max: 500 }),
        fc.integer({ min: 0, max: 50 }),
        fc.constantFrom('buy' as const, 'sell' as const),
        (priceCents, qtyMilli, quoteFeeCents, baseFeeMicro, first) => {
          const ledger = new PnlLedger();
          const price = cents(priceCents);
          const quantity = milli(qtyMilli);
          const baseFee = Decimal.of(BigInt(baseFeeMicro)).dividedBy('1000000', 6, 'down');
          const base = { exchangeId: 'ex', symbol: 'BTC/USDT', botId: 'b', price, quantity, at: T0 };
          ledger.apply({ ...base, tradeId: '1', clientOrderId: 'a', side: first, fee: cents(quoteFeeCents), feeCurrency: 'USDT' });
          ledger.apply({ ...base, tradeId: '2', clientOrderId: 'b', side: first === 'buy' ? 'sell' : 'buy', fee: baseFee, feeCurrency: 'BTC' });
          const fees = cents(quoteFeeCents).plus(baseFee.times(price));
          const f = ledger.holderFigures('b', T0);
          expect(f.realizedPnl.isZero()).toBe(true);
          expect(f.unrealizedPnl.isZero()).toBe(true);
          expect(f.fees.toString()).toBe(fees.toString());
          expect(f.realizedPnl.minus(f.fees).toString()).toBe(fees.negated().toString());
          expect(f.equity.toString()).toBe(fees.negated().toString());
        },
      ),
    );
  });

  it('the peak is never below zero nor below the equity, the drawdown never negative, whatever the fills and marks', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            opArb.map((op) => ({ op })),
            fc.integer({ min: 1, max: 2_000_000 }).map((mark) => ({ mark })),
          ),
          { maxLength: 40 },
        ),
        (steps) => {
          const ledger = new PnlLedger();
          let lowestPeak = Decimal.ZERO;
          steps.forEach((step, i) => {
            const at = T0 + i * 3_600_000;
            if ('op' in step) ledger.apply(toFill(step.op, i));
            else {
              for (const symbol of SYMBOLS) ledger.mark('ex', symbol, cents(step.mark), at);
              ledger.observeAll(at);
            }
            const firm = ledger.firmFigures(at);
            expect(firm.peak.gte(Decimal.ZERO) && firm.peak.gte(firm.equity) && !firm.drawdown.isNegative()).toBe(true);
            // The peak only goes up.
            expect(firm.peak.gte(lowestPeak)).toBe(true);
            lowestPeak = firm.peak;
          });
        },
      ),
    );
  });

  it('peaks follow every equity observed, per holder and firm-wide, through fills and marks (firm totals kept per instrument)', () => {
    const markArb = fc.record({ symbol: fc.nat(1), cents: fc.integer({ min: 1, max: 2_000_000 }) });
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            opArb.map((op) => ({ op })),
            markArb.map((mark) => ({ mark })),
          ),
          { maxLength: 40 },
        ),
        (steps) => {
          const ledger = new PnlLedger();
          const holders = [null, 'bot0', 'bot1'];
          const seen = new Map<string | null, Decimal>(holders.map((h) => [h, Decimal.ZERO]));
          let firmSeen = Decimal.ZERO;
          let now = T0;
          steps.forEach((step, i) => {
            now += 1000;
            // A fill observes its holder and the firm; marks, once observed, every holder and the firm.
            let observed = holders;
            if ('op' in step) {
              ledger.apply({ ...toFill(step.op, i), at: now });
              observed = [botOf(step.op.bot)];
            } else {
              ledger.mark('ex', SYMBOLS[step.mark.symbol]!, cents(step.mark.cents), now);
              ledger.observeAll(now);
            }
            // What a full valuation says now: the peaks must have seen it.
            for (const h of observed) seen.set(h, Decimal.max(seen.get(h)!, ledger.holderFigures(h, now).equity));
            firmSeen = Decimal.max(firmSeen, ledger.firmFigures(now).equity);
          });
          // A peak is at least the equity now, observed or not.
          for (const h of holders) {
            const figures = ledger.holderFigures(h, now);
            expect(figures.peak.toString()).toBe(Decimal.max(seen.get(h)!, figures.equity).toString());
          }
          expect(ledger.firmFigures(now).peak.toString()).toBe(firmSeen.toString());
        },
      ),
    );
  });
});
