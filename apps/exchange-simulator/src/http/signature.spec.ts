import { createHmac } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { VenueError } from '../engine/types.js';
import { verifySigned } from './signature.js';

const NOW = 1_700_000_000_000;
const secrets = (k: string) => (k === 'key' ? 'secret' : undefined);
const sign = (payload: string, secret = 'secret') => `${payload}&signature=${createHmac('sha256', secret).update(payload).digest('hex')}`;
const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof VenueError ? err.code : 'other';
  }
  return undefined;
};

describe('verifySigned', () => {
  it('accepts a query or a body signed with the account secret', () => {
    expect(verifySigned('key', sign(`symbol=BTCUSDT&timestamp=${NOW}`), '', secrets, NOW)).toBe('key');
    expect(verifySigned('key', '', sign(`symbol=BTCUSDT&timestamp=${NOW - 4000}`), secrets, NOW)).toBe('key');
    // Query and body together: the signature covers their concatenation.
    const query = 'symbol=BTCUSDT';
    const body = sign(`${query}timestamp=${NOW}`).slice(query.length);
    expect(verifySigned('key', query, body, secrets, NOW)).toBe('key');
  });

  it('refuses with Binance codes', () => {
    expect(codeOf(() => verifySigned(undefined, sign(`timestamp=${NOW}`), '', secrets, NOW))).toBe(-2014);
    expect(codeOf(() => verifySigned('nobody', sign(`timestamp=${NOW}`), '', secrets, NOW))).toBe(-2015);
    expect(codeOf(() => verifySigned('key', sign(`timestamp=${NOW}`, 'wrong'), '', secrets, NOW))).toBe(-1022);
    expect(codeOf(() => verifySigned('key', sign(`timestamp=${NOW}`) + '0', '', secrets, NOW))).toBe(-1022);
    expect(codeOf(() => verifySigned('key', sign(`timestamp=${NOW - 6000}`), '', secrets, NOW))).toBe(-1021);
    expect(codeOf(() => verifySigned('key', sign(`timestamp=${NOW + 2000}`), '', secrets, NOW))).toBe(-1021);
    expect(codeOf(() => verifySigned('key', sign(`timestamp=${NOW - 6000}&recvWindow=10000`), '', secrets, NOW))).toBeUndefined();
    expect(codeOf(() => verifySigned('key', sign('symbol=X'), '', secrets, NOW))).toBe(-1102);
  });
});
