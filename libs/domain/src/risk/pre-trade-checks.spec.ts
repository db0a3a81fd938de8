import { describe, expect, it } from '@jest/globals';
import { Decimal } from '../decimal-math.js';
import { ExposureBook, type OrderReport } from './exposure-book.js';
import { NO_LIMITS, limitProblems, messageRateLimits, parseLimitScope, type LimitLookup, type RiskLimits } from './limits.js';
import { quoteTime, referencePrice, type MarketQuote } from './market-quote.js';
import { checkPreTrade, type PreTradeInput, type PreTradeOrder } from './pre-trade-checks.js';

const D = Decimal.of;
const NOW = 1_000_000;

const quote = (over: Partial<MarketQuote> = {}): MarketQuote => ({
  bid: D('59999'),
  ask: D('60001'),
  last: D('60000'),
  tickSize: D('0.01'),
  stepSize: D('0.00001'),
  at: NOW - 100,
  ...over,
});
const limitsOf =
  (table: Record<string, Partial<RiskLimits>>): LimitLookup =>
  (scope) =>
    table[scope] ? { ...NO_LIMITS, ...table[scope] } : undefined;
const FIRM = { priceCollarPercent: D('10'), maxReferenceAgeMs: 10_000 };
const order = (over: Partial<PreTradeOrder> = {}): PreTradeOrder => ({
  clientOrderId: 'o-1',
  botId: 'b-1',
  exchangeId: 'binance',
  accountId: 'acc-1',
  symbol: 'BTC/USDT',
  side: 'buy',
  type: 'limit',
  quantity: D('0.01'),
  price: D('59000'),
  ...over,
});
const newBook = () => new ExposureBook({ approvalTtlMs: 60_000, tombstoneTtlMs: 3_600_000, recentWindowMs: 5_000 });
const report = (over: Partial<OrderReport> & { clientOrderId: string }): OrderReport => ({
  botId: 'b-1',
  exchangeId: 'binance',
  accountId: 'acc-1',
  symbol: 'BTC/USDT',
  side: 'buy',
  quantity: D('0.05'),
  price: D('60000'),
  state: 'FILLED',
  filled: D('0.05'),
  ...over,
});
/** A book in which bot b-1 holds `quantity` BTC (negative: short) from one fill. */
const bookWithPosition = (quantity: string) => {
  const book = newBook();
  const q = D(quantity);
  const r = report({ clientOrderId: 'pos', side: q.isNegative() ? 'sell' : 'buy', quantity: q.abs(), filled: q.abs() });
  book.fill(r, { tradeId: 't-pos', quantity: q.abs(), price: D('60000') }, NOW - 5000);
  return book;
};

type Case = [string, Partial<PreTradeInput> & { orderOver?: Partial<PreTradeOrder> }, string, Record<string, unknown>?];

const decide = (over: Partial<PreTradeInput> & { orderOver?: Partial<PreTradeOrder> }) => {
  const { orderOver, ...rest } = over;
  return checkPreTrade({
    order: order(orderOver),
    now: NOW,
    quote: quote(),
    limits: limitsOf({ firm: FIRM }),
    book: newBook(),
    tradingState: { state: 'ACTIVE' },
    duplicateWindowMs: 1000,
    priceOf: () => undefined,
    ...rest,
  });
};

const outcome = (over: Parameters<typeof decide>[0]) => {
  const d = decide(over);
  return d.approved ? 'APPROVED' : d.reason;
};

