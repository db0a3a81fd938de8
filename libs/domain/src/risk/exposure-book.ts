/**
 * What risk-service counts against its limits: every order from the moment it is approved until the
 * gateway says it ended, and the positions its fills made. Pure: the times are passed in, events are
 * applied in the order they are given.
 *
 * An order counts its base quantity still to fill on its side:
 * - approved (by any replica), or live at the venue (OPEN, PARTIALLY_FILLED, PENDING_*, UNKNOWN): its
 *   quantity minus the fills seen;
 * - ended (FILLED, CANCELED, REJECTED, EXPIRED, LOST): what the venue reported filled but whose fills
 *   have not been seen yet (they are real, and move to the position when they come); nothing else.
 * It is released when the gateway refuses it after the approval (never sent), and an approval followed
 * by no event at all within `approvalTtlMs` is dropped (the gateway died before persisting it; one it
 * persisted comes back through its settlement).
 *
 * Holdings are kept per holder (a bot, or the manual orders) and per instrument (everyone's, netted):
 * a position (net base from fills) and the base of open buys and sells. A holding's exposure is the
 * largest position it could reach if the open orders of one side all filled (`worstCaseQuantity`),
 * valued at the instrument's reference price: a sell that reduces a long position adds nothing, and a
 * fill never raises it (it only moves base from an open order to the position).
 */
import { Decimal } from '../decimal-math.js';
import { isFinal, type OrderState } from '../order-state.js';
import type { OrderSide } from '../strategies/strategy.js';

/** An order as risk-service approves it. */
export interface BookOrder {
  readonly clientOrderId: string;
  /** Absent for an operator's manual order. */
  readonly botId?: string | undefined;
  readonly exchangeId: string;
  /** The exchange account that sends it (the gateway routes it before asking). */
  readonly accountId?: string | undefined;
  readonly symbol: string;
  readonly side: OrderSide;
  readonly type: 'limit' | 'market';
  /** Base quantity. */
  readonly quantity: Decimal;
  /** Limit price; absent for a market order. */
  readonly price?: Decimal | undefined;
}

/** What the gateway says of an order in one of its events. */
export interface OrderReport {
  readonly clientOrderId: string;
  readonly botId: string | null;
  readonly exchangeId: string;
  readonly accountId: string;
  readonly symbol: string;
  readonly side: OrderSide;
  readonly quantity: Decimal;
  readonly price: Decimal | null;
  readonly state: OrderState;
  /** Base filled, as the venue last reported it. */
  readonly filled: Decimal;
}

/** One execution of an order. */
export interface FillReport {
  readonly tradeId: string;
  readonly quantity: Decimal;
  readonly price: Decimal;
}

/** Base quantities of one holder in one instrument. */
export interface Holding {
  /** Net base from fills: positive long, negative short. */
  readonly position: Decimal;
  /** Base of the buy orders counted (see the module comment). */
  readonly openBuy: Decimal;
  /** Base of the sell orders counted. */
  readonly openSell: Decimal;
}

export const EMPTY_HOLDING: Holding = { position: Decimal.ZERO, openBuy: Decimal.ZERO, openSell: Decimal.ZERO };

/** The largest position a holding could reach if its open orders of one side all filled: max(|position + buys|, |position − sells|). */
export function worstCaseQuantity(h: Holding): Decimal {
  return Decimal.max(h.position.plus(h.openBuy).abs(), h.position.minus(h.openSell).abs());
}

/** The holding with one more open order. */
export function withOrder(h: Holding, side: OrderSide, quantity: Decimal): Holding {
  return side === 'buy' ? { ...h, openBuy: h.openBuy.plus(quantity) } : { ...h, openSell: h.openSell.plus(quantity) };
}

/** An instrument's holding, named. */
export interface InstrumentHolding {
  readonly exchangeId: string;
  readonly symbol: string;
  readonly holding: Holding;
}

/** An approval, kept a while for message rates and duplicates. */
export interface RecentApproval {
  /** When it was approved (epoch ms, the approving replica's clock). */
  readonly at: number;
  readonly order: BookOrder;
}

export type OrderStatus = 'approved' | 'live' | 'final';

export interface ExposureBookOptions {
  /** An approval followed by no event of the gateway within this long is dropped. */
  readonly approvalTtlMs: number;
  /** An ended order with nothing left to count is forgotten this long after its last event (its late events are ignored until then). */
  readonly tombstoneTtlMs: number;
  /** How long approvals are kept for rates and duplicates. */
  readonly recentWindowMs: number;
}

