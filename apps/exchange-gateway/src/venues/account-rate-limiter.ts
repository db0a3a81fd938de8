import type { RateLimitState, RateLimitStatus } from '@garde/contracts';
import { RateBudget, type CallPriority, type RateCall, type RateWindow } from '@garde/domain';
import { GatewayException } from '../errors/gateway.exception.js';
import { retryAfterMs, type VenueRateProfile } from './venue-rate-limits.js';

/** Thrown by the limiter instead of sending: the call never reached the venue. */
export class NotSentError extends Error {}

export interface RateLimiterOptions {
  utilization: number;
  cancelReserve: number;
  orderReserve: number;
  /** How long a new order may wait for room before it is refused RATE_LIMITED. */
  orderMaxWaitMs: number;
  /** Pause after a 429 that carries no Retry-After. */
  defaultPauseMs: number;
  /** Longest pause after repeated 429s (each one doubles the pause). */
  maxPauseMs: number;
}

/** What survives a restart: a HALTED account stays halted until an operator resumes it. */
export interface PersistedHalt {
  reason: string;
  since: Date;
  bannedUntil: Date;
}

export interface AccountRateLimiterSetup {
  accountId: string;
  exchangeId: string;
  profile: VenueRateProfile;
  /** The limits to start with, until the venue publishes its own. */
  windows: RateWindow[];
  options: RateLimiterOptions;
  onChange: (status: RateLimitStatus, previous: RateLimitState) => void;
  /** Makes one cheap call (the venue's clock), used as the probe when only new orders wait after a pause. */
  sendProbe: () => Promise<unknown>;
  clock?: () => number;
  /** A halt kept from before a restart. */
  halt?: PersistedHalt;
}

interface Waiter {
  call: RateCall;
  deadline: number;
  /** `probe`: this call goes alone after a pause, to see whether the venue still refuses. */
  resolve: (probe: boolean) => void;
  reject: (err: Error) => void;
}

const RANK: Record<CallPriority, number> = { cancel: 0, order: 1, query: 2 };

/**
 * One exchange account's rate limiting (RB-004), shared by every caller of the account's ccxt client.
 *
 * Every REST call waits for room in the budget (cancels first, then orders, then queries). A 429 pauses
 * the account for Retry-After, doubled on each 429 in a row; while paused nothing is sent, new orders
 * are refused at once, and cancels and queries wait. When the pause ends one call goes first (a cancel if
 * one waits) and the rest follow only if it was not refused again. A 418 (ban) halts the account: nothing
 * is sent before the ban ends, and new orders are refused until an operator resumes it.
 */
export class AccountRateLimiter {
  private readonly budget: RateBudget;
  private limitsFromVenue = false;
  private state: RateLimitState = 'OK';
  private since: number;
  private reason: string | null = null;
  private pausedUntil = 0;
  private consecutive429s = 0;
  /** After a pause, one call is let out to see whether the venue still refuses. */
  private probing: 'none' | 'due' | 'in-flight' = 'none';
  /** A probe call was asked of `sendProbe` and has not come through yet. */
  private probeRequested = false;
  private readonly waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly counts = { count429: 0, count418: 0, refusedOrders: 0 };
  private closed = false;

  readonly accountId: string;
  readonly exchangeId: string;
  readonly profile: VenueRateProfile;
  private readonly options: RateLimiterOptions;
  private readonly onChange: AccountRateLimiterSetup['onChange'];
  private readonly sendProbe: AccountRateLimiterSetup['sendProbe'];
  private readonly clock: () => number;

  constructor(setup: AccountRateLimiterSetup) {
    ({ accountId: this.accountId, exchangeId: this.exchangeId, profile: this.profile, options: this.options } = setup);
    this.onChange = setup.onChange;
    this.sendProbe = setup.sendProbe;
    this.clock = setup.clock ?? Date.now;
    this.budget = new RateBudget(setup.windows, this.options);
    this.since = this.clock();
    const halt = setup.halt;
    if (halt) {
      this.state = 'HALTED';
      this.reason = halt.reason;
      this.since = halt.since.getTime();
      this.pausedUntil = halt.bannedUntil.getTime();
    }
  }

  /**
   * Room for a new order, taken before the order is persisted (DESIGN §4); its REST call is not counted again.
   * Refused RATE_LIMITED when the account is paused or halted, or no room frees up in time.
   */
  async takeOrderToken(): Promise<void> {
    await this.acquire({ priority: 'order', weight: 1 });
  }

