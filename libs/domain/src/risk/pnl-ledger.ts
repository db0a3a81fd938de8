/**
 * Positions and PnL from fills (DESIGN §6), per holder (a bot, or the operators' manual orders) ×
 * exchange × instrument, and the equity that the loss limits watch: per bot and firm-wide, its peak,
 * the drawdown from that peak, and the PnL since 00:00 UTC. Pure: no clock (every time is passed in),
 * no I/O; prices come in through `mark`.
 *
 * Per position, by the average-cost method of `position.ts`, on the executed quantities:
 * - `quantity` is the signed sum of the fills (buys +, sells −), whatever their fees — the base the
 *   orders moved, as the exposure book counts it;
 * - `realizedPnl` is what reducing the position realized against its average cost, fees left out;
 * - `fees` is every fee valued in the quote currency: a fee in quote as it is, a fee in base at its
 *   fill's price, a fee in a third currency (BNB…) at the price of that currency in quote given with
 *   the fill; without such a price it is kept apart in `unpricedFees` (per currency, never converted)
 *   and reported;
 * - `unrealizedPnl` = quantity × mark − cost, at the instrument's mark: the latest of the market price
 *   passed to `mark` and the last fill's price, whichever is younger;
 * - `equity` = realizedPnl + unrealizedPnl − fees. A round trip at one price leaves equity = −fees.
 *
 * A fee in base takes base away from the account (the venue's balance is `quantity` minus those fees):
 * here it is a cost valued at the fill price, not a smaller position. Reconciling balances with the
 * venue is another matter (reconciliation).
 *
 * Equity trackers, per bot, for the manual orders, and for the firm (everyone): the equity starts at
 * zero (PnL, not capital), its peak is the highest equity observed, never below zero; an observation
 * happens after each fill (its holder's and the firm's, at the fill's time) and at `observeAll` (every
 * holder's and the firm's, after marks, at the time given). The firm's equity is kept per instrument
 * as Σ position and Σ (realized − cost − fees), linear in the mark: a fill or a mark costs the same
 * with 10 bots or 1,000, not a pass over every position. The drawdown is
 * peak − equity now; the daily PnL is equity now − the equity observed last before 00:00 UTC of the
 * day of `now`. Amounts in different quote currencies add up as they are (the firm trades one quote
 * today): `currency` says which quote a total is in, null when mixed.
 *
 * Each fill is applied once per (client order id, trade id); a second look changes nothing.
 */
import { Decimal } from '../decimal-math.js';
import { applyFill, emptyPositionOf, type Position } from '../position.js';
import type { OrderSide } from '../strategies/strategy.js';

/** One execution, as the gateway reports it. */
export interface LedgerFill {
  /** The venue's trade id. */
  readonly tradeId: string;
  /** The order it executes. */
  readonly clientOrderId: string;
  /** The bot of the order; null or absent for an operator's manual order. */
  readonly botId?: string | null | undefined;
  readonly exchangeId: string;
  /** `BASE/QUOTE`. */
  readonly symbol: string;
  readonly side: OrderSide;
  /** Price in quote per base (≥ 0). */
  readonly price: Decimal;
  /** Base executed (> 0). */
  readonly quantity: Decimal;
  /** Fee charged (≥ 0), in `feeCurrency`. */
  readonly fee: Decimal;
  /** The fee's currency; the quote currency when null. */
  readonly feeCurrency: string | null;
  /** When it happened (epoch ms). */
  readonly at: number;
  /** For a fee in a third currency: the price of one unit of it in the quote currency. Without it the fee is kept apart. */
  readonly feeCurrencyPrice?: Decimal | undefined;
}

/** Where a mark price comes from: the market (a ticker), or the instrument's last fill. */
export type MarkSource = 'market' | 'fill';

/** One holder's position in one instrument, valued. */
export interface LedgerPosition {
  /** Null for the manual orders. */
  readonly botId: string | null;
  readonly exchangeId: string;
  readonly symbol: string;
  readonly base: string;
  readonly quote: string;
  /** Signed base: the sum of the fills (buys +, sells −). */
  readonly quantity: Decimal;
  /** Cost basis in quote of `quantity` (negative for a short). */
  readonly cost: Decimal;
  /** cost / quantity (18 digits); null when flat. */
  readonly averageCost: Decimal | null;
  /** Realized against the average cost, fees left out. */
  readonly realizedPnl: Decimal;
  /** Fees valued in quote. */
  readonly fees: Decimal;
  /** Fees no price could value, per currency. */
  readonly unpricedFees: Readonly<Record<string, Decimal>>;
  readonly fills: number;
  /** The price the position is valued at (see `markSource`). */
  readonly markPrice: Decimal;
  readonly markSource: MarkSource;
  /** When the mark held (epoch ms). */
  readonly markAt: number;
  /** quantity × mark − cost. */
  readonly unrealizedPnl: Decimal;
  /** |quantity| × mark. */
  readonly notional: Decimal;
  /** realizedPnl + unrealizedPnl − fees. */
  readonly equity: Decimal;
}

