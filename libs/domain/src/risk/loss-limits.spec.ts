import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Decimal } from '../decimal-math.js';
import { NO_LIMITS, limitProblems, type LimitLookup, type RiskLimits } from './limits.js';
import { BotActivity, autoHalts, countsAsRunawayDenial, formatAmount, formatLimit, RUNAWAY_WINDOW_MS } from './loss-limits.js';
import { PnlLedger, type LedgerFill } from './pnl-ledger.js';

const D = (v: string): Decimal => Decimal.of(v);
const T0 = Date.UTC(2025, 2, 10, 9);

const lookupOf =
  (scopes: Record<string, Partial<RiskLimits>>): LimitLookup =>
  (scope) =>
    scopes[scope] ? { ...NO_LIMITS, ...scopes[scope] } : undefined;

let seq = 0;
const fill = (botId: string | null, side: 'buy' | 'sell', price: string, quantity: string, at = T0): LedgerFill => {
  seq += 1;
  return {
    tradeId: `t${seq}`,
    clientOrderId: `o${seq}`,
    botId,
    exchangeId: 'ex',
    symbol: 'BTC/USDT',
    side,
    price: D(price),
    quantity: D(quantity),
    fee: Decimal.ZERO,
    feeCurrency: null,
    at,
  };
};

/** A ledger where `botId` bought 1 BTC at 10000 and the market went from 10500 (its peak) to `mark`. */
function losing(botId: string, mark: string): PnlLedger {
  const ledger = new PnlLedger();
  ledger.apply(fill(botId, 'buy', '10000', '1'));
  ledger.mark('ex', 'BTC/USDT', D('10500'), T0 + 1);
  ledger.observeAll(T0 + 1);
  ledger.mark('ex', 'BTC/USDT', D(mark), T0 + 2);
  ledger.observeAll(T0 + 2);
  return ledger;
}

