/**
 * One exchange account's request budget (RB-004), kept under a share of each limit the venue publishes.
 *
 * Each limit is counted over a sliding window made of `slots` buckets; the oldest bucket, partly outside
 * the window, still counts, so the count never undercounts and no fixed window of the venue's can see
 * more than the cap. Cancels have a reserve of their own: the other calls stop short of the cap by
 * `cancelReserve` of it, and queries stop short of it by `orderReserve` more: a cancel still fits when
 * orders and queries have used their share, and polling alone never leaves new orders without room.
 */

/** What a limit counts: each request's weight, each request once, or new orders only. */
export type RateUnit = 'weight' | 'requests' | 'orders';

/** One published limit: at most `limit` units per `intervalMs`. */
export interface RateWindow {
  readonly unit: RateUnit;
  readonly intervalMs: number;
  readonly limit: number;
}

/** Cancels first; new orders; everything else (queries, probes, market data). */
export type CallPriority = 'cancel' | 'order' | 'query';

export interface RateCall {
  readonly priority: CallPriority;
  /** The venue's weight for this request (1 where the venue has no weights). */
  readonly weight: number;
}

export interface RateBudgetOptions {
  /** Share of each venue limit the budget may use, e.g. 0.8. */
  readonly utilization: number;
  /** Share of the budget only cancels may use, e.g. 0.1. */
  readonly cancelReserve: number;
  /** Further share that queries may not use, kept for new orders (and cancels), e.g. 0.2. Default 0. */
  readonly orderReserve?: number;
  /** Buckets per window. */
  readonly slots?: number;
}

export interface WindowUsage extends RateWindow {
  /** What this budget lets itself use of `limit`. */
  readonly cap: number;
  /** Counted in the window now. */
  readonly used: number;
}

class SlidingCounter {
  private readonly slotMs: number;
  /** Slot index → units counted in it; at most `slots + 1` entries. */
  private readonly buckets = new Map<number, number>();

  constructor(
    readonly window: RateWindow,
    private readonly slots: number,
  ) {
    this.slotMs = Math.max(1, window.intervalMs / slots);
  }

  used(now: number): number {
    this.expire(now);
    let sum = 0;
    for (const units of this.buckets.values()) sum += units;
    return sum;
  }

  add(units: number, now: number): void {
    const k = this.slot(now);
    this.buckets.set(k, (this.buckets.get(k) ?? 0) + units);
  }

  /** Milliseconds until `need` units have left the window (Infinity if they never will). */
  msUntilFreed(need: number, now: number): number {
    this.expire(now);
    let freed = 0;
    for (const k of [...this.buckets.keys()].sort((a, b) => a - b)) {
      freed += this.buckets.get(k)!;
      // Slot k stops counting once the current slot is past k + slots.
      if (freed >= need) return Math.max(1, Math.ceil((k + this.slots + 1) * this.slotMs - now));
    }
    return Number.POSITIVE_INFINITY;
  }

  private slot(now: number): number {
    return Math.floor(now / this.slotMs);
  }

  private expire(now: number): void {
    const oldest = this.slot(now) - this.slots;
    for (const k of this.buckets.keys()) if (k < oldest) this.buckets.delete(k);
  }
}

export class RateBudget {
  private counters: SlidingCounter[] = [];

  constructor(
    windows: readonly RateWindow[],
    private readonly options: RateBudgetOptions,
  ) {
    if (!(options.utilization > 0 && options.utilization <= 1)) throw new RangeError('utilization must be in (0, 1]');
    const reserved = options.cancelReserve + (options.orderReserve ?? 0);
    if (!(options.cancelReserve >= 0 && (options.orderReserve ?? 0) >= 0 && reserved < 1))
      throw new RangeError('cancelReserve and orderReserve must be positive shares that leave room for queries');
    this.configure(windows);
  }

  get windows(): readonly RateWindow[] {
    return this.counters.map((c) => c.window);
  }

  /** New limits (read from the venue): counts of a window already known are kept. */
  configure(windows: readonly RateWindow[], now = 0): void {
    for (const w of windows) {
      if (!(w.limit > 0 && w.intervalMs > 0)) throw new RangeError(`a rate window needs a positive limit and interval (${JSON.stringify(w)})`);
    }
    const previous = this.counters;
    this.counters = windows.map((w) => {
      const same = previous.find((c) => c.window.unit === w.unit && c.window.intervalMs === w.intervalMs);
      if (same && same.window.limit === w.limit) return same;
      const fresh = new SlidingCounter(w, this.options.slots ?? 20);
      if (same) fresh.add(same.used(now), now);
      return fresh;
    });
  }

  /**
   * Takes room for `call` now and answers 0, or answers how many milliseconds to wait before it could
   * fit (nothing taken then). A call bigger than its whole cap fits only into an empty window.
   */
  take(call: RateCall, now: number): number {
    let wait = 0;
    for (const counter of this.counters) {
      const units = unitsOf(counter.window.unit, call);
      if (units === 0) continue;
      const cap = this.capFor(counter.window, call.priority);
      const used = counter.used(now);
      if (used + units <= cap || used === 0) continue;
      wait = Math.max(wait, counter.msUntilFreed(used + units - cap, now));
    }
    if (wait > 0) return wait;
    for (const counter of this.counters) {
      const units = unitsOf(counter.window.unit, call);
      if (units > 0) counter.add(units, now);
    }
    return 0;
  }

  /** The venue says it has counted `used` in a window of ours (e.g. X-MBX-USED-WEIGHT-1M): never count less. */
  sync(unit: RateUnit, intervalMs: number, used: number, now: number): void {
    const counter = this.counters.find((c) => c.window.unit === unit && c.window.intervalMs === intervalMs);
    if (!counter) return;
    const ours = counter.used(now);
    if (used > ours) counter.add(used - ours, now);
  }

  usage(now: number): WindowUsage[] {
    return this.counters.map((c) => ({ ...c.window, cap: this.capFor(c.window, 'cancel'), used: c.used(now) }));
  }

  private capFor(window: RateWindow, priority: CallPriority): number {
    const cap = Math.max(1, Math.floor(window.limit * this.options.utilization));
    const reserved =
      priority === 'cancel' ? 0 : priority === 'order' ? this.options.cancelReserve : this.options.cancelReserve + (this.options.orderReserve ?? 0);
    return Math.max(1, Math.floor(cap * (1 - reserved)));
  }
}

function unitsOf(unit: RateUnit, call: RateCall): number {
  switch (unit) {
    case 'weight':
      return call.weight;
    case 'requests':
      return 1;
    case 'orders':
      return call.priority === 'order' ? 1 : 0;
  }
}