/** A holder's (or the firm's) totals and its equity's history figures. */
export interface EquityFigures {
  readonly realizedPnl: Decimal;
  readonly unrealizedPnl: Decimal;
  readonly fees: Decimal;
  /** Fees no price could value, per currency, summed over the positions. */
  readonly unpricedFees: Readonly<Record<string, Decimal>>;
  /** realizedPnl + unrealizedPnl − fees. */
  readonly equity: Decimal;
  /** Highest equity observed (≥ 0: the equity before any fill), and at least the equity now. */
  readonly peak: Decimal;
  /** peak − equity (≥ 0). */
  readonly drawdown: Decimal;
  /** Equity now − equity at 00:00 UTC of the day of `now`. */
  readonly dailyPnl: Decimal;
  /** The quote currency of every position counted; null when none or mixed. */
  readonly currency: string | null;
  /** Positions counted (flat ones with fills included). */
  readonly positions: number;
}

const DAY_MS = 86_400_000;
const dayOf = (at: number) => Math.floor(at / DAY_MS);

/** Holder of the manual orders (a bot id is never empty). */
const MANUAL = '';
const instrumentKey = (exchangeId: string, symbol: string) => `${exchangeId}|${symbol}`;

interface Entry {
  readonly holder: string;
  readonly exchangeId: string;
  readonly symbol: string;
  position: Position;
  fees: Decimal;
  readonly unpricedFees: Map<string, Decimal>;
}

interface Mark {
  readonly price: Decimal;
  readonly at: number;
}

interface Tracker {
  peak: Decimal;
  /** The UTC day of the last observation (null before the first). */
  day: number | null;
  /** Equity at 00:00 UTC of `day`. */
  dayStartEquity: Decimal;
  /** Equity at the last observation. */
  lastEquity: Decimal;
}

const newTracker = (): Tracker => ({ peak: Decimal.ZERO, day: null, dayStartEquity: Decimal.ZERO, lastEquity: Decimal.ZERO });

export class PnlLedger {
  /** holder → instrument key → entry. */
  private readonly byHolder = new Map<string, Map<string, Entry>>();
  private readonly applied = new Set<string>();
  private readonly marketMarks = new Map<string, Mark>();
  private readonly fillMarks = new Map<string, Mark>();
  private readonly trackers = new Map<string, Tracker>();
  private readonly firm: Tracker = newTracker();
  /** instrument key → everyone's Σ quantity and Σ (realized − cost − fees): its equity is mark × quantity + rest. */
  private readonly instrumentTotals = new Map<string, { exchangeId: string; symbol: string; quantity: Decimal; rest: Decimal }>();
  /** Σ of the instruments' equity at their marks. */
  private firmEquity = Decimal.ZERO;

  /**
   * Applies one fill (once per client order id and trade id: answers false, changing nothing, on a
   * second look), then observes its holder's and the firm's equity at the fill's time. Throws a
   * RangeError on a fill that cannot be (quantity ≤ 0, negative price or fee, not BASE/QUOTE).
   */
  apply(fill: LedgerFill): boolean {
    const key = `${fill.clientOrderId}|${fill.tradeId}`;
    if (this.applied.has(key)) return false;
    if (!fill.quantity.isPositive()) throw new RangeError(`a fill's quantity must be positive (got ${fill.quantity.toString()})`);
    if (fill.price.isNegative()) throw new RangeError(`a fill's price cannot be negative (got ${fill.price.toString()})`);
    if (fill.fee.isNegative()) throw new RangeError(`a fill's fee cannot be negative (got ${fill.fee.toString()})`);
    const holder = fill.botId ?? MANUAL;
    const entry = this.entry(holder, fill.exchangeId, fill.symbol);
    const k = instrumentKey(fill.exchangeId, fill.symbol);
    const before = this.instrumentEquity(k);
    const was = contribution(entry);
    const { base, quote } = entry.position;
    entry.position = applyFill(entry.position, { side: fill.side, price: fill.price, quantity: fill.quantity, fee: Decimal.ZERO });
    if (!fill.fee.isZero()) {
      const currency = fill.feeCurrency ?? quote;
      if (currency === quote) entry.fees = entry.fees.plus(fill.fee);
      else if (currency === base) entry.fees = entry.fees.plus(fill.fee.times(fill.price));
      else if (fill.feeCurrencyPrice) entry.fees = entry.fees.plus(fill.fee.times(fill.feeCurrencyPrice));
      else entry.unpricedFees.set(currency, (entry.unpricedFees.get(currency) ?? Decimal.ZERO).plus(fill.fee));
    }
    this.applied.add(key);
    const last = this.fillMarks.get(k);
    if (!last || last.at <= fill.at) this.fillMarks.set(k, { price: fill.price, at: fill.at });
    const is = contribution(entry);
    const instrument = this.instrumentTotals.get(k) ?? { exchangeId: fill.exchangeId, symbol: fill.symbol, quantity: Decimal.ZERO, rest: Decimal.ZERO };
    instrument.quantity = instrument.quantity.plus(is.quantity).minus(was.quantity);
    instrument.rest = instrument.rest.plus(is.rest).minus(was.rest);
    this.instrumentTotals.set(k, instrument);
    this.firmEquity = this.firmEquity.plus(this.instrumentEquity(k)).minus(before);
    this.observe(this.trackerOf(holder), this.totals(this.holderEntries(holder)).equity, fill.at);
    this.observe(this.firm, this.firmEquity, fill.at);
    return true;
  }