interface Entry {
  readonly clientOrderId: string;
  readonly holder: string;
  readonly exchangeId: string;
  readonly symbol: string;
  readonly side: OrderSide;
  readonly quantity: Decimal;
  status: OrderStatus;
  filledReported: Decimal;
  filledSeen: Decimal;
  readonly tradeIds: Set<string>;
  readonly approvedAt: number;
  updatedAt: number;
  /** The base it counts now on its side. */
  counted: Decimal;
}

interface MutableHolding {
  position: Decimal;
  openBuy: Decimal;
  openSell: Decimal;
}

/** Holder of the manual orders (a bot id is never empty). */
const MANUAL = '';
const instrumentKey = (exchangeId: string, symbol: string) => `${exchangeId}|${symbol}`;
const nonNegative = (d: Decimal) => (d.isNegative() ? Decimal.ZERO : d);
/** The account an order is counted under for message rates: its exchange account, or its exchange when not routed yet. */
const accountKey = (o: BookOrder) => (o.accountId !== undefined ? `account|${o.accountId}` : `exchange|${o.exchangeId}`);
/** What makes two orders of a bot "the same order" (decimals in their canonical form). */
const sameOrderKey = (o: BookOrder) => `${o.botId}|${o.exchangeId}|${o.symbol}|${o.side}|${o.quantity.toString()}|${o.price?.toString() ?? 'market'}`;

/** Inserts `a` keeping `list` ordered by time (approvals arrive nearly in order: from the end is nearly O(1)). */
function insertByTime(list: RecentApproval[], a: RecentApproval): void {
  let i = list.length;
  while (i > 0 && list[i - 1]!.at > a.at) i--;
  list.splice(i, 0, a);
}

