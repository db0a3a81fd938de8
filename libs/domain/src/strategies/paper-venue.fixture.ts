/**
 * Test fixture (not exported): a tiny venue that executes a strategy's intents against a price path,
 * with the disorder a real one shows: partial fills, fees in base, rejections, cancels by someone else,
 * and fills reported late. It keeps its own books so a property test can check the strategy against
 * what the venue actually holds rather than against the strategy's own view.
 */
import { Decimal } from '../decimal-math.js';
import { CLIENT_ORDER_ID_PATTERN, type MarketSnapshot, type OrderSide, type StrategyFill, type StrategyIntent } from './strategy.js';

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32), so a failing seed replays. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface VenueOrder {
  readonly clientOrderId: string;
  readonly side: OrderSide;
  readonly type: 'limit' | 'market';
  readonly price: Decimal | undefined;
  readonly quantity: Decimal;
  filled: Decimal;
  open: boolean;
}

export interface VenueChaos {
  /** Chance that an execution takes only part of what is left. */
  readonly partial: number;
  /** Chance that a pending report is held back one more step. */
  readonly delay: number;
  /** Chance that a new order is rejected. */
  readonly reject: number;
  /** Chance per step that an open order is cancelled by someone else (an operator). */
  readonly cancel: number;
  /** Chance that a buy's fee is charged in base (else in quote). */
  readonly baseFee: number;
}

export const CALM: VenueChaos = { partial: 0, delay: 0, reject: 0, cancel: 0, baseFee: 0 };

export class PaperVenue {
  readonly orders = new Map<string, VenueOrder>();
  /** Base the bot really holds here, and the quote it paid for its buys (price × quantity). */
  base = Decimal.ZERO;
  spentOnBuys = Decimal.ZERO;
  private pendingFills: StrategyFill[] = [];
  private pendingEnded: string[] = [];

  constructor(
    private readonly random: () => number,
    private readonly chaos: VenueChaos,
    private readonly baseCurrency = 'BTC',
  ) {}

  /** Sends intents; a reused client order id or a malformed one fails the test. */
  submit(intents: readonly StrategyIntent[], market: MarketSnapshot): void {
    for (const intent of intents) {
      if (intent.kind === 'cancel') {
        const order = this.orders.get(intent.clientOrderId);
        if (order?.open) this.close(order);
        continue;
      }
      if (this.orders.has(intent.clientOrderId)) throw new Error(`client order id reused: ${intent.clientOrderId}`);
      if (!CLIENT_ORDER_ID_PATTERN.test(intent.clientOrderId)) throw new Error(`malformed client order id: ${intent.clientOrderId}`);
      if (!intent.quantity.isPositive()) throw new Error(`non-positive quantity in ${intent.clientOrderId}`);
      const order: VenueOrder = { ...intent, price: intent.price, filled: Decimal.ZERO, open: true };
      this.orders.set(intent.clientOrderId, order);
      if (this.random() < this.chaos.reject) this.close(order);
      else if (intent.type === 'market') this.execute(order, intent.side === 'buy' ? market.ask : market.bid, order.quantity);
    }
  }

  /** Executes the open limit orders the market crosses, and lets someone cancel some. */
  match(market: MarketSnapshot): void {
    for (const order of this.orders.values()) {
      if (!order.open || order.type !== 'limit') continue;
      if (this.random() < this.chaos.cancel) {
        this.close(order);
        continue;
      }
      const crossed = order.side === 'buy' ? market.ask.lte(order.price!) : market.bid.gte(order.price!);
      if (!crossed) continue;
      const left = order.quantity.minus(order.filled);
      const part = this.random() < this.chaos.partial ? left.dividedBy('2', left.scale + 1, 'down') : left;
      // A buy executes at the better of its limit and the ask; a sell at its limit.
      this.execute(order, order.side === 'buy' ? Decimal.min(order.price!, market.ask) : order.price!, part.isPositive() ? part : left);
    }
  }

  /** Reports what is due: an order's fills in order, its end only after all its fills. */
  deliver(all = false): { fills: StrategyFill[]; endedOrders: string[] } {
    const fills: StrategyFill[] = [];
    const held = new Set<string>();
    this.pendingFills = this.pendingFills.filter((fill) => {
      if (held.has(fill.clientOrderId) || (!all && this.random() < this.chaos.delay)) {
        held.add(fill.clientOrderId);
        return true;
      }
      fills.push(fill);
      return false;
    });
    const endedOrders: string[] = [];
    this.pendingEnded = this.pendingEnded.filter((id) => {
      if (held.has(id) || (!all && this.random() < this.chaos.delay)) return true;
      endedOrders.push(id);
      return false;
    });
    return { fills, endedOrders };
  }

  openOrders(): VenueOrder[] {
    return [...this.orders.values()].filter((o) => o.open);
  }

  private execute(order: VenueOrder, price: Decimal, quantity: Decimal): void {
    const fee = quantity.times('0.001').round(12, 'down');
    const inBase = order.side === 'buy' && this.random() < this.chaos.baseFee;
    order.filled = order.filled.plus(quantity);
    if (order.filled.gte(order.quantity)) order.open = false;
    if (order.side === 'buy') {
      this.base = this.base.plus(quantity).minus(inBase ? fee : Decimal.ZERO);
      this.spentOnBuys = this.spentOnBuys.plus(price.times(quantity));
    } else {
      this.base = this.base.minus(quantity);
      if (this.base.isNegative()) throw new Error(`sold more base than held: ${this.base.toString()} after ${order.clientOrderId}`);
    }
    this.pendingFills.push({
      clientOrderId: order.clientOrderId,
      side: order.side,
      price,
      quantity,
      fee: inBase ? fee : price.times(fee).round(12, 'down'),
      feeCurrency: inBase ? this.baseCurrency : 'USDT',
    });
  }

  private close(order: VenueOrder): void {
    order.open = false;
    if (order.filled.lt(order.quantity)) this.pendingEnded.push(order.clientOrderId);
  }
}
