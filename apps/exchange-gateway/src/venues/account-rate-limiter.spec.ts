import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { RateLimitStatus } from '@garde/contracts';
import type { RateWindow } from '@garde/domain';
import { GatewayException } from '../errors/gateway.exception.js';
import { AccountRateLimiter, NotSentError } from './account-rate-limiter.js';
import { BINANCE_PROFILE, binanceWindows } from './venue-rate-limits.js';

const OPTIONS = { utilization: 0.8, cancelReserve: 0.1, orderReserve: 0.2, orderMaxWaitMs: 1000, defaultPauseMs: 10_000, maxPauseMs: 300_000 };
const SETUP = { accountId: 'acc-1', exchangeId: 'binance', profile: BINANCE_PROFILE, options: OPTIONS };
const QUERY = { priority: 'query', weight: 4 } as const;
const CANCEL = { priority: 'cancel', weight: 1 } as const;

function limiter(windows: RateWindow[] = [{ unit: 'orders', intervalMs: 10_000, limit: 10 }], sendProbe = jest.fn(() => Promise.resolve())) {
  const changes: Array<{ status: RateLimitStatus; previous: string }> = [];
  const l = new AccountRateLimiter({
    ...SETUP,
    windows: [...windows],
    onChange: (status, previous) => changes.push({ status, previous }),
    sendProbe,
  });
  return { l, changes, sendProbe };
}

/** Settles the promise's state without awaiting it: 'pending', 'resolved' or the rejection. */
function track<T>(p: Promise<T>) {
  const t: { state: 'pending' | 'resolved' | 'rejected'; value?: T; error?: unknown } = { state: 'pending' };
  p.then(
    (value) => Object.assign(t, { state: 'resolved', value }),
    (error: unknown) => Object.assign(t, { state: 'rejected', error }),
  );
  return t;
}