/** Where the approvals of `list` (ordered by time) later than `after` start: a binary search. */
function firstAfter(list: readonly RecentApproval[], after: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.at <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** How many of `list` (ordered by time) are later than `after`. */
function countAfter(list: readonly RecentApproval[], after: number): number {
  return list.length - firstAfter(list, after);
}

export class ExposureBook {
  private readonly orders = new Map<string, Entry>();
  /** holder → instrument key → holding. */
  private readonly byHolder = new Map<string, Map<string, MutableHolding & { exchangeId: string; symbol: string }>>();
  /** instrument key → everyone's holding. */
  private readonly byInstrument = new Map<string, MutableHolding & { exchangeId: string; symbol: string }>();
  private readonly lastPrices = new Map<string, Decimal>();
  /**
   * Approvals of the last `recentWindowMs`, each list ordered by time: per bot and per account (message
   * rates) and per bot's order content (duplicates). Indexed so that a check costs the same at 5,000
   * approvals a second as at 5.
   */
  private readonly recentByBot = new Map<string, RecentApproval[]>();
  private readonly recentByAccount = new Map<string, RecentApproval[]>();
  private readonly recentBySameOrder = new Map<string, RecentApproval[]>();

  constructor(private readonly options: ExposureBookOptions) {}

  /** Where an order stands in the book; undefined when unknown (never approved, or forgotten). */
  status(clientOrderId: string): OrderStatus | undefined {
    return this.orders.get(clientOrderId)?.status;
  }

  /**
   * An approval (this replica's, or another's seen on the stream): counted from now. Answers false,
   * and changes nothing, when the order is already known (a second look at the same client order id).
   * `referencePrice` prices the instrument when the order has no limit price.
   */
  approve(order: BookOrder, at: number, referencePrice?: Decimal): boolean {
    if (this.orders.has(order.clientOrderId)) return false;
    const entry = this.entry(order, at, 'approved');
    this.recount(entry);
    this.remember({ at, order });
    const price = order.price ?? referencePrice;
    if (price) this.lastPrices.set(instrumentKey(order.exchangeId, order.symbol), price);
    return true;
  }

  /** The gateway refused the order after its approval: it was never sent (its id may come again as a new order). */
  refused(clientOrderId: string): void {
    const entry = this.orders.get(clientOrderId);
    if (entry?.status !== 'approved') return;
    this.release(entry);
  }

  /** An order event of the gateway (accepted, rejected, unknown, settled, lost, canceled, or a fill's order). */
  report(report: OrderReport, at: number): void {
    let entry = this.orders.get(report.clientOrderId);
    if (!entry) {
      // An order this book never approved (approved before the stream began, or forgotten): only a live one counts.
      if (isFinal(report.state)) return;
      entry = this.entry(report, at, 'live');
    } else if (entry.status === 'final') {
      return;
    }
    this.update(entry, report, at);
    if (report.price) this.lastPrices.set(instrumentKey(report.exchangeId, report.symbol), report.price);
  }

  /** One execution of an order, applied once per trade id while the order is known. */
  fill(report: OrderReport, fill: FillReport, at: number): void {
    let entry = this.orders.get(report.clientOrderId);
    if (entry?.tradeIds.has(fill.tradeId)) return;
    if (!entry && !isFinal(report.state)) entry = this.entry(report, at, 'live');
    const signed = report.side === 'buy' ? fill.quantity : fill.quantity.negated();
    this.adjust(report.botId ?? MANUAL, report.exchangeId, report.symbol, { position: signed });
    this.lastPrices.set(instrumentKey(report.exchangeId, report.symbol), fill.price);
    if (!entry) return;
    entry.tradeIds.add(fill.tradeId);
    entry.filledSeen = entry.filledSeen.plus(fill.quantity);
    if (entry.status === 'final') {
      entry.updatedAt = at;
      this.recount(entry);
    } else {
      this.update(entry, report, at);
    }
  }

  /** Drops approvals the gateway never spoke of within approvalTtlMs, forgets old ended orders, and old approvals. */
  sweep(now: number): void {
    for (const entry of this.orders.values()) {
      if (entry.status === 'approved' && entry.approvedAt < now - this.options.approvalTtlMs) this.release(entry);
      else if (entry.status === 'final' && entry.counted.isZero() && entry.updatedAt < now - this.options.tombstoneTtlMs)
        this.orders.delete(entry.clientOrderId);
    }
    for (const index of [this.recentByBot, this.recentByAccount, this.recentBySameOrder]) {
      for (const [key, list] of index) {
        this.forgetBefore(list, now - this.options.recentWindowMs);
        if (list.length === 0) index.delete(key);
      }
    }
  }

  /** True while the order is approved or live at the venue (not ended, not refused, not forgotten). */
  working(clientOrderId: string): boolean {
    const status = this.orders.get(clientOrderId)?.status;
    return status === 'approved' || status === 'live';
  }

  /** A bot's holding in an instrument (the manual orders' when `botId` is undefined). */
  holding(exchangeId: string, symbol: string, botId: string | undefined): Holding {
    return this.byHolder.get(botId ?? MANUAL)?.get(instrumentKey(exchangeId, symbol)) ?? EMPTY_HOLDING;
  }

  /** Everyone's holding in an instrument, netted. */
  instrumentHolding(exchangeId: string, symbol: string): Holding {
    return this.byInstrument.get(instrumentKey(exchangeId, symbol)) ?? EMPTY_HOLDING;
  }

  /** Every instrument with a position or open orders (everyone's, netted). */
  instrumentHoldings(): InstrumentHolding[] {
    return [...this.byInstrument.values()].map(({ exchangeId, symbol, ...holding }) => ({ exchangeId, symbol, holding }));
  }

  /** A bot's holdings, per instrument. */
  botHoldings(botId: string): InstrumentHolding[] {
    return [...(this.byHolder.get(botId)?.values() ?? [])].map(({ exchangeId, symbol, ...holding }) => ({ exchangeId, symbol, holding }));
  }

  /** The bots with a position or open orders. */
  bots(): string[] {
    return [...this.byHolder.keys()].filter((h) => h !== MANUAL);
  }

  /** How many orders of this bot were approved after `after` (epoch ms, within the last `recentWindowMs`). */
  approvalsOfBotAfter(botId: string, after: number): number {
    return countAfter(this.recentByBot.get(botId) ?? [], after);
  }

  /** How many orders of this order's exchange account (its exchange when it has none) were approved after `after`. */
  approvalsOfAccountAfter(order: BookOrder, after: number): number {
    return countAfter(this.recentByAccount.get(accountKey(order)) ?? [], after);
  }

  /**
   * The approvals of the same order (same bot, market, side, quantity, price) later than `after`, within
   * the last `recentWindowMs`, oldest first; none for a manual order. Found by a binary search: a bot that
   * sends the same order many times a second keeps many of them, and most are older than a check asks.
   */
  sameOrderApprovals(order: BookOrder, after = -Infinity): readonly RecentApproval[] {
    const list = order.botId === undefined ? undefined : this.recentBySameOrder.get(sameOrderKey(order));
    return list ? list.slice(firstAfter(list, after)) : [];
  }

  /** The latest price the book saw for an instrument (a limit price, a fill, a reference at approval). */
  lastPrice(exchangeId: string, symbol: string): Decimal | undefined {
    return this.lastPrices.get(instrumentKey(exchangeId, symbol));
  }

  /** Orders counted now (approved or live, or ended with fills still to come). */
  countedOrders(): number {
    let n = 0;
    for (const e of this.orders.values()) if (!e.counted.isZero()) n++;
    return n;
  }

  private remember(approval: RecentApproval): void {
    const { order } = approval;
    const add = (index: Map<string, RecentApproval[]>, key: string) => {
      let list = index.get(key);
      if (!list) index.set(key, (list = []));
      insertByTime(list, approval);
      this.forgetBefore(list, approval.at - this.options.recentWindowMs);
    };
    add(this.recentByAccount, accountKey(order));
    if (order.botId !== undefined) {
      add(this.recentByBot, order.botId);
      add(this.recentBySameOrder, sameOrderKey(order));
    }
  }

  private forgetBefore(list: RecentApproval[], before: number): void {
    let n = 0;
    while (n < list.length && list[n]!.at < before) n++;
    if (n > 0) list.splice(0, n);
  }

  private entry(
    order: { clientOrderId: string; botId?: string | null | undefined; exchangeId: string; symbol: string; side: OrderSide; quantity: Decimal },
    at: number,
    status: OrderStatus,
  ): Entry {
    const entry: Entry = {
      clientOrderId: order.clientOrderId,
      holder: order.botId ?? MANUAL,
      exchangeId: order.exchangeId,
      symbol: order.symbol,
      side: order.side,
      quantity: order.quantity,
      status,
      filledReported: Decimal.ZERO,
      filledSeen: Decimal.ZERO,
      tradeIds: new Set(),
      approvedAt: at,
      updatedAt: at,
      counted: Decimal.ZERO,
    };
    this.orders.set(entry.clientOrderId, entry);
    return entry;
  }

  private update(entry: Entry, report: OrderReport, at: number): void {
    entry.status = isFinal(report.state) ? 'final' : 'live';
    if (report.filled.gt(entry.filledReported)) entry.filledReported = report.filled;
    entry.updatedAt = at;
    this.recount(entry);
  }

  private release(entry: Entry): void {
    entry.status = 'final';
    entry.filledReported = entry.filledSeen;
    this.recount(entry);
    this.orders.delete(entry.clientOrderId);
  }

  private recount(entry: Entry): void {
    const counted = entry.status === 'final' ? nonNegative(entry.filledReported.minus(entry.filledSeen)) : nonNegative(entry.quantity.minus(entry.filledSeen));
    const delta = counted.minus(entry.counted);
    entry.counted = counted;
    if (!delta.isZero()) this.adjust(entry.holder, entry.exchangeId, entry.symbol, entry.side === 'buy' ? { openBuy: delta } : { openSell: delta });
  }

  private adjust(holder: string, exchangeId: string, symbol: string, delta: Partial<MutableHolding>): void {
    const key = instrumentKey(exchangeId, symbol);
    let holdings = this.byHolder.get(holder);
    if (!holdings) {
      holdings = new Map<string, MutableHolding & { exchangeId: string; symbol: string }>();
      this.byHolder.set(holder, holdings);
    }
    for (const map of [holdings, this.byInstrument]) {
      const h = map.get(key) ?? { exchangeId, symbol, position: Decimal.ZERO, openBuy: Decimal.ZERO, openSell: Decimal.ZERO };
      if (delta.position) h.position = h.position.plus(delta.position);
      if (delta.openBuy) h.openBuy = h.openBuy.plus(delta.openBuy);
      if (delta.openSell) h.openSell = h.openSell.plus(delta.openSell);
      if (h.position.isZero() && h.openBuy.isZero() && h.openSell.isZero()) map.delete(key);
      else map.set(key, h);
    }
    if (holdings.size === 0) this.byHolder.delete(holder);
  }
}
