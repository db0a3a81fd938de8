/** The venue's published limits (also served in exchangeInfo's `rateLimits`). */
export interface RateLimits {
  readonly requestWeightPerMinute: number;
  readonly ordersPer10Seconds: number;
  readonly ordersPerDay: number;
  /** 429s within a minute after which the IP is banned (418), as Binance does. */
  readonly banAfter429s: number;
  readonly banSeconds: number;
}

export const DEFAULT_RATE_LIMITS: RateLimits = {
  requestWeightPerMinute: 6000,
  ordersPer10Seconds: 100,
  ordersPerDay: 200_000,
  banAfter429s: 5,
  banSeconds: 120,
};

export type Admission =
  | { readonly ok: true; readonly usedWeight: number; readonly orderCount10s: number }
  | { readonly ok: false; readonly status: 429 | 418; readonly retryAfterSeconds: number; readonly code: number; readonly msg: string };

interface Window {
  start: number;
  used: number;
}

/**
 * Binance-style limits: request weight per IP per minute, new orders per account per 10 s and per
 * day, fixed windows. Each 429 is remembered; too many in a minute ban the IP (418) for a while.
 */
export class RateLimiter {
  private readonly weight = new Map<string, Window>();
  private readonly orders10s = new Map<string, Window>();
  private readonly ordersDay = new Map<string, Window>();
  private readonly recent429s = new Map<string, number[]>();
  private readonly bannedUntil = new Map<string, number>();

  constructor(
    readonly limits: RateLimits,
    private readonly clock: () => number,
  ) {}

  /** Counts one request and says whether it may proceed. */
  admit(ip: string, weight: number, orderAccount?: string): Admission {
    const now = this.clock();
    const ban = this.banCheck(ip, now);
    if (ban) return ban;
    const w = bump(this.weight, ip, now, 60_000, weight);
    if (w.used > this.limits.requestWeightPerMinute) {
      return this.tooMany(
        ip,
        secondsLeft(w, now, 60_000),
        -1003,
        `Too much request weight used; current limit is ${this.limits.requestWeightPerMinute} request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.`,
        this.limits,
      );
    }
    let orderCount10s = 0;
    if (orderAccount !== undefined) {
      const o = bump(this.orders10s, orderAccount, now, 10_000, 1);
      const day = bump(this.ordersDay, orderAccount, now, 86_400_000, 1);
      orderCount10s = o.used;
      if (o.used > this.limits.ordersPer10Seconds) {
        return this.tooMany(
          ip,
          secondsLeft(o, now, 10_000),
          -1015,
          `Too many new orders; current limit is ${this.limits.ordersPer10Seconds} orders per 10 SECOND.`,
          this.limits,
        );
      }
      if (day.used > this.limits.ordersPerDay) {
        return this.tooMany(
          ip,
          secondsLeft(day, now, 86_400_000),
          -1015,
          `Too many new orders; current limit is ${this.limits.ordersPerDay} orders per 1 DAY.`,
          this.limits,
        );
      }
    }
    return { ok: true, usedWeight: w.used, orderCount10s };
  }

  /** A 429 forced by the `rateLimited` fault, escalating to a ban like a real one. */
  forced429(ip: string, retryAfterSeconds: number, banAfter: number, banSeconds: number): Admission {
    const now = this.clock();
    const ban = this.banCheck(ip, now);
    if (ban) return ban;
    return this.tooMany(ip, retryAfterSeconds, -1003, 'Too many requests; please slow down. (simulated)', { banAfter429s: banAfter, banSeconds });
  }

  /** Bans the IP at once (the `banned` fault). */
  ban(ip: string, seconds: number): Admission {
    const now = this.clock();
    const until = Math.max(this.bannedUntil.get(ip) ?? 0, now + seconds * 1000);
    this.bannedUntil.set(ip, until);
    return this.banCheck(ip, now)!;
  }

  usedWeight(ip: string): number {
    return this.weight.get(ip)?.used ?? 0;
  }

  /** Forgets bans and counters (DELETE /__sim/faults), so a test starts clean. */
  reset(): void {
    for (const m of [this.weight, this.orders10s, this.ordersDay, this.recent429s, this.bannedUntil]) m.clear();
  }

  private banCheck(ip: string, now: number): Admission | undefined {
    const until = this.bannedUntil.get(ip);
    if (until === undefined || until <= now) return undefined;
    return {
      ok: false,
      status: 418,
      retryAfterSeconds: Math.ceil((until - now) / 1000),
      code: -1003,
      msg: `Way too much request weight used; IP banned until ${until}. Please use WebSocket Streams for live updates to avoid bans.`,
    };
  }

  private tooMany(ip: string, retryAfterSeconds: number, code: number, msg: string, policy: { banAfter429s: number; banSeconds: number }): Admission {
    const now = this.clock();
    const recent = (this.recent429s.get(ip) ?? []).filter((t) => now - t < 60_000);
    recent.push(now);
    this.recent429s.set(ip, recent);
    if (recent.length > policy.banAfter429s) return this.ban(ip, policy.banSeconds);
    return { ok: false, status: 429, retryAfterSeconds, code, msg };
  }
}

function bump(windows: Map<string, Window>, key: string, now: number, length: number, amount: number): Window {
  let w = windows.get(key);
  if (!w || now - w.start >= length) {
    w = { start: now - (now % length), used: 0 };
    windows.set(key, w);
  }
  w.used += amount;
  return w;
}

function secondsLeft(w: Window, now: number, length: number): number {
  return Math.max(1, Math.ceil((w.start + length - now) / 1000));
}
