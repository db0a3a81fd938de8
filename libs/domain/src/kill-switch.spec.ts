import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  effectiveState,
  moreRestrictive,
  orderAllowed,
  parseScope,
  scopesCovering,
  TRADING_STATES,
  type ScopeStatus,
  type TradingState,
} from './kill-switch.js';

const RANK: Record<TradingState, number> = { ACTIVE: 0, REDUCING: 1, HALTED: 2 };

describe('parseScope', () => {
  it.each([
    ['global', { kind: 'global' }],
    ['exchange:binance', { kind: 'exchange', id: 'binance' }],
    ['bot:grid-btc.1', { kind: 'bot', id: 'grid-btc.1' }],
  ])('%s', (scope, expected) => expect(parseScope(scope)).toEqual(expected));

  it.each(['venue:x', 'exchange:', 'bot', 'exchange:has space', 'GLOBAL', `bot:${'x'.repeat(65)}`])('refuses %s with a message', (scope) => {
    expect(parseScope(scope)).toEqual({ error: expect.stringContaining(scope.split(':')[0]!) });
  });
});

describe('effectiveState', () => {
  const target = { exchangeId: 'binance', botId: 'b-1' };

  it('is the most restrictive covering scope, and names it', () => {
    const states: Record<string, ScopeStatus> = {
      global: { scope: 'global', state: 'REDUCING', reason: 'month end' },
      'bot:b-1': { scope: 'bot:b-1', state: 'HALTED', reason: 'runaway' },
      'exchange:kraken': { scope: 'exchange:kraken', state: 'HALTED', reason: 'other venue' },
    };
    expect(effectiveState(target, (s) => states[s])).toEqual({ state: 'HALTED', imposedBy: states['bot:b-1'] });
    expect(effectiveState({ exchangeId: 'binance', botId: 'b-2' }, (s) => states[s])).toEqual({ state: 'REDUCING', imposedBy: states.global });
    expect(effectiveState({ exchangeId: 'okx' }, () => undefined)).toEqual({ state: 'ACTIVE' });
  });

  it('property: never less restrictive than any covering scope, and uncovered scopes never matter', () => {
    const state = fc.constantFrom(...TRADING_STATES);
    fc.assert(
      fc.property(state, state, state, state, (g, e, b, other) => {
        const states: Record<string, ScopeStatus> = {
          global: { scope: 'global', state: g, reason: 'g' },
          'exchange:binance': { scope: 'exchange:binance', state: e, reason: 'e' },
          'bot:b-1': { scope: 'bot:b-1', state: b, reason: 'b' },
          'exchange:kraken': { scope: 'exchange:kraken', state: other, reason: 'o' },
        };
        const result = effectiveState(target, (s) => states[s]);
        expect(RANK[result.state]).toBe(Math.max(RANK[g], RANK[e], RANK[b]));
        if (result.imposedBy) expect(scopesCovering(target)).toContain(result.imposedBy.scope);
      }),
    );
  });
});

describe('moreRestrictive', () => {
  it('orders ACTIVE < REDUCING < HALTED, strictly', () => {
    expect(TRADING_STATES.flatMap((a) => TRADING_STATES.filter((b) => moreRestrictive(a, b)).map((b) => `${a}>${b}`))).toEqual([
      'REDUCING>ACTIVE',
      'HALTED>ACTIVE',
      'HALTED>REDUCING',
    ]);
  });
});

describe('orderAllowed', () => {
  it('HALTED refuses everything, REDUCING only reducing orders, ACTIVE everything', () => {
    expect([orderAllowed('HALTED', true), orderAllowed('HALTED', false)]).toEqual([false, false]);
    expect([orderAllowed('REDUCING', true), orderAllowed('REDUCING', false)]).toEqual([true, false]);
    expect([orderAllowed('ACTIVE', true), orderAllowed('ACTIVE', false)]).toEqual([true, true]);
  });
});