  /** Sets the market price of instruments (an older price than the one held is ignored); call `observe` afterwards to move peaks. */
  mark(exchangeId: string, symbol: string, price: Decimal, at: number): void {
    const k = instrumentKey(exchangeId, symbol);
    const held = this.marketMarks.get(k);
    if (held && held.at > at) return;
    const before = this.instrumentEquity(k);
    this.marketMarks.set(k, { price, at });
    this.firmEquity = this.firmEquity.plus(this.instrumentEquity(k)).minus(before);
  }

  /** Observes every holder's and the firm's equity at `now` (peaks, day starts): after marking. */
  observeAll(now: number): void {
    for (const holder of this.byHolder.keys()) this.observe(this.trackerOf(holder), this.totals(this.holderEntries(holder)).equity, now);
    this.observe(this.firm, this.firmEquity, now);
  }

  /** Has this fill been applied? */
  has(clientOrderId: string, tradeId: string): boolean {
    return this.applied.has(`${clientOrderId}|${tradeId}`);
  }

  /** Every instrument with a position or fills (everyone's), to mark. */
  instruments(): Array<{ exchangeId: string; symbol: string }> {
    const seen = new Map<string, { exchangeId: string; symbol: string }>();
    for (const e of this.allEntries()) seen.set(instrumentKey(e.exchangeId, e.symbol), { exchangeId: e.exchangeId, symbol: e.symbol });
    return [...seen.values()];
  }

  /** The bots with fills. */
  bots(): string[] {
    return [...this.byHolder.keys()].filter((h) => h !== MANUAL).sort();
  }

  /** Positions, valued; optionally of one holder (a bot id, or null for the manual orders) and/or one exchange. */
  positions(filter: { botId?: string | null; exchangeId?: string } = {}): LedgerPosition[] {
    const entries = filter.botId === undefined ? this.allEntries() : this.holderEntries(filter.botId ?? MANUAL);
    return entries.filter((e) => filter.exchangeId === undefined || e.exchangeId === filter.exchangeId).map((e) => this.value(e));
  }

  /** A bot's figures (the manual orders' when `botId` is null) at `now`. */
  holderFigures(botId: string | null, now: number): EquityFigures {
    const holder = botId ?? MANUAL;
    return this.figures(this.trackers.get(holder) ?? newTracker(), this.holderEntries(holder), now);
  }

  /** The firm's figures (everyone's positions) at `now`. */
  firmFigures(now: number): EquityFigures {
    return this.figures(this.firm, this.allEntries(), now);
  }

  private entry(holder: string, exchangeId: string, symbol: string): Entry {
    const k = instrumentKey(exchangeId, symbol);
    const held = this.byHolder.get(holder)?.get(k);
    if (held) return held;
    // Throws on a symbol that is not BASE/QUOTE, before anything is kept.
    const entry: Entry = { holder, exchangeId, symbol, position: emptyPositionOf(symbol), fees: Decimal.ZERO, unpricedFees: new Map() };
    let entries = this.byHolder.get(holder);
    if (!entries) {
      entries = new Map();
      this.byHolder.set(holder, entries);
    }
    entries.set(k, entry);
    return entry;
  }