describe('pre-trade checks: each denies what it should and passes what it should', () => {
  const cases: Case[] = [
    ['a limit buy under the market', {}, 'APPROVED'],
    ['a market buy with a fresh reference', { orderOver: { type: 'market', price: undefined } }, 'APPROVED'],
    // Trading state
    [
      'a HALTED scope',
      { tradingState: { state: 'HALTED', scope: 'exchange:binance', reason: 'venue down' } },
      'KILL_SWITCH_HALTED',
      { scope: 'exchange:binance' },
    ],
    // Amounts
    ['a zero quantity', { orderOver: { quantity: D('0') } }, 'QUANTITY_NOT_POSITIVE'],
    ['a negative quantity', { orderOver: { quantity: D('-1') } }, 'QUANTITY_NOT_POSITIVE'],
    ['a limit order without price', { orderOver: { price: undefined } }, 'PRICE_NOT_POSITIVE'],
    ['a limit order at price 0', { orderOver: { price: D('0') } }, 'PRICE_NOT_POSITIVE'],
    ['a market order with a price', { orderOver: { type: 'market' } }, 'PRICE_NOT_POSITIVE'],
    // Reference price
    ['no ticker ever seen', { quote: undefined }, 'REFERENCE_PRICE_MISSING'],
    ['a ticker without any price', { quote: quote({ bid: null, ask: null, last: null }) }, 'REFERENCE_PRICE_MISSING'],
    ['a ticker with only a last price', { quote: quote({ bid: null, ask: null }) }, 'APPROVED'],
    ['a reference exactly as old as allowed', { quote: quote({ at: NOW - 10_000 }) }, 'APPROVED'],
    [
      'a reference 1 ms too old',
      { quote: quote({ at: NOW - 10_001 }) },
      'REFERENCE_PRICE_STALE',
      { scope: 'firm', context: { ageMs: '10001', limitMs: '10000' } },
    ],
    [
      'a reference too old for a stricter instrument scope',
      { quote: quote({ at: NOW - 600 }), limits: limitsOf({ firm: FIRM, 'instrument:binance:BTC/USDT': { maxReferenceAgeMs: 500 } }) },
      'REFERENCE_PRICE_STALE',
      { scope: 'instrument:binance:BTC/USDT' },
    ],
    ['no scope sets a reference age', { limits: limitsOf({ firm: { priceCollarPercent: D('10') } }) }, 'REFERENCE_PRICE_STALE'],
    [
      'a market order whose reference is stale',
      { quote: quote({ at: NOW - 20_000 }), orderOver: { type: 'market', price: undefined } },
      'REFERENCE_PRICE_STALE',
    ],
    // Steps
    ['unknown tick size', { quote: quote({ tickSize: null }) }, 'INSTRUMENT_STEPS_UNKNOWN'],
    ['unknown lot size', { quote: quote({ stepSize: null }) }, 'INSTRUMENT_STEPS_UNKNOWN'],
    ['a market order needs only the lot size', { quote: quote({ tickSize: null }), orderOver: { type: 'market', price: undefined } }, 'APPROVED'],
    ['a quantity off the lot size', { orderOver: { quantity: D('0.000015') } }, 'QUANTITY_OFF_STEP'],
    ['a price off the tick', { orderOver: { price: D('59000.005') } }, 'PRICE_OFF_TICK'],
    // Collar (reference = mid 60000, firm collar 10 %)
    ['a buy exactly at the collar', { orderOver: { price: D('66000') } }, 'APPROVED'],
    ['a buy one tick over the collar', { orderOver: { price: D('66000.01') } }, 'PRICE_OUTSIDE_COLLAR', { scope: 'firm', context: { collarPercent: '10' } }],
    ['a sell exactly at the collar', { orderOver: { side: 'sell', price: D('54000') } }, 'APPROVED'],
    ['a sell one tick under the collar', { orderOver: { side: 'sell', price: D('53999.99') } }, 'PRICE_OUTSIDE_COLLAR'],
    ['a passive buy far under the market', { orderOver: { price: D('1000') } }, 'APPROVED'],
    ['a passive sell far over the market', { orderOver: { side: 'sell', price: D('600000') } }, 'APPROVED'],
    [
      'a bot collar stricter than the firm',
      { orderOver: { price: D('60700') }, limits: limitsOf({ firm: FIRM, 'bot:b-1': { priceCollarPercent: D('1') } }) },
      'PRICE_OUTSIDE_COLLAR',
      { scope: 'bot:b-1' },
    ],
    // Order size
    [
      'a quantity over the instrument limit',
      { orderOver: { quantity: D('0.6') }, limits: limitsOf({ firm: FIRM, 'instrument:binance:BTC/USDT': { maxOrderQuantity: D('0.5') } }) },
      'ORDER_QUANTITY_OVER_LIMIT',
      { scope: 'instrument:binance:BTC/USDT' },
    ],
    [
      'a quantity at the bot limit',
      { orderOver: { quantity: D('0.5') }, limits: limitsOf({ firm: FIRM, 'bot:b-1': { maxOrderQuantity: D('0.5') } }) },
      'APPROVED',
    ],
    [
      'a notional over the firm limit (at the limit price)',
      { orderOver: { quantity: D('0.02') }, limits: limitsOf({ firm: { ...FIRM, maxOrderNotional: D('1000') } }) },
      'ORDER_NOTIONAL_OVER_LIMIT',
      { context: { notional: '1180', limit: '1000' } },
    ],
    [
      'a market order over the notional limit at the reference',
      { orderOver: { type: 'market', price: undefined, quantity: D('0.02') }, limits: limitsOf({ firm: { ...FIRM, maxOrderNotional: D('1000') } }) },
      'ORDER_NOTIONAL_OVER_LIMIT',
      { context: { notional: '1200' } },
    ],
    [
      'a market order under the notional limit at the reference',
      { orderOver: { type: 'market', price: undefined, quantity: D('0.016') }, limits: limitsOf({ firm: { ...FIRM, maxOrderNotional: D('1000') } }) },
      'APPROVED',
    ],
    [
      'the strictest notional wins (exchange under firm)',
      { limits: limitsOf({ firm: { ...FIRM, maxOrderNotional: D('100000') }, 'exchange:binance': { maxOrderNotional: D('500') } }) },
      'ORDER_NOTIONAL_OVER_LIMIT',
      { scope: 'exchange:binance' },
    ],
    // REDUCING: the bot's position from its fills
    [
      'REDUCING with no position',
      { tradingState: { state: 'REDUCING', scope: 'global', reason: 'drill' }, orderOver: { reduceOnly: true } },
      'KILL_SWITCH_REDUCING',
      { scope: 'global' },
    ],
    [
      'REDUCING: a sell within a long position',
      {
        tradingState: { state: 'REDUCING', scope: 'global' },
        book: bookWithPosition('0.05'),
        orderOver: { side: 'sell', quantity: D('0.03'), price: D('60000') },
      },
      'APPROVED',
    ],
    [
      'REDUCING: a sell larger than the position',
      {
        tradingState: { state: 'REDUCING', scope: 'global' },
        book: bookWithPosition('0.05'),
        orderOver: { side: 'sell', quantity: D('0.06'), price: D('60000') },
      },
      'KILL_SWITCH_REDUCING',
    ],
    ['REDUCING: a buy on a long position', { tradingState: { state: 'REDUCING', scope: 'global' }, book: bookWithPosition('0.05') }, 'KILL_SWITCH_REDUCING'],
    ['REDUCING: a buy within a short position', { tradingState: { state: 'REDUCING', scope: 'bot:b-1' }, book: bookWithPosition('-0.05') }, 'APPROVED'],
    [
      "REDUCING: another bot's position does not count",
      { tradingState: { state: 'REDUCING', scope: 'global' }, book: bookWithPosition('0.05'), orderOver: { botId: 'b-2', side: 'sell', price: D('60000') } },
      'KILL_SWITCH_REDUCING',
    ],
    [
      "REDUCING: a manual order is judged on everyone's position",
      {
        tradingState: { state: 'REDUCING', scope: 'global' },
        book: bookWithPosition('0.05'),
        orderOver: { botId: undefined, side: 'sell', price: D('60000') },
      },
      'APPROVED',
    ],
  ];

  it.each(cases.map(([name, over, expected, extra]) => ({ name, over, expected, extra })))('$name → $expected', ({ over, expected, extra }) => {
    const decision = decide(over);
    expect(decision.approved ? 'APPROVED' : decision.reason).toBe(expected);
    if (extra) expect(decision).toMatchObject(extra);
    if (!decision.approved) expect(decision.message.length).toBeGreaterThan(10);
  });

  it('REDUCING: sells already open take their share of the position', () => {
    const book = bookWithPosition('0.05');
    book.approve(order({ clientOrderId: 'tp-1', side: 'sell', quantity: D('0.03'), price: D('61000') }), NOW - 10);
    const reducing = { state: 'REDUCING' as const, scope: 'global' };
    expect(outcome({ book, tradingState: reducing, orderOver: { side: 'sell', quantity: D('0.03'), price: D('60000') } })).toBe('KILL_SWITCH_REDUCING');
    expect(outcome({ book, tradingState: reducing, orderOver: { side: 'sell', quantity: D('0.02'), price: D('60000') } })).toBe('APPROVED');
  });

  it('a duplicate is the same order of the same bot under another id within the window', () => {
    const book = newBook();
    book.approve(order({ clientOrderId: 'first' }), NOW - 400);
    expect(decide({ book })).toMatchObject({ approved: false, reason: 'DUPLICATE_ORDER', context: { duplicateOf: 'first', ageMs: '400' } });
    expect(outcome({ book, now: NOW + 601 })).toBe('APPROVED');
    expect(outcome({ book, orderOver: { clientOrderId: 'first' } })).toBe('APPROVED');
    expect(outcome({ book, orderOver: { botId: 'b-2' } })).toBe('APPROVED');
    expect(outcome({ book, orderOver: { price: D('59000.01') } })).toBe('APPROVED');
    expect(outcome({ book, orderOver: { side: 'sell', price: D('59000') } })).toBe('APPROVED');
    // Sent again once the first ended unfilled (rejected by the venue, cancelled): a replacement, not a duplicate.
    book.report({ ...report({ clientOrderId: 'first', quantity: D('0.01'), price: D('59000'), state: 'REJECTED', filled: D('0') }) }, NOW - 300);
    expect(outcome({ book })).toBe('APPROVED');
    // Operators' manual orders are not judged as duplicates.
    book.approve(order({ clientOrderId: 'manual-1', botId: undefined }), NOW - 10);
    expect(outcome({ book, orderOver: { clientOrderId: 'manual-2', botId: undefined } })).toBe('APPROVED');
  });

  it('message rates: per bot (its own limit, else the firm) and per account (its exchange, else the firm)', () => {
    const book = newBook();
    const limits = limitsOf({
      firm: { ...FIRM, maxMessagesPerSecond: 2 },
      'bot:b-fast': { maxMessagesPerSecond: 5 },
      'exchange:kraken': { maxMessagesPerSecond: 3 },
    });
    const at = (i: number, over: Partial<PreTradeOrder>) => order({ clientOrderId: `r-${i}`, price: D(String(50000 + i)), ...over });
    book.approve(at(1, {}), NOW - 900);
    book.approve(at(2, {}), NOW - 100);
    expect(decide({ book, limits, orderOver: { clientOrderId: 'r-3', price: D('50003') } })).toMatchObject({
      reason: 'MESSAGE_RATE_OVER_LIMIT',
      scope: 'firm',
      context: { count: '2', limit: '2' },
    });
    // One second after the first, there is room again.
    expect(outcome({ book, limits, now: NOW + 100, orderOver: { clientOrderId: 'r-3', price: D('50003') } })).toBe('APPROVED');
    // The account acc-1 has had 2 in the last second: another bot on it is refused too.
    expect(decide({ book, limits, orderOver: { clientOrderId: 'r-4', botId: 'b-fast', price: D('50004') } })).toMatchObject({
      reason: 'MESSAGE_RATE_OVER_LIMIT',
    });
    // Bot b-fast may send 5 a second; its orders on a kraken account, 3 (the exchange's own limit).
    for (let i = 10; i < 13; i++) book.approve(at(i, { botId: 'b-fast', exchangeId: 'kraken', accountId: 'k-1' }), NOW - 50);
    expect(
      decide({ book, limits, orderOver: { clientOrderId: 'r-20', botId: 'b-fast', exchangeId: 'kraken', accountId: 'k-1', price: D('50020') } }),
    ).toMatchObject({
      reason: 'MESSAGE_RATE_OVER_LIMIT',
      scope: 'exchange:kraken',
    });
    expect(outcome({ book, limits, orderOver: { clientOrderId: 'r-21', botId: 'b-fast', accountId: 'acc-2', price: D('50021') } })).toBe('APPROVED');
    expect(messageRateLimits({ exchangeId: 'kraken', botId: 'b-fast' }, limits)).toEqual({
      bot: { value: 5, scope: 'bot:b-fast' },
      account: { value: 3, scope: 'exchange:kraken' },
    });
  });

  it('open notional: the exposure with the order must stay within every covering scope, unless the order lowers it', () => {
    const limits = limitsOf({ firm: { ...FIRM, maxOpenNotional: D('1000') } });
    const book = newBook();
    // 0.01 BTC bought: a position worth 600 at the reference 60000.
    book.fill(report({ clientOrderId: 'f-1', quantity: D('0.01'), filled: D('0.01') }), { tradeId: 't-1', quantity: D('0.01'), price: D('59000') }, NOW - 1000);
    expect(outcome({ book, limits, orderOver: { quantity: D('0.006') } })).toBe('APPROVED'); // 0.016 × 60000 = 960
    expect(decide({ book, limits })).toMatchObject({
      reason: 'OPEN_NOTIONAL_OVER_LIMIT',
      scope: 'firm',
      context: { before: '600', after: '1200', limit: '1000' },
    });
    // A sell of the position lowers the worst case: it passes, even with the firm over a lowered limit.
    const lowered = limitsOf({ firm: { ...FIRM, maxOpenNotional: D('100') } });
    expect(outcome({ book, limits: lowered, orderOver: { side: 'sell', price: D('61000') } })).toBe('APPROVED');
    // A bot limit counts only that bot's holdings; an exchange limit only that exchange's.
    const perBot = limitsOf({ firm: FIRM, 'bot:b-2': { maxOpenNotional: D('700') } });
    expect(outcome({ book, limits: perBot, orderOver: { botId: 'b-2' } })).toBe('APPROVED');
    expect(outcome({ book, limits: limitsOf({ firm: FIRM, 'exchange:kraken': { maxOpenNotional: D('700') } }) })).toBe('APPROVED');
    expect(outcome({ book, limits: limitsOf({ firm: FIRM, 'exchange:binance': { maxOpenNotional: D('700') } }) })).toBe('OPEN_NOTIONAL_OVER_LIMIT');
  });
});

