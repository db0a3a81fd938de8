import { describe, expect, it } from '@jest/globals';
import { RateLimiter } from './rate-limiter.js';

describe('RateLimiter', () => {
  const limits = { requestWeightPerMinute: 10, ordersPer10Seconds: 2, ordersPerDay: 100, banAfter429s: 2, banSeconds: 60 };

  it('answers 429 past the minute weight with Retry-After to the window end, then bans after repeated 429s', () => {
    let now = 120_000 + 15_000;
    const limiter = new RateLimiter(limits, () => now);
    expect(limiter.admit('ip', 10)).toMatchObject({ ok: true, usedWeight: 10 });
    expect(limiter.admit('ip', 1)).toMatchObject({ ok: false, status: 429, retryAfterSeconds: 45, code: -1003 });
    expect(limiter.admit('ip', 1)).toMatchObject({ status: 429 });
    expect(limiter.admit('ip', 1)).toMatchObject({ status: 418, retryAfterSeconds: 60 });
    now += 30_000;
    expect(limiter.admit('ip', 1)).toMatchObject({ status: 418, retryAfterSeconds: 30 });
    now += 31_000;
    expect(limiter.admit('ip', 1)).toMatchObject({ ok: true });
  });

  it('limits new orders per account with -1015', () => {
    const limiter = new RateLimiter(limits, () => 0);
    limiter.admit('ip', 1, 'acct');
    limiter.admit('ip', 1, 'acct');
    expect(limiter.admit('ip', 1, 'acct')).toMatchObject({ status: 429, code: -1015 });
    expect(limiter.admit('ip', 1, 'other')).toMatchObject({ ok: true, orderCount10s: 1 });
  });
});