describe('AccountRateLimiter', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('lets orders wait for room, refuses them RATE_LIMITED after the longest wait, and keeps room for cancels', async () => {
    const { l } = limiter([{ unit: 'weight', intervalMs: 60_000, limit: 10 }]);
    for (let i = 0; i < 7; i++) await l.takeOrderToken();
    const late = track(l.takeOrderToken());
    await jest.advanceTimersByTimeAsync(999);
    expect(late.state).toBe('pending');
    await jest.advanceTimersByTimeAsync(2);
    expect(late.state).toBe('rejected');
    expect(late.error).toBeInstanceOf(GatewayException);
    expect((late.error as GatewayException).code).toBe('RATE_LIMITED');
    expect(await l.beforeCall(CANCEL)).toEqual({ probe: false });
    expect(l.status()).toMatchObject({ state: 'OK', refusedOrders: 1, windows: [{ unit: 'weight', limit: 10, cap: 8, used: 8 }] });
  });

  it('on a 429: refuses new orders at once, holds everything else for Retry-After, then lets a cancel go first, alone', async () => {
    const { l, changes } = limiter();
    l.observe(429, { 'Retry-After': '2' });
    expect(changes.at(-1)).toMatchObject({ previous: 'OK', status: { state: 'PAUSED', count429: 1 } });
    await expect(l.takeOrderToken()).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    const query = track(l.beforeCall(QUERY));
    const cancel = track(l.beforeCall(CANCEL));
    await jest.advanceTimersByTimeAsync(1_990);
    expect([query.state, cancel.state]).toEqual(['pending', 'pending']);
    await jest.advanceTimersByTimeAsync(20);
    expect(cancel).toMatchObject({ state: 'resolved', value: { probe: true } });
    expect(query.state).toBe('pending');
    l.observe(200, {});
    l.afterCall({ probe: true });
    await jest.advanceTimersByTimeAsync(0);
    expect(query).toMatchObject({ state: 'resolved', value: { probe: false } });
    expect(l.status().state).toBe('OK');
    await expect(l.takeOrderToken()).resolves.toBeUndefined();
  });

  it('doubles the pause on each 429 in a row, the venue still refusing the probe', async () => {
    const { l } = limiter();
    l.observe(429, { 'Retry-After': '1' });
    const first = track(l.beforeCall(QUERY));
    await jest.advanceTimersByTimeAsync(1_001);
    expect(first).toMatchObject({ state: 'resolved', value: { probe: true } });
    l.observe(429, { 'Retry-After': '1' });
    l.afterCall({ probe: true });
    expect(l.status().state).toBe('PAUSED');
    const second = track(l.beforeCall(QUERY));
    await jest.advanceTimersByTimeAsync(1_500);
    expect(second.state).toBe('pending');
    await jest.advanceTimersByTimeAsync(600);
    expect(second).toMatchObject({ state: 'resolved', value: { probe: true } });
  });

  it('asks for a probe of its own when only new orders wait after a pause', async () => {
    const { l, sendProbe } = limiter();
    l.observe(429, { 'Retry-After': '1' });
    await jest.advanceTimersByTimeAsync(1_001);
    const order = track(l.takeOrderToken());
    await jest.advanceTimersByTimeAsync(0);
    expect(sendProbe).toHaveBeenCalledTimes(1);
    expect(order.state).toBe('pending');
    const probe = await l.beforeCall({ priority: 'query', weight: 1 });
    expect(probe).toEqual({ probe: true });
    l.observe(200, {});
    l.afterCall(probe);
    await jest.advanceTimersByTimeAsync(0);
    expect(order.state).toBe('resolved');
  });

  it('on a 418: HALTED, nothing sent before the ban ends, new orders refused until resumed', async () => {
    const { l, changes } = limiter();
    l.observe(418, { 'Retry-After': '60' });
    expect(changes.at(-1)).toMatchObject({ previous: 'OK', status: { state: 'HALTED', count418: 1 } });
    expect(l.status().pausedUntil).toBe(new Date(1_060_000).toISOString());
    expect(l.blocked).toBe(true);
    await expect(l.beforeCall({ priority: 'order', weight: 1 })).rejects.toBeInstanceOf(NotSentError);
    expect(() => l.resume()).toThrow(/banned by the venue until/);
    const cancel = track(l.beforeCall(CANCEL));
    await jest.advanceTimersByTimeAsync(60_001);
    expect(cancel).toMatchObject({ state: 'resolved', value: { probe: true } });
    l.observe(200, {});
    l.afterCall({ probe: true });
    await expect(l.takeOrderToken()).rejects.toThrow(/HALTED after a venue ban; an operator must resume it/);
    const notified = changes.length;
    l.resume();
    expect(l.status()).toMatchObject({ state: 'OK', reason: null });
    // The operator's resume is recorded by its caller, with the operator: not a second time here.
    expect(changes).toHaveLength(notified);
    await expect(l.takeOrderToken()).resolves.toBeUndefined();
  });

  it('comes back HALTED from a persisted halt', async () => {
    const l = new AccountRateLimiter({
      ...SETUP,
      windows: [],
      onChange: () => undefined,
      sendProbe: () => Promise.resolve(),
      halt: { reason: 'banned', since: new Date(900_000), bannedUntil: new Date(950_000) },
    });
    expect(l.status()).toMatchObject({ state: 'HALTED', reason: 'banned', pausedUntil: null });
    await expect(l.takeOrderToken()).rejects.toMatchObject({ code: 'RATE_LIMITED' });
  });

  it('counts what the venue says it counted, and reads Binance’s published limits', () => {
    const { l } = limiter([{ unit: 'weight', intervalMs: 60_000, limit: 6000 }]);
    l.observe(200, { 'X-Mbx-Used-Weight-1m': '1234' });
    expect(l.status().windows[0]).toMatchObject({ used: 1234, cap: 4800 });
    expect(
      binanceWindows({
        rateLimits: [
          { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: 6000 },
          { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: 100 },
          { rateLimitType: 'ORDERS', interval: 'DAY', intervalNum: 1, limit: 200000 },
        ],
      }),
    ).toEqual([
      { unit: 'weight', intervalMs: 60_000, limit: 6000 },
      { unit: 'orders', intervalMs: 10_000, limit: 100 },
      { unit: 'orders', intervalMs: 86_400_000, limit: 200_000 },
    ]);
    expect(BINANCE_PROFILE.classify('openOrders', 'GET', {})).toEqual({ priority: 'query', weight: 80 });
    expect(BINANCE_PROFILE.classify('order', 'DELETE', { symbol: 'BTCUSDT' })).toEqual({ priority: 'cancel', weight: 1 });
    expect(BINANCE_PROFILE.classify('order', 'POST', {})).toEqual({ priority: 'order', weight: 1 });
  });
});