describe('automatic kill-switch triggers', () => {
  it("halts a bot's scope when its drawdown from the peak is beyond its maxDrawdown, naming the trigger and the figures", () => {
    const ledger = losing('abc', '9249.5');
    const halts = autoHalts({ ledger, activity: new BotActivity(), limits: lookupOf({ 'bot:abc': { maxDrawdown: D('1000') } }), now: T0 + 3 });
    expect(halts).toEqual([
      {
        scope: 'bot:abc',
        trigger: 'drawdown',
        limitName: 'maxDrawdown',
        limitScope: 'bot:abc',
        value: '1250.5',
        limit: '1000',
        reason: 'automatic: drawdown 1,250.50 USDT from peak 500.00 (equity -750.50) exceeds maxDrawdown 1,000 for bot:abc',
      },
    ]);
  });

  it('does nothing at or within the limit, nor without a limit of the scope itself (a firm maxDrawdown is on the firm, not a default per bot)', () => {
    const activity = new BotActivity();
    expect(autoHalts({ ledger: losing('abc', '9500'), activity, limits: lookupOf({ 'bot:abc': { maxDrawdown: D('1000') } }), now: T0 + 3 })).toEqual([]);
    const ledger = losing('abc', '9000');
    expect(autoHalts({ ledger, activity, limits: lookupOf({ 'bot:other': { maxDrawdown: D('1') } }), now: T0 + 3 })).toEqual([]);
    // The firm's limit: on the firm's equity (every holder), and the scope halted is global.
    const firm = autoHalts({ ledger, activity, limits: lookupOf({ firm: { maxDrawdown: D('1400') } }), now: T0 + 3 });
    expect(firm).toMatchObject([{ scope: 'global', trigger: 'drawdown', limitScope: 'firm', value: '1500' }]);
    expect(firm[0]!.reason).toBe('automatic: drawdown 1,500.00 USDT from peak 500.00 (equity -1,000.00) exceeds maxDrawdown 1,400 for the firm');
  });

  it('halts on the loss since 00:00 UTC beyond maxDailyLoss (bot and firm), once per scope with its first trigger', () => {
    const ledger = new PnlLedger();
    ledger.apply(fill('a', 'buy', '100', '10'));
    ledger.apply(fill(null, 'buy', '100', '10'));
    ledger.mark('ex', 'BTC/USDT', D('94'), T0 + 1);
    ledger.observeAll(T0 + 1);
    const limits = lookupOf({ firm: { maxDailyLoss: D('100') }, 'bot:a': { maxDailyLoss: D('50'), maxDrawdown: D('59') } });
    const halts = autoHalts({ ledger, activity: new BotActivity(), limits, now: T0 + 2 });
    expect(halts.map((h) => [h.scope, h.trigger, h.value, h.limit])).toEqual([
      ['global', 'daily-loss', '120', '100'],
      // Its drawdown (60) is beyond 59 too: the drawdown is named, once.
      ['bot:a', 'drawdown', '60', '59'],
    ]);
    expect(halts[0]!.reason).toBe('automatic: daily loss 120.00 USDT since 00:00 UTC exceeds maxDailyLoss 100 for the firm');
    // The next day the loss of yesterday no longer counts as today's.
    const tomorrow = autoHalts({ ledger, activity: new BotActivity(), limits: lookupOf({ firm: { maxDailyLoss: D('100') } }), now: T0 + 86_400_000 });
    expect(tomorrow).toEqual([]);
  });

  it("halts a runaway bot: more fills or counted denials within a minute than its limit (the bot's, else the firm's)", () => {
    const activity = new BotActivity();
    for (let i = 0; i < 4; i++) activity.recordFill('fast', T0 + i * 1000);
    for (let i = 0; i < 3; i++) activity.recordDenial('denied', T0 + i * 1000);
    const limits = lookupOf({ firm: { maxFillsPerMinute: 3, maxDenialsPerMinute: 5 }, 'bot:denied': { maxDenialsPerMinute: 2 } });
    const halts = autoHalts({ ledger: new PnlLedger(), activity, limits, now: T0 + 5000 });
    expect(halts.map((h) => [h.scope, h.trigger, h.limitScope, h.value, h.limit])).toEqual([
      ['bot:denied', 'runaway-denials', 'bot:denied', '3', '2'],
      ['bot:fast', 'runaway-fills', 'firm', '4', '3'],
    ]);
    expect(halts[1]!.reason).toBe('automatic: runaway bot: 4 fills in the last minute exceeds maxFillsPerMinute 3 (firm) for bot:fast');
    expect(halts[0]!.reason).toBe('automatic: runaway bot: 3 orders denied in the last minute exceeds maxDenialsPerMinute 2 for bot:denied');
    // A minute later, the burst is over.
    expect(autoHalts({ ledger: new PnlLedger(), activity, limits, now: T0 + 3000 + RUNAWAY_WINDOW_MS })).toEqual([]);
  });

  it('judges only the bots asked for (those a fill or a denial moved), and the firm always', () => {
    const activity = new BotActivity();
    for (let i = 0; i < 4; i++) activity.recordFill('fast', T0 + i * 1000);
    const ledger = losing('abc', '9000');
    const limits = lookupOf({ firm: { maxFillsPerMinute: 3, maxDrawdown: D('1400') }, 'bot:abc': { maxDrawdown: D('1000') } });
    const judge = (bots?: string[]) => autoHalts({ ledger, activity, limits, now: T0 + 5000, ...(bots ? { bots } : {}) }).map((h) => h.scope);
    expect(judge()).toEqual(['global', 'bot:abc', 'bot:fast']);
    expect(judge(['fast'])).toEqual(['global', 'bot:fast']);
    expect(judge(['abc', 'unknown'])).toEqual(['global', 'bot:abc']);
    expect(judge([])).toEqual(['global']);
  });

  it('counts as runaway only the denials that judge the order, not the platform or the venue state', () => {
    expect(['MESSAGE_RATE_OVER_LIMIT', 'DUPLICATE_ORDER', 'PRICE_OUTSIDE_COLLAR', 'OPEN_NOTIONAL_OVER_LIMIT'].every(countsAsRunawayDenial)).toBe(true);
    expect(['KILL_SWITCH_HALTED', 'EXPOSURE_UNKNOWN', 'REFERENCE_PRICE_STALE', 'LIMITS_UNKNOWN'].some(countsAsRunawayDenial)).toBe(false);
  });

  it('keeps a minute of activity per bot and forgets the rest', () => {
    const activity = new BotActivity(1000);
    activity.recordFill('a', 0);
    activity.recordFill('a', 600);
    activity.recordFill('a', 1200);
    expect(activity.fillsWithin('a', 1200)).toBe(2);
    expect(activity.bots(1200)).toEqual(['a']);
    expect(activity.bots(2300)).toEqual([]);
    activity.sweep(2300);
    expect(activity.fillsWithin('a', 1300)).toBe(0);
  });

  it('property: a figure within its limit never halts; beyond it always halts its scope', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: 100_000 }), (lossCents, limitCents) => {
        const loss = Decimal.of(BigInt(lossCents)).dividedBy('100', 2, 'down');
        const limit = Decimal.of(BigInt(limitCents)).dividedBy('100', 2, 'down');
        const ledger = new PnlLedger();
        ledger.apply(fill('p', 'buy', '1000', '1'));
        ledger.mark('ex', 'BTC/USDT', D('1000').minus(loss), T0 + 1);
        const halts = autoHalts({ ledger, activity: new BotActivity(), limits: lookupOf({ 'bot:p': { maxDrawdown: limit } }), now: T0 + 1 });
        expect(halts.length).toBe(loss.gt(limit) ? 1 : 0);
      }),
    );
  });

  it('formats amounts for people', () => {
    expect(formatAmount(D('1250'))).toBe('1,250.00');
    expect(formatAmount(D('-1234567.005'))).toBe('-1,234,567.01');
    expect(formatAmount(D('0.004'))).toBe('0.00');
    expect(formatLimit(D('1000000.5'))).toBe('1,000,000.5');
  });
});

describe('loss and runaway limits', () => {
  it('are held only by the firm and bot scopes', () => {
    const limits = { ...NO_LIMITS, maxDrawdown: D('1'), maxFillsPerMinute: 3 };
    expect(limitProblems('bot', limits)).toEqual([]);
    expect(limitProblems('exchange', limits)).toEqual([
      expect.stringContaining('maxDrawdown cannot be set on an exchange scope'),
      expect.stringContaining('maxFillsPerMinute cannot be set on an exchange scope'),
    ]);
    expect(limitProblems('instrument', { ...NO_LIMITS, maxDailyLoss: D('1') })).toEqual([expect.stringContaining('maxDailyLoss cannot be set')]);
  });
});