describe('limits', () => {
  it.each([
    ['firm', { kind: 'firm' }],
    ['exchange:binance.eu', { kind: 'exchange', exchangeId: 'binance.eu' }],
    ['bot:grid-1', { kind: 'bot', botId: 'grid-1' }],
    ['instrument:binance:BTC/USDT', { kind: 'instrument', exchangeId: 'binance', symbol: 'BTC/USDT' }],
  ])('parses %s', (scope, expected) => expect(parseLimitScope(scope)).toEqual(expected));

  it.each(['global', 'venue:x', 'exchange:', 'instrument:binance', 'instrument:binance:btcusdt', 'bot:has space'])('refuses %s', (scope) => {
    expect(parseLimitScope(scope)).toEqual({ error: expect.stringContaining(scope) });
  });

  it('names what a scope may not hold: a rate on an instrument, a firm without collar or reference age', () => {
    expect(limitProblems('instrument', { ...NO_LIMITS, maxMessagesPerSecond: 5 })).toEqual([expect.stringContaining('maxMessagesPerSecond')]);
    expect(limitProblems('firm', NO_LIMITS)).toEqual([expect.stringContaining('priceCollarPercent'), expect.stringContaining('maxReferenceAgeMs')]);
    expect(limitProblems('bot', { ...NO_LIMITS, priceCollarPercent: D('1000.5') })).toEqual([expect.stringContaining('1000')]);
    expect(limitProblems('firm', { ...NO_LIMITS, priceCollarPercent: D('5'), maxReferenceAgeMs: 1000 })).toEqual([]);
  });
});

describe('market quote', () => {
  it('takes the mid of bid and ask (exactly), else the last price', () => {
    expect(referencePrice(quote({ bid: D('100.1'), ask: D('100.2') }))?.toString()).toBe('100.15');
    expect(referencePrice(quote({ bid: null }))?.toString()).toBe('60000');
    expect(referencePrice(quote({ bid: null, last: null }))).toBeNull();
  });

  it('dates a quote by the earlier of the venue time and its reception', () => {
    expect(quoteTime(1000, 2000)).toBe(1000);
    expect(quoteTime(3000, 2000)).toBe(2000);
    expect(quoteTime(null, 2000)).toBe(2000);
  });
});
