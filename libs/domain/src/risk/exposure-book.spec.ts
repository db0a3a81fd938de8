import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Decimal } from '../decimal-math.js';
import type { OrderState } from '../order-state.js';
import { ExposureBook, worstCaseQuantity, type BookOrder, type Holding, type OrderReport } from './exposure-book.js';
import { NO_LIMITS, parseLimitScope, type LimitLookup, type ParsedLimitScope, type RiskLimits } from './limits.js';
import type { MarketQuote } from './market-quote.js';
import { MESSAGE_RATE_WINDOW_MS, checkPreTrade, scopeExposure, type PreTradeOrder, type TradingStateView } from './pre-trade-checks.js';

const D = Decimal.of;
const newBook = () => new ExposureBook({ approvalTtlMs: 60_000, tombstoneTtlMs: 600_000, recentWindowMs: 5_000 });
const order = (id: string, over: Partial<BookOrder> = {}): BookOrder => ({
  clientOrderId: id,
  botId: 'b-1',
  exchangeId: 'x',
  accountId: 'a',
  symbol: 'BTC/USDT',
  side: 'buy',
  type: 'limit',
  quantity: D('1'),
  price: D('100'),
  ...over,
});
const reportOf = (o: BookOrder, state: OrderState, filled = '0'): OrderReport => ({
  clientOrderId: o.clientOrderId,
  botId: o.botId ?? null,
  exchangeId: o.exchangeId,
  accountId: o.accountId ?? 'a',
  symbol: o.symbol,
  side: o.side,
  quantity: o.quantity,
  price: o.price ?? null,
  state,
  filled: D(filled),
});
const plain = (h: Holding) => ({ position: h.position.toString(), openBuy: h.openBuy.toString(), openSell: h.openSell.toString() });