  /**
   * Called by the ccxt client before each REST call: waits for its turn, or throws NotSentError. The
   * answer goes back to `afterCall` when the call has ended. A new order has taken its token already.
   */
  async beforeCall(call: RateCall): Promise<{ probe: boolean }> {
    if (call.priority === 'order') {
      if (this.clock() < this.pausedUntil) throw new NotSentError(`not sent: ${this.exchangeId} (${this.accountId}) is ${this.state}: ${this.reason}`);
      return { probe: false };
    }
    try {
      return { probe: await this.acquire(call) };
    } catch (err) {
      throw err instanceof GatewayException ? new NotSentError(err.message) : err;
    }
  }

  /** Called with every answer's status and headers (before ccxt turns an error status into an exception). */
  observe(status: number, headers: Record<string, string>): void {
    const now = this.clock();
    const used = this.profile.usedIn(headers);
    if (used) this.budget.sync('weight', used.intervalMs, used.used, now);
    if (status === 418) {
      this.counts.count418++;
      const banMs = retryAfterMs(headers, now) ?? this.options.maxPauseMs;
      this.pausedUntil = Math.max(this.pausedUntil, now + banMs);
      if (this.probing === 'none') this.probing = 'due';
      this.change('HALTED', `banned by the venue (HTTP 418) until ${new Date(this.pausedUntil).toISOString()}`);
    } else if (status === 429) {
      this.counts.count429++;
      this.consecutive429s++;
      const base = retryAfterMs(headers, now) ?? this.options.defaultPauseMs;
      const pause = Math.min(this.options.maxPauseMs, base * 2 ** (this.consecutive429s - 1));
      this.pausedUntil = Math.max(this.pausedUntil, now + pause);
      if (this.probing === 'none') this.probing = 'due';
      if (this.state !== 'HALTED') this.change('PAUSED', `HTTP 429 from the venue (${this.consecutive429s} in a row): paused ${Math.round(pause / 1000)} s`);
    } else if (status < 500) {
      this.consecutive429s = 0;
    }
  }

  /** Called when a REST call has ended, however it ended, with what `beforeCall` answered. */
  afterCall(ticket: { probe: boolean }): void {
    if (!ticket.probe) return;
    this.probing = this.clock() < this.pausedUntil ? 'due' : 'none';
    if (this.probing === 'none' && this.state === 'PAUSED') this.change('OK', null);
    this.pump();
  }

  /** The venue published its limits (e.g. in exchangeInfo). */
  venueLimits(windows: RateWindow[]): void {
    this.budget.configure(windows, this.clock());
    this.limitsFromVenue = true;
  }

  /** Lifts a HALTED state once the ban is over; the caller records it (it knows the operator), not `onChange`. */
  resume(): void {
    if (this.state !== 'HALTED') throw new GatewayException('INVALID_TRANSITION', `account ${this.accountId} is ${this.state}, not HALTED: nothing to resume`);
    const now = this.clock();
    if (now < this.pausedUntil) {
      throw new GatewayException(
        'INVALID_TRANSITION',
        `account ${this.accountId} is banned by the venue until ${new Date(this.pausedUntil).toISOString()}; resume after that`,
        { pausedUntil: new Date(this.pausedUntil).toISOString() },
      );
    }
    this.consecutive429s = 0;
    this.change('OK', null, false);
  }

  /** True while nothing may be sent (a pause or a ban): probes of venue health wait for it to end. */
  get blocked(): boolean {
    return this.clock() < this.pausedUntil;
  }

  status(): RateLimitStatus {
    const now = this.clock();
    return {
      accountId: this.accountId,
      exchangeId: this.exchangeId,
      state: this.state,
      limitsSource: this.limitsFromVenue ? 'venue' : 'ccxt-default',
      windows: this.budget.usage(now),
      pausedUntil: now < this.pausedUntil ? new Date(this.pausedUntil).toISOString() : null,
      reason: this.reason,
      since: new Date(this.since).toISOString(),
      waiting: this.waiters.length,
      ...this.counts,
    };
  }

