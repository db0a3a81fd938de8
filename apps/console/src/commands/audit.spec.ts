import { describe, expect, it } from '@jest/globals';
import { gist } from './audit.js';

describe("audit tables' WHAT column", () => {
  it('tells a kill-switch change: scope, from and to, and why', () => {
    const payload = {
      current: { scope: 'bot:demo-grid-btc', state: 'HALTED', reason: 'reconciliation discrepancy #3 on account paper-binance', version: 2 },
      previousState: 'ACTIVE',
      changed: true,
    };
    expect(gist(payload)).toBe('bot:demo-grid-btc ACTIVE → HALTED: reconciliation discrepancy #3 on account paper-binance');
  });

  it('tells a reconciliation discrepancy: its id, kind, account and what differs', () => {
    const payload = { id: '3', accountId: 'paper-binance', exchangeId: 'binance', kind: 'BALANCE', subject: 'BTC', message: 'BTC: venue 1, ledger 1.009' };
    expect(gist(payload)).toBe('#3 BALANCE on paper-binance: BTC: venue 1, ledger 1.009');
  });

  it("tells a venue's health or an account's rate-limit change, with its last error or reason", () => {
    expect(gist({ venue: { accountId: 'paper-binance', state: 'DISCONNECTED', lastError: 'ECONNREFUSED' }, previous: 'DEGRADED' })).toBe(
      'paper-binance DEGRADED → DISCONNECTED: ECONNREFUSED',
    );
    expect(gist({ venue: { accountId: 'paper-binance', state: 'CONNECTED', lastError: null }, previous: 'DISCONNECTED' })).toBe(
      'paper-binance DISCONNECTED → CONNECTED',
    );
    expect(gist({ status: { accountId: 'paper-kraken', state: 'HALTED', reason: 'HTTP 418: banned' }, previous: 'PAUSED' })).toBe(
      'paper-kraken PAUSED → HALTED: HTTP 418: banned',
    );
  });

  it("tells the kill switch's venue side: flat confirmed, or not and why", () => {
    expect(gist({ scope: 'global', version: 3, canceled: 14, accounts: ['paper-binance'], elapsedMs: 312.4 })).toBe(
      'global flat: 14 cancelled, confirmed after 312 ms',
    );
    expect(gist({ scope: 'exchange:kraken', version: 2, stillOpen: { 'paper-kraken': ['c-1', 'c-2'] }, unreachable: [], elapsedMs: 5003 })).toBe(
      'exchange:kraken NOT FLAT after 5003 ms: 2 still open',
    );
    expect(gist({ scope: 'global', version: 4, stillOpen: {}, unreachable: ['paper-kraken'], elapsedMs: 5001 })).toBe(
      'global NOT FLAT after 5001 ms: 0 still open, not reachable: paper-kraken',
    );
    expect(gist({ scope: 'bot:b-1', version: 1, stillOpen: {}, unreachable: [], elapsedMs: 5200, error: 'connect ECONNREFUSED 127.0.0.1:5432' })).toBe(
      'bot:b-1 NOT FLAT after 5200 ms: connect ECONNREFUSED 127.0.0.1:5432',
    );
    expect(gist({ scope: 'global', version: 5, canceled: 3, accounts: ['paper-binance'], elapsedMs: 420, venuesOnly: true })).toBe(
      'global flat: 3 cancelled, confirmed after 420 ms by the venues alone',
    );
    expect(
      gist({ scope: 'global', version: 6, stillOpen: { 'paper-binance': ['c-1'] }, unreachable: [], elapsedMs: 1500, error: 'the database is unreachable' }),
    ).toBe('global NOT FLAT after 1500 ms: 1 still open; the database is unreachable');
  });

  it('still tells an order, an intent and an error as before', () => {
    expect(gist({ order: { clientOrderId: 'c-1', state: 'REJECTED', lastError: 'insufficient balance' } })).toBe('order c-1 REJECTED — insufficient balance');
    expect(gist({ botId: 'b', intent: { kind: 'place', clientOrderId: 'c-2', side: 'buy', quantity: '0.1', price: '100' } })).toBe(
      'order c-2 — intent: place buy 0.1 @ 100',
    );
    expect(gist({ clientOrderId: 'c-3', error: { code: 'RISK_DENIED', message: 'over the limit' } })).toBe('order c-3 — RISK_DENIED: over the limit');
  });
});