describe('ExposureBook: an order counts from its approval until the gateway says it ended', () => {
  it('counts an approval, and releases it when the gateway refuses it (never sent)', () => {
    const book = newBook();
    expect(book.approve(order('o1'), 0)).toBe(true);
    expect(book.approve(order('o1', { quantity: D('5') }), 1)).toBe(false);
    expect(plain(book.holding('x', 'BTC/USDT', 'b-1'))).toEqual({ position: '0', openBuy: '1', openSell: '0' });
    book.refused('o1');
    expect(plain(book.instrumentHolding('x', 'BTC/USDT'))).toEqual({ position: '0', openBuy: '0', openSell: '0' });
    expect(book.status('o1')).toBeUndefined();
  });

  it('moves filled base to the position and releases the rest on a cancel; late events change nothing', () => {
    const book = newBook();
    const o = order('o2', { side: 'sell', quantity: D('2') });
    book.approve(o, 0);
    book.report(reportOf(o, 'OPEN'), 1);
    book.fill(reportOf(o, 'PARTIALLY_FILLED', '0.5'), { tradeId: 't1', quantity: D('0.5'), price: D('100') }, 2);
    book.fill(reportOf(o, 'PARTIALLY_FILLED', '0.5'), { tradeId: 't1', quantity: D('0.5'), price: D('100') }, 3); // the same trade again
    expect(plain(book.holding('x', 'BTC/USDT', 'b-1'))).toEqual({ position: '-0.5', openBuy: '0', openSell: '1.5' });
    book.report(reportOf(o, 'CANCELED', '0.5'), 4);
    expect(plain(book.holding('x', 'BTC/USDT', 'b-1'))).toEqual({ position: '-0.5', openBuy: '0', openSell: '0' });
    book.report(reportOf(o, 'OPEN'), 5);
    expect(plain(book.holding('x', 'BTC/USDT', 'b-1'))).toEqual({ position: '-0.5', openBuy: '0', openSell: '0' });
  });

  it('keeps counting base the venue reported filled until its fills are seen', () => {
    const book = newBook();
    const o = order('o3');
    book.approve(o, 0);
    book.report(reportOf(o, 'FILLED', '1'), 1);
    expect(plain(book.holding('x', 'BTC/USDT', 'b-1'))).toEqual({ position: '0', openBuy: '1', openSell: '0' });
    book.fill(reportOf(o, 'FILLED', '1'), { tradeId: 't1', quantity: D('0.4'), price: D('99') }, 2);
    book.fill(reportOf(o, 'FILLED', '1'), { tradeId: 't2', quantity: D('0.6'), price: D('99') }, 3);
    expect(plain(book.holding('x', 'BTC/USDT', 'b-1'))).toEqual({ position: '1', openBuy: '0', openSell: '0' });
    expect(book.lastPrice('x', 'BTC/USDT')?.toString()).toBe('99');
  });

  it('an order filled at once: its fills come before its acceptance, which then changes nothing', () => {
    const book = newBook();
    const o = order('o4', { type: 'market', price: undefined });
    book.approve(o, 0, D('100'));
    book.fill(reportOf(o, 'FILLED', '1'), { tradeId: 't1', quantity: D('1'), price: D('101') }, 1);
    book.report(reportOf(o, 'FILLED', '1'), 2);
    expect(plain(book.holding('x', 'BTC/USDT', 'b-1'))).toEqual({ position: '1', openBuy: '0', openSell: '0' });
  });

  it('counts a live order it never approved (another replica, or before the stream began)', () => {
    const book = newBook();
    book.report(reportOf(order('o5', { botId: undefined }), 'UNKNOWN'), 0);
    expect(plain(book.holding('x', 'BTC/USDT', undefined))).toEqual({ position: '0', openBuy: '1', openSell: '0' });
    book.report(reportOf(order('o6'), 'REJECTED'), 0);
    expect(book.status('o6')).toBeUndefined();
  });

  it('drops approvals the gateway never spoke of, and forgets ended orders after a while', () => {
    const book = newBook();
    book.approve(order('stale'), 0);
    book.approve(order('fresh'), 50_000);
    const ended = order('ended');
    book.approve(ended, 0);
    book.report(reportOf(ended, 'CANCELED'), 1000);
    book.sweep(70_000);
    expect([book.status('stale'), book.status('fresh'), book.status('ended')]).toEqual([undefined, 'approved', 'final']);
    book.sweep(700_000);
    expect(book.status('ended')).toBeUndefined();
    expect(book.approvalsOfBotAfter('b-1', -Infinity)).toBe(0);
    expect(book.approvalsOfAccountAfter(order('any'), -Infinity)).toBe(0);
    expect(book.sameOrderApprovals(order('any'))).toEqual([]);
  });

  it('counts recent approvals per bot, per account and per same order, in time order even when they arrive out of it', () => {
    const book = new ExposureBook({ approvalTtlMs: 60_000, tombstoneTtlMs: 3_600_000, recentWindowMs: 2000 });
    book.approve(order('a1'), 1000);
    book.approve(order('a2', { price: D('101') }), 3000);
    // Another replica's approval, seen late: earlier than the last one.
    book.approve(order('a3', { botId: 'b-2' }), 2500);
    book.approve(order('a4', { accountId: 'other' }), 3100);
    // Each approval forgets its lists' entries older than the window: a1 (1000) is gone from b-1's lists at 3100.
    expect(book.approvalsOfBotAfter('b-1', 0)).toBe(2);
    expect(book.approvalsOfBotAfter('b-1', 3050)).toBe(1);
    expect(book.approvalsOfAccountAfter(order('q'), 2400)).toBe(2); // a3 (2500, sorted in) and a2 (3000)
    expect(book.approvalsOfAccountAfter(order('q'), 2600)).toBe(1);
    expect(book.approvalsOfAccountAfter(order('q', { accountId: 'other' }), 0)).toBe(1);
    expect(book.sameOrderApprovals(order('q')).map((r) => r.order.clientOrderId)).toEqual(['a4']);
    expect(book.sameOrderApprovals(order('q', { botId: undefined }))).toEqual([]);
  });

  it('lists the approvals of the same order later than a time, oldest first', () => {
    const book = new ExposureBook({ approvalTtlMs: 60_000, tombstoneTtlMs: 3_600_000, recentWindowMs: 10_000 });
    for (const [id, at] of [
      ['s1', 1000],
      ['s2', 2000],
      ['s3', 3000],
    ] as const)
      book.approve(order(id), at);
    const ids = (after?: number) => book.sameOrderApprovals(order('q'), after).map((r) => r.order.clientOrderId);
    expect(ids()).toEqual(['s1', 's2', 's3']);
    expect(ids(999)).toEqual(['s1', 's2', 's3']);
    expect(ids(1000)).toEqual(['s2', 's3']);
    expect(ids(2500)).toEqual(['s3']);
    expect(ids(3000)).toEqual([]);
  });

  it('worst case: a sell of a long position adds nothing, both sides count once', () => {
    expect(worstCaseQuantity({ position: D('1'), openBuy: D('0'), openSell: D('1') }).toString()).toBe('1');
    expect(worstCaseQuantity({ position: D('1'), openBuy: D('2'), openSell: D('0.5') }).toString()).toBe('3');
    expect(worstCaseQuantity({ position: D('0'), openBuy: D('2'), openSell: D('3') }).toString()).toBe('3');
  });
});

