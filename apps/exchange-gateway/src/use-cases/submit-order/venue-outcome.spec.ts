import { describe, expect, it } from '@jest/globals';
import ccxt from 'ccxt';
import { outcomeOfAnswer, outcomeOfError, toDecimalString, tooPrecise } from './venue-outcome.js';

describe('venue outcomes', () => {
  it('reads a ccxt order answer into our state', () => {
    expect(outcomeOfAnswer({ id: '42', status: 'open', filled: 0 })).toEqual({ kind: 'answered', state: 'OPEN', venueOrderId: '42', filled: '0' });
    expect(outcomeOfAnswer({ id: '43', status: 'open', filled: 0.005 })).toMatchObject({ state: 'PARTIALLY_FILLED', filled: '0.005' });
    expect(outcomeOfAnswer({ id: '44', status: 'closed', filled: 1e-7 })).toMatchObject({ state: 'FILLED', filled: '0.0000001' });
  });

  it.each([
    [new ccxt.InsufficientFunds('binance {"code":-2010}'), 'rejected'],
    [new ccxt.InvalidOrder('filter failure'), 'rejected'],
    [new ccxt.AuthenticationError('bad signature'), 'rejected'],
    [new ccxt.DDoSProtection('429'), 'rejected'],
    [new ccxt.RateLimitExceeded('-1003'), 'rejected'],
    [new ccxt.RequestTimeout('timed out'), 'unknown'],
    [new ccxt.ExchangeNotAvailable('503'), 'unknown'],
    [new ccxt.NetworkError('socket hang up'), 'unknown'],
    [new TypeError('not JSON'), 'unknown'],
  ])('%s → %s (a request that may have reached the venue is never called rejected)', (err, kind) => {
    expect(outcomeOfError(err).kind).toBe(kind);
  });

  it('refuses amounts a JS number cannot carry exactly', () => {
    expect(tooPrecise('65000.12345678')).toBe(false);
    expect(tooPrecise('0.000000001')).toBe(false);
    expect(tooPrecise('123456789012345')).toBe(false);
    expect(tooPrecise('1234567890123456')).toBe(true);
    expect(tooPrecise('0.12345678901234567')).toBe(true);
    expect(toDecimalString(0.1 + 0.2)).toBe('0.30000000000000004');
  });
});