  private trackerOf(holder: string): Tracker {
    let tracker = this.trackers.get(holder);
    if (!tracker) {
      tracker = newTracker();
      this.trackers.set(holder, tracker);
    }
    return tracker;
  }

  private holderEntries(holder: string): Entry[] {
    return [...(this.byHolder.get(holder)?.values() ?? [])];
  }

  private allEntries(): Entry[] {
    return [...this.byHolder.values()].flatMap((m) => [...m.values()]);
  }

  /** The younger of the market's price and the last fill's. */
  private markOf(exchangeId: string, symbol: string): Mark & { source: MarkSource } {
    const k = instrumentKey(exchangeId, symbol);
    const market = this.marketMarks.get(k);
    const fill = this.fillMarks.get(k)!;
    return market && market.at >= fill.at ? { ...market, source: 'market' } : { ...fill, source: 'fill' };
  }

  private value(e: Entry): LedgerPosition {
    const { position } = e;
    const mark = this.markOf(e.exchangeId, e.symbol);
    const unrealizedPnl = position.quantity.times(mark.price).minus(position.cost);
    return {
      botId: e.holder === MANUAL ? null : e.holder,
      exchangeId: e.exchangeId,
      symbol: e.symbol,
      base: position.base,
      quote: position.quote,
      quantity: position.quantity,
      cost: position.cost,
      averageCost: position.quantity.isZero() ? null : position.cost.dividedBy(position.quantity, 18, 'half-up'),
      realizedPnl: position.realizedPnl,
      fees: e.fees,
      unpricedFees: Object.fromEntries(e.unpricedFees),
      fills: position.fills,
      markPrice: mark.price,
      markSource: mark.source,
      markAt: mark.at,
      unrealizedPnl,
      notional: position.quantity.abs().times(mark.price),
      equity: position.realizedPnl.plus(unrealizedPnl).minus(e.fees),
    };
  }

  private totals(entries: Entry[]): Omit<EquityFigures, 'peak' | 'drawdown' | 'dailyPnl'> {
    let realizedPnl = Decimal.ZERO;
    let unrealizedPnl = Decimal.ZERO;
    let fees = Decimal.ZERO;
    const unpricedFees: Record<string, Decimal> = {};
    const currencies = new Set<string>();
    for (const e of entries) {
      const v = this.value(e);
      realizedPnl = realizedPnl.plus(v.realizedPnl);
      unrealizedPnl = unrealizedPnl.plus(v.unrealizedPnl);
      fees = fees.plus(v.fees);
      for (const [currency, fee] of Object.entries(v.unpricedFees)) unpricedFees[currency] = (unpricedFees[currency] ?? Decimal.ZERO).plus(fee);
      currencies.add(v.quote);
    }
    return {
      realizedPnl,
      unrealizedPnl,
      fees,
      unpricedFees,
      equity: realizedPnl.plus(unrealizedPnl).minus(fees),
      currency: currencies.size === 1 ? [...currencies][0]! : null,
      positions: entries.length,
    };
  }

  /** An instrument's equity (everyone's) at its mark; zero before its first fill. */
  private instrumentEquity(key: string): Decimal {
    const instrument = this.instrumentTotals.get(key);
    if (!instrument) return Decimal.ZERO;
    return this.markOf(instrument.exchangeId, instrument.symbol).price.times(instrument.quantity).plus(instrument.rest);
  }

  /** Moves a tracker to `now`: a new UTC day starts from the equity last observed; the peak follows the equity up. */
  private observe(tracker: Tracker, equity: Decimal, now: number): void {
    const day = dayOf(now);
    if (tracker.day === null || day > tracker.day) {
      tracker.dayStartEquity = tracker.lastEquity;
      tracker.day = day;
    }
    tracker.lastEquity = equity;
    if (equity.gt(tracker.peak)) tracker.peak = equity;
  }

  private figures(tracker: Tracker, entries: Entry[], now: number): EquityFigures {
    const totals = this.totals(entries);
    const peak = Decimal.max(tracker.peak, totals.equity);
    const dayStart = tracker.day === null || dayOf(now) > tracker.day ? tracker.lastEquity : tracker.dayStartEquity;
    return { ...totals, peak, drawdown: peak.minus(totals.equity), dailyPnl: totals.equity.minus(dayStart) };
  }
}

/** What a position adds to its instrument's totals: its quantity, and realized − cost − fees (its equity is mark × quantity + that). */
function contribution(e: Entry): { quantity: Decimal; rest: Decimal } {
  return { quantity: e.position.quantity, rest: e.position.realizedPnl.minus(e.position.cost).minus(e.fees) };
}