  /** Rejects whatever still waits (the account was removed, or the gateway stops). */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    for (const w of this.waiters.splice(0)) w.reject(new NotSentError(`not sent: account ${this.accountId} is closing`));
  }

  private acquire(call: RateCall): Promise<boolean> {
    if (this.closed) return Promise.reject(new NotSentError(`not sent: account ${this.accountId} is closing`));
    if (call.priority === 'order') this.assertOrdersAccepted();
    return new Promise<boolean>((resolve, reject) => {
      const deadline = call.priority === 'order' ? this.clock() + this.options.orderMaxWaitMs : Number.POSITIVE_INFINITY;
      this.waiters.push({ call, deadline, resolve, reject });
      this.waiters.sort((a, b) => RANK[a.call.priority] - RANK[b.call.priority]);
      this.pump();
    });
  }

  private assertOrdersAccepted(): void {
    const now = this.clock();
    if (this.state === 'HALTED' || now < this.pausedUntil) {
      this.counts.refusedOrders++;
      const until = now < this.pausedUntil ? ` until ${new Date(this.pausedUntil).toISOString()}` : '';
      throw new GatewayException(
        'RATE_LIMITED',
        this.state === 'HALTED'
          ? `order refused: account ${this.accountId} (${this.exchangeId}) is HALTED after a venue ban${until}; an operator must resume it (RB-004): ${this.reason}`
          : `order refused: account ${this.accountId} (${this.exchangeId}) is paused by the venue's rate limit${until}: ${this.reason}`,
        { accountId: this.accountId, exchangeId: this.exchangeId, state: this.state, pausedUntil: new Date(this.pausedUntil).toISOString() },
      );
    }
  }

  /** Lets out every waiter that fits, in priority order, and sets a timer for the rest. */
  private pump(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const now = this.clock();
    if (now < this.pausedUntil) {
      for (const w of this.waiters.filter((w) => w.call.priority === 'order')) this.drop(w, () => this.assertOrdersAccepted());
      if (this.probing === 'none') this.probing = 'due';
      this.schedule(this.pausedUntil - now);
      return;
    }
    if (this.probing === 'in-flight') return;
    let nextTry = Number.POSITIVE_INFINITY;
    for (const w of [...this.waiters]) {
      if (now >= w.deadline) {
        this.drop(w, () => {
          this.counts.refusedOrders++;
          throw new GatewayException(
            'RATE_LIMITED',
            `order refused: no room in the rate-limit budget of account ${this.accountId} (${this.exchangeId}) within ${this.options.orderMaxWaitMs} ms`,
            { accountId: this.accountId, exchangeId: this.exchangeId, state: this.state },
          );
        });
        continue;
      }
      // A new order never tests the venue after a pause: a query does, and the orders follow.
      if (this.probing === 'due' && w.call.priority === 'order') {
        nextTry = Math.min(nextTry, w.deadline);
        this.requestProbe();
        continue;
      }
      const wait = this.budget.take(w.call, now);
      if (wait > 0) {
        nextTry = Math.min(nextTry, now + wait, w.deadline);
        continue;
      }
      this.waiters.splice(this.waiters.indexOf(w), 1);
      if (this.probing === 'due') {
        this.probing = 'in-flight';
        this.probeRequested = false;
        w.resolve(true);
        return;
      }
      w.resolve(false);
    }
    if (nextTry !== Number.POSITIVE_INFINITY) this.schedule(nextTry - now);
  }

  private requestProbe(): void {
    if (this.probeRequested || this.waiters.some((w) => w.call.priority !== 'order')) return;
    this.probeRequested = true;
    this.sendProbe()
      .catch(() => undefined)
      // The probe's own call resumes the queue when it ends; if it never got that far, the orders'
      // deadlines will (no retry loop here).
      .finally(() => (this.probeRequested = false));
  }

  private drop(w: Waiter, refuse: () => void): void {
    this.waiters.splice(this.waiters.indexOf(w), 1);
    try {
      refuse();
    } catch (err) {
      w.reject(err as Error);
    }
  }

  private schedule(ms: number): void {
    if (this.waiters.length === 0) return;
    this.timer = setTimeout(() => this.pump(), Math.max(1, ms));
    this.timer.unref();
  }

  private change(state: RateLimitState, reason: string | null, notify = true): void {
    const previous = this.state;
    if (previous === state && this.reason === reason) return;
    if (previous !== state) this.since = this.clock();
    this.state = state;
    this.reason = reason;
    if (notify) this.onChange(this.status(), previous);
  }
}