// ---------------------------------------------------------------------------------------------------
// Properties: no approved order sequence ever ends over a limit.
// ---------------------------------------------------------------------------------------------------

const EXCHANGES = ['x1', 'x2'] as const;
const SYMBOLS = ['AAA/USDT', 'BBB/USDT'] as const;
const BOTS = ['b1', 'b2', undefined] as const;
const REFS: Record<string, Decimal> = { 'AAA/USDT': D('10'), 'BBB/USDT': D('3') };
const quoteFor = (symbol: string, now: number): MarketQuote => ({
  bid: REFS[symbol]!,
  ask: REFS[symbol]!,
  last: REFS[symbol]!,
  tickSize: D('0.01'),
  stepSize: D('0.1'),
  at: now,
});
const lookupOf =
  (table: Record<string, Partial<RiskLimits>>): LimitLookup =>
  (scope) =>
    table[scope] ? { ...NO_LIMITS, ...table[scope] } : undefined;
const ACTIVE: TradingStateView = { state: 'ACTIVE' };

type Op =
  | { kind: 'order'; exchange: number; symbol: number; bot: number; side: 'buy' | 'sell'; tenths: number; offset: number; market: boolean }
  | { kind: 'accept' | 'cancel'; pick: number }
  | { kind: 'fill'; pick: number; share: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('order' as const),
      exchange: fc.nat(1),
      symbol: fc.nat(1),
      bot: fc.nat(2),
      side: fc.constantFrom('buy' as const, 'sell' as const),
      tenths: fc.integer({ min: 1, max: 60 }),
      offset: fc.integer({ min: -20, max: 20 }),
      market: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('accept' as const, 'cancel' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('fill' as const), pick: fc.nat(), share: fc.integer({ min: 1, max: 10 }) }) },
);

const optionalLimit = fc.option(fc.integer({ min: 20, max: 400 }), { nil: undefined });

