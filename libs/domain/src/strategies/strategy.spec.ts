import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Decimal } from '../decimal-math.js';
import { STRATEGIES, STRATEGY_NAMES, isStrategyName, parseStrategyParameters } from './registry.js';
import { CLIENT_ORDER_ID_PATTERN, StrategyError, checkMarket, strategyOrderId } from './strategy.js';

describe('strategyOrderId', () => {
  it('is the bot id and the tag when they fit the gateway’s format', () => {
    expect(strategyOrderId('demo-grid-btc', 'g-L3-b-17')).toBe('demo-grid-btc-g-L3-b-17');
  });

  it('stands a hash in for a bot id that is too long or has a dot, keeping the tag readable', () => {
    const id = strategyOrderId('desk.eu.grid-btc', 'g-L3-b-17');
    expect(id).toMatch(CLIENT_ORDER_ID_PATTERN);
    expect(id).toMatch(/^[0-9a-z]{13}-g-L3-b-17$/);
    expect(strategyOrderId('desk.eu.grid-btc', 'g-L3-b-17')).toBe(id);
    expect(strategyOrderId('desk.eu.grid-btd', 'g-L3-b-17')).not.toBe(id);
  });

  it('always fits the gateway’s format, and two bots never share an id', () => {
    const botId = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/);
    fc.assert(
      fc.property(botId, botId, fc.nat({ max: 1_000_000_000 }), (a, b, seq) => {
        const tag = `g-L199-s-${seq}`;
        expect(strategyOrderId(a, tag)).toMatch(CLIENT_ORDER_ID_PATTERN);
        if (a !== b) expect(strategyOrderId(a, tag)).not.toBe(strategyOrderId(b, tag));
      }),
    );
  });
});

describe('checkMarket', () => {
  const snapshot = { symbol: 'BTC/USDT', bid: Decimal.of('100'), ask: Decimal.of('101'), last: Decimal.of('100.5'), at: 0 };

  it('refuses crossed or empty prices with a StrategyError', () => {
    expect(() => checkMarket('BTC/USDT', { ...snapshot, bid: Decimal.of('102') })).toThrow('bid 102 is above ask 101');
    expect(() => checkMarket('BTC/USDT', { ...snapshot, last: Decimal.ZERO })).toThrow(StrategyError);
    expect(() => checkMarket('BTC/USDT', snapshot)).not.toThrow();
  });
});

describe('strategy registry', () => {
  it('knows grid and dca, by the names bots store', () => {
    expect(STRATEGY_NAMES).toEqual(['grid', 'dca']);
    expect(isStrategyName('grid')).toBe(true);
    expect(isStrategyName('toString')).toBe(false);
  });

  it('answers a clear error for an invalid bot definition', () => {
    expect(parseStrategyParameters('martingale', {})).toEqual({ ok: false, errors: ['unknown strategy "martingale" (known: grid, dca)'] });
    expect(parseStrategyParameters('grid', { lower: '70000', upper: '60000', levels: 0, orderSize: '0.001' })).toEqual({
      ok: false,
      errors: ['levels must be an integer ≥ 2 and ≤ 200 (got 0)', 'lower must be below upper (lower 70000, upper 60000)'],
    });
    expect(parseStrategyParameters('dca', { quoteAmount: '50', intervalMinutes: 60 }).ok).toBe(true);
  });

  it('runs a strategy through the common interface', () => {
    const grid = STRATEGIES.grid;
    const parsed = grid.parseParameters({ lower: '120', upper: '180', levels: 6, orderSize: '0.5' });
    if (!parsed.ok) throw new Error(parsed.errors.join());
    const market = { symbol: 'SOL/USDT', bid: Decimal.of('149.9'), ask: Decimal.of('150.1'), last: Decimal.of('150'), at: 0 };
    const step = grid.step(parsed.params, { state: grid.initialState('demo-grid-sol', 'SOL/USDT'), market });
    expect(step.intents.map((i) => i.clientOrderId)).toEqual(['demo-grid-sol-g-init-b-1', 'demo-grid-sol-g-L0-b-2', 'demo-grid-sol-g-L1-b-3']);
    expect(grid.openOrders(step.state)).toEqual(step.intents.map((i) => i.clientOrderId));
  });
});