describe('property: no approved order sequence ever ends over a limit', () => {
  it('exposure per firm, exchange, instrument and bot stays within maxOpenNotional whatever is approved, filled or cancelled', () => {
    fc.assert(
      fc.property(
        fc.record({ firm: optionalLimit, exchange: optionalLimit, instrument: optionalLimit, bot: optionalLimit, orderNotional: optionalLimit }),
        fc.array(opArb, { maxLength: 60 }),
        (caps, ops) => {
          const table: Record<string, Partial<RiskLimits>> = {
            firm: { priceCollarPercent: D('5'), maxReferenceAgeMs: 1000, ...(caps.firm ? { maxOpenNotional: D(String(caps.firm)) } : {}) },
          };
          if (caps.orderNotional) table.firm = { ...table.firm, maxOrderNotional: D(String(caps.orderNotional)) };
          if (caps.exchange) table['exchange:x1'] = { maxOpenNotional: D(String(caps.exchange)) };
          if (caps.instrument) table['instrument:x2:AAA/USDT'] = { maxOpenNotional: D(String(caps.instrument)) };
          if (caps.bot) table['bot:b1'] = { maxOpenNotional: D(String(caps.bot)) };
          const limits = lookupOf(table);
          const book = newBook();
          const live: Array<{ order: BookOrder; filled: Decimal; state: OrderState }> = [];
          let now = 1_000_000;
          for (const [i, op] of ops.entries()) {
            now += 700; // no duplicates within the window, and no rate limit here
            if (op.kind === 'order') {
              const symbol = SYMBOLS[op.symbol]!;
              const price = REFS[symbol]!.plus(D(String(op.offset)).times('0.01'));
              const candidate: PreTradeOrder = {
                clientOrderId: `o${i}`,
                botId: BOTS[op.bot],
                exchangeId: EXCHANGES[op.exchange]!,
                accountId: EXCHANGES[op.exchange]!,
                symbol,
                side: op.side,
                type: op.market ? 'market' : 'limit',
                quantity: D(String(op.tenths)).times('0.1'),
                price: op.market ? undefined : price,
              };
              const decision = checkPreTrade({
                order: candidate,
                now,
                quote: quoteFor(symbol, now),
                limits,
                book,
                tradingState: ACTIVE,
                duplicateWindowMs: 500,
                priceOf: (_e, s) => REFS[s],
              });
              if (decision.approved) {
                if (caps.orderNotional) expect(decision.notional.lte(D(String(caps.orderNotional)))).toBe(true);
                book.approve(candidate, now, decision.referencePrice);
                live.push({ order: candidate, filled: Decimal.ZERO, state: 'PENDING_SUBMIT' });
              }
            } else if (live.length > 0) {
              const target = live[op.pick % live.length]!;
              if (op.kind === 'accept') {
                target.state = 'OPEN';
                book.report(reportOf(target.order, 'OPEN', target.filled.toString()), now);
              } else if (op.kind === 'cancel') {
                book.report(reportOf(target.order, 'CANCELED', target.filled.toString()), now);
                live.splice(live.indexOf(target), 1);
              } else if (op.kind === 'fill') {
                const rest = target.order.quantity.minus(target.filled);
                const qty = rest.times(String(op.share)).dividedBy('10', 1, 'down');
                if (qty.isZero()) continue;
                target.filled = target.filled.plus(qty);
                const state: OrderState = target.filled.eq(target.order.quantity) ? 'FILLED' : 'PARTIALLY_FILLED';
                // Any execution price: positions are valued at the reference, like open orders.
                book.fill(reportOf(target.order, state, target.filled.toString()), { tradeId: `t${i}`, quantity: qty, price: D(String(1 + (i % 30))) }, now);
                if (state === 'FILLED') live.splice(live.indexOf(target), 1);
              }
            }
            for (const [scope, cap] of Object.entries(table)) {
              if (!cap.maxOpenNotional) continue;
              const exposure = scopeExposure(book, parseLimitScope(scope) as ParsedLimitScope, (_e, s) => REFS[s]);
              expect({ scope, over: exposure.before.gt(cap.maxOpenNotional) }).toEqual({ scope, over: false });
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('no bot and no account ever has more approvals in one second than its maxMessagesPerSecond', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ dt: fc.integer({ min: 0, max: 400 }), bot: fc.nat(2), exchange: fc.nat(1) }), { maxLength: 80 }),
        fc.integer({ min: 1, max: 5 }),
        (steps, firmRate) => {
          const table: Record<string, Partial<RiskLimits>> = {
            firm: { priceCollarPercent: D('5'), maxReferenceAgeMs: 1000, maxMessagesPerSecond: firmRate },
            'bot:b2': { maxMessagesPerSecond: firmRate + 2 },
            'exchange:x2': { maxMessagesPerSecond: 1 },
          };
          const limits = lookupOf(table);
          const book = newBook();
          const approved: Array<{ at: number; bot: string | undefined; account: string }> = [];
          let now = 1_000_000;
          for (const [i, step] of steps.entries()) {
            now += step.dt;
            const o: PreTradeOrder = {
              clientOrderId: `r${i}`,
              botId: BOTS[step.bot],
              exchangeId: EXCHANGES[step.exchange]!,
              accountId: EXCHANGES[step.exchange]!,
              symbol: 'AAA/USDT',
              side: 'buy',
              type: 'limit',
              quantity: D('0.1'),
              price: D('9').plus(D(String(i)).times('0.01')),
            };
            const decision = checkPreTrade({
              order: o,
              now,
              quote: quoteFor('AAA/USDT', now),
              limits,
              book,
              tradingState: ACTIVE,
              duplicateWindowMs: 500,
              priceOf: () => D('10'),
            });
            if (decision.approved) {
              book.approve(o, now);
              approved.push({ at: now, bot: o.botId, account: o.accountId! });
            }
            book.sweep(now);
          }
          const limitOf = (who: { bot?: string; account?: string }) =>
            who.bot !== undefined
              ? (table[`bot:${who.bot}`]?.maxMessagesPerSecond ?? firmRate)
              : (table[`exchange:${who.account}`]?.maxMessagesPerSecond ?? firmRate);
          for (const { at } of approved) {
            const window = approved.filter((a) => a.at > at - MESSAGE_RATE_WINDOW_MS && a.at <= at);
            for (const bot of ['b1', 'b2']) expect(window.filter((a) => a.bot === bot).length).toBeLessThanOrEqual(limitOf({ bot }));
            for (const account of ['x1', 'x2']) expect(window.filter((a) => a.account === account).length).toBeLessThanOrEqual(limitOf({ account }));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('in a REDUCING scope, approved orders never grow a position nor flip it, even if they all fill', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -30, max: 30 }),
        fc.array(fc.record({ side: fc.constantFrom('buy' as const, 'sell' as const), tenths: fc.integer({ min: 1, max: 20 }), manual: fc.boolean() }), {
          maxLength: 30,
        }),
        (startTenths, attempts) => {
          const book = newBook();
          const start = D(String(startTenths)).times('0.1');
          if (!start.isZero()) {
            const seed = order('seed', { symbol: 'AAA/USDT', side: start.isNegative() ? 'sell' : 'buy', quantity: start.abs() });
            book.fill(reportOf(seed, 'FILLED', start.abs().toString()), { tradeId: 'seed', quantity: start.abs(), price: D('10') }, 0);
          }
          let now = 1_000_000;
          for (const [i, a] of attempts.entries()) {
            now += 600;
            const o: PreTradeOrder = {
              clientOrderId: `q${i}`,
              botId: a.manual ? undefined : 'b-1',
              exchangeId: 'x',
              accountId: 'a',
              symbol: 'AAA/USDT',
              side: a.side,
              type: 'limit',
              quantity: D(String(a.tenths)).times('0.1'),
              price: D('10'),
              reduceOnly: true,
            };
            const decision = checkPreTrade({
              order: o,
              now,
              quote: quoteFor('AAA/USDT', now),
              limits: lookupOf({ firm: { priceCollarPercent: D('5'), maxReferenceAgeMs: 1000 } }),
              book,
              tradingState: { state: 'REDUCING', scope: 'global' },
              duplicateWindowMs: 500,
              priceOf: () => D('10'),
            });
            if (decision.approved) book.approve(o, now);
          }
          // If every approved order filled: the position would end between zero and where it started.
          for (const h of [book.holding('x', 'AAA/USDT', 'b-1'), book.instrumentHolding('x', 'AAA/USDT')]) {
            const ifAllFilled = h.position.plus(h.openBuy).minus(h.openSell);
            if (start.isPositive()) expect(ifAllFilled.gte('0') && ifAllFilled.lte(start) && h.openBuy.isZero()).toBe(true);
            else if (start.isNegative()) expect(ifAllFilled.lte('0') && ifAllFilled.gte(start) && h.openSell.isZero()).toBe(true);
            else expect(h.openBuy.isZero() && h.openSell.isZero()).toBe(true);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
