import { Decimal } from '@garde/domain';
import { Ledger } from './ledger.js';
import { type OrderSide, type OrderType, type SymbolSpec, type Trade, type VenueOrder, VenueError, VenueErrors } from './types.js';

/** Digits Binance keeps for commissions and balances. */
export const ASSET_DIGITS = 8;

export interface EngineOptions {
  readonly symbols: readonly SymbolSpec[];
  /** Fee rate for fills of resting orders, e.g. `0.001` for 0.1 %. */
  readonly makerFee: Decimal;
  /** Fee rate for fills at once (market orders, marketable limits). */
  readonly takerFee: Decimal;
  readonly clock: () => number;
  /** Whether a resting order may not fill now (the `neverFill` fault); decided at each price update. */
  readonly isHeld?: (order: VenueOrder) => boolean;
}

export interface PlaceOrderRequest {
  readonly symbol: string;
  readonly side: OrderSide;
  readonly type: OrderType;
  readonly quantity?: Decimal;
  /** Market buys/sells by quote amount, as Binance's `quoteOrderQty`. */
  readonly quoteOrderQty?: Decimal;
  readonly price?: Decimal;
  readonly clientOrderId: string;
}

export interface OrderFlags {
  readonly neverFill: boolean;
  readonly unreported: boolean;
}

/** Identifies an order the way Binance does: by venue id, else by client order id. */
export interface OrderRef {
  readonly orderId?: number;
  readonly clientOrderId?: string;
}

export interface SymbolStats {
  open: Decimal;
  high: Decimal;
  low: Decimal;
  last: Decimal;
  lastQty: Decimal;
  volume: Decimal;
  quoteVolume: Decimal;
  count: number;
  firstTradeId: number;
  lastTradeId: number;
  openTime: number;
}

/** A venue's market as saved to disk and read back: JSON, decimals as strings. */
export interface EngineSnapshot {
  readonly prices: Record<string, string>;
  readonly stats: Record<string, Record<keyof SymbolStats, string | number>>;
  readonly balances: Record<string, Record<string, { free: string; locked: string }>>;
  readonly orders: Array<Record<keyof VenueOrder, unknown>>;
  readonly trades: Array<Record<keyof Trade, unknown>>;
  readonly nextOrderId: number;
  readonly nextTradeId: number;
}

const OPEN_STATUSES = new Set(['NEW', 'PARTIALLY_FILLED']);

export function isOpen(order: VenueOrder): boolean {
  return OPEN_STATUSES.has(order.status);
}

/**
 * One venue's market: accounts, orders and a synthetic price per symbol. The venue is the only
 * counterparty: market orders fill at once at the current price (taker), resting limit orders fill at
 * their limit price when the price reaches them (maker). The fee is taken from what the account
 * receives (base on a buy, quote on a sell), rounded up to 8 decimals, as on Binance without BNB.
 */
export class MatchingEngine {
  readonly ledger = new Ledger();
  private readonly specs = new Map<string, SymbolSpec>();
  private readonly prices = new Map<string, Decimal>();
  private readonly stats = new Map<string, SymbolStats>();
  private readonly orders = new Map<number, VenueOrder>();
  private readonly openBySymbol = new Map<string, Map<number, VenueOrder>>();
  private readonly byClientId = new Map<string, VenueOrder>();
  private readonly trades: Trade[] = [];
  private nextOrderId = 1;
  private nextTradeId = 1;

  constructor(private readonly options: EngineOptions) {
    for (const spec of options.symbols) {
      this.specs.set(spec.id, spec);
      this.prices.set(spec.id, spec.initialPrice);
      this.openBySymbol.set(spec.id, new Map());
      const p = spec.initialPrice;
      this.stats.set(spec.id, {
        open: p,
        high: p,
        low: p,
        last: p,
        lastQty: Decimal.ZERO,
        volume: Decimal.ZERO,
        quoteVolume: Decimal.ZERO,
        count: 0,
        firstTradeId: -1,
        lastTradeId: -1,
        openTime: options.clock(),
      });
    }
  }

  /** Everything the venue holds (accounts, prices, orders, trades, ids), to be read back by `restore`. */
  snapshot(): EngineSnapshot {
    return {
      prices: Object.fromEntries([...this.prices].map(([symbol, price]) => [symbol, price.toString()])),
      stats: Object.fromEntries([...this.stats].map(([symbol, stats]) => [symbol, mapValues(stats, (v) => (typeof v === 'number' ? v : v.toString()))])),
      balances: this.ledger.snapshot(),
      orders: [...this.orders.values()].map((o) => mapValues(o, (v) => (v instanceof Decimal ? v.toString() : v))),
      trades: this.trades.map((t) => mapValues(t, (v) => (v instanceof Decimal ? v.toString() : v))),
      nextOrderId: this.nextOrderId,
      nextTradeId: this.nextTradeId,
    };
  }

  /**
   * Takes back what `snapshot` saved, over the state the engine was built with: its accounts, orders
   * (open ones on the book again), trades, prices and ids. A symbol it does not know any more is refused.
   */
  restore(saved: EngineSnapshot): void {
    const decimals = <T extends object>(row: Record<string, unknown>, keys: ReadonlyArray<keyof T>): T =>
      ({ ...row, ...Object.fromEntries(keys.map((k) => [k, Decimal.of(String(row[k as string]))])) }) as T;
    for (const symbol of [...Object.keys(saved.prices), ...saved.orders.map((o) => String(o.symbol))]) this.spec(symbol);
    for (const [symbol, price] of Object.entries(saved.prices)) this.prices.set(symbol, Decimal.of(price));
    for (const [symbol, stats] of Object.entries(saved.stats)) {
      this.stats.set(symbol, decimals<SymbolStats>(stats, ['open', 'high', 'low', 'last', 'lastQty', 'volume', 'quoteVolume']));
    }
    for (const [apiKey, balances] of Object.entries(saved.balances)) this.ledger.restore(apiKey, balances);
    for (const open of this.openBySymbol.values()) open.clear();
    this.orders.clear();
    this.byClientId.clear();
    for (const row of saved.orders) {
      const order = decimals<VenueOrder>(row, ['price', 'origQty', 'origQuoteOrderQty', 'executedQty', 'cummulativeQuoteQty', 'reserved']);
      this.orders.set(order.orderId, order);
      this.byClientId.set(clientKey(order.apiKey, order.clientOrderId), order);
      if (isOpen(order)) this.openBySymbol.get(order.symbol)!.set(order.orderId, order);
    }
    this.trades.splice(0, this.trades.length, ...saved.trades.map((row) => decimals<Trade>(row, ['price', 'qty', 'quoteQty', 'commission'])));
    this.nextOrderId = saved.nextOrderId;
    this.nextTradeId = saved.nextTradeId;
  }

  symbols(): SymbolSpec[] {
    return [...this.specs.values()];
  }

  spec(symbol: string): SymbolSpec {
    const spec = this.specs.get(symbol);
    if (!spec) throw VenueErrors.invalidSymbol();
    return spec;
  }

  price(symbol: string): Decimal {
    this.spec(symbol);
    return this.prices.get(symbol)!;
  }

  symbolStats(symbol: string): Readonly<SymbolStats> {
    this.spec(symbol);
    return this.stats.get(symbol)!;
  }

  /** Sets the price (on the tick grid) and fills the resting orders it reaches. */
  setPrice(symbol: string, price: Decimal): Trade[] {
    const spec = this.spec(symbol);
    if (!price.isPositive() || !price.isMultipleOf(spec.tickSize)) {
      throw new VenueError(-1013, `price ${price.toString()} is not a positive multiple of ${spec.tickSize.toString()}`);
    }
    this.prices.set(symbol, price);
    const s = this.stats.get(symbol)!;
    s.last = price;
    s.high = Decimal.max(s.high, price);
    s.low = Decimal.min(s.low, price);
    return this.match(symbol);
  }

  /** Fills, at their limit price, the resting orders the current price reaches (fault holds aside). */
  match(symbol: string): Trade[] {
    const price = this.price(symbol);
    const spec = this.spec(symbol);
    const fills: Trade[] = [];
    for (const order of [...this.openBySymbol.get(symbol)!.values()]) {
      if (order.type !== 'LIMIT' || this.options.isHeld?.(order)) continue;
      const reached = order.side === 'BUY' ? price.lte(order.price) : price.gte(order.price);
      if (!reached) continue;
      let qty = order.origQty.minus(order.executedQty);
      if (spec.maxFillQtyPerTick) qty = Decimal.min(qty, spec.maxFillQtyPerTick);
      fills.push(this.fill(order, qty, order.price, true));
    }
    return fills;
  }

  placeOrder(apiKey: string, request: PlaceOrderRequest, flags: OrderFlags): { order: VenueOrder; trades: Trade[] } {
    const spec = this.spec(request.symbol);
    const price = this.price(request.symbol);
    const qty = this.validate(spec, request, price);
    const existing = this.byClientId.get(clientKey(apiKey, request.clientOrderId));
    if (existing && isOpen(existing)) throw VenueErrors.duplicateOrder();

    const now = this.options.clock();
    const isLimit = request.type === 'LIMIT';
    const limit = request.price ?? Decimal.ZERO;
    const marketable = !isLimit || (request.side === 'BUY' ? price.lte(limit) : price.gte(limit));
    // Market orders cannot rest, so the neverFill fault holds limit orders only.
    const neverFill = flags.neverFill && isLimit;
    let reserved = Decimal.ZERO;
    if (isLimit) {
      reserved = request.side === 'BUY' ? qty.times(limit) : qty;
      this.ledger.lock(apiKey, request.side === 'BUY' ? spec.quote : spec.base, reserved);
    } else {
      // Checked before the order exists: Binance rejects it outright, no order is created.
      const need = request.side === 'BUY' ? qty.times(price) : qty;
      const have = this.ledger.balance(apiKey, request.side === 'BUY' ? spec.quote : spec.base).free;
      if (have.lt(need)) throw VenueErrors.insufficientBalance();
    }

    const order: VenueOrder = {
      orderId: this.nextOrderId++,
      clientOrderId: request.clientOrderId,
      apiKey,
      symbol: spec.id,
      side: request.side,
      type: request.type,
      price: limit,
      origQty: qty,
      origQuoteOrderQty: request.quoteOrderQty ?? Decimal.ZERO,
      executedQty: Decimal.ZERO,
      cummulativeQuoteQty: Decimal.ZERO,
      status: 'NEW',
      time: now,
      updateTime: now,
      reserved,
      neverFill,
      unreported: flags.unreported,
      tradeIds: [],
    };
    this.orders.set(order.orderId, order);
    this.byClientId.set(clientKey(apiKey, order.clientOrderId), order);
    this.openBySymbol.get(spec.id)!.set(order.orderId, order);

    const trades: Trade[] = [];
    if (marketable && !(this.options.isHeld?.(order) ?? false)) trades.push(this.fill(order, qty, price, false));
    return { order, trades };
  }

  cancelOrder(apiKey: string, symbol: string, ref: OrderRef): VenueOrder {
    const order = this.findOrder(apiKey, symbol, ref);
    if (!order || !isOpen(order)) throw VenueErrors.unknownOrderOnCancel();
    this.release(order);
    order.status = 'CANCELED';
    order.updateTime = this.options.clock();
    return order;
  }

  findOrder(apiKey: string, symbol: string, ref: OrderRef): VenueOrder | undefined {
    this.spec(symbol);
    const order =
      ref.orderId !== undefined
        ? this.orders.get(ref.orderId)
        : ref.clientOrderId !== undefined
          ? this.byClientId.get(clientKey(apiKey, ref.clientOrderId))
          : undefined;
    return order && order.apiKey === apiKey && order.symbol === symbol ? order : undefined;
  }

  openOrders(apiKey: string, symbol?: string): VenueOrder[] {
    const symbols = symbol === undefined ? [...this.specs.keys()] : [this.spec(symbol).id];
    return symbols.flatMap((s) => [...this.openBySymbol.get(s)!.values()].filter((o) => o.apiKey === apiKey));
  }

  allOrders(apiKey?: string, symbol?: string): VenueOrder[] {
    return [...this.orders.values()].filter((o) => (apiKey === undefined || o.apiKey === apiKey) && (symbol === undefined || o.symbol === symbol));
  }

  allTrades(apiKey?: string, symbol?: string): Trade[] {
    return this.trades.filter((t) => (apiKey === undefined || t.apiKey === apiKey) && (symbol === undefined || t.symbol === symbol));
  }

  /** Quantity of the order: as given, or for a market order by quote amount, what that buys at `price`. */
  private validate(spec: SymbolSpec, request: PlaceOrderRequest, price: Decimal): Decimal {
    let qty: Decimal;
    if (request.type === 'LIMIT') {
      if (request.quoteOrderQty !== undefined) throw VenueErrors.notRequired('quoteOrderQty');
      if (request.price === undefined) throw VenueErrors.mandatory('price');
      if (request.quantity === undefined) throw VenueErrors.mandatory('quantity');
      const p = request.price;
      if (p.lt(spec.minPrice) || p.gt(spec.maxPrice) || !p.isMultipleOf(spec.tickSize)) throw VenueErrors.filterFailure('PRICE_FILTER');
      qty = request.quantity;
    } else {
      if (request.price !== undefined) throw VenueErrors.notRequired('price');
      if ((request.quantity === undefined) === (request.quoteOrderQty === undefined)) throw VenueErrors.unsupportedCombination();
      qty = request.quantity ?? request.quoteOrderQty!.dividedBy(price, spec.stepSize.scale, 'down').roundToStep(spec.stepSize, 'down');
    }
    if (qty.lt(spec.minQty) || qty.gt(spec.maxQty) || !qty.isMultipleOf(spec.stepSize)) throw VenueErrors.filterFailure('LOT_SIZE');
    const notional = qty.times(request.type === 'LIMIT' ? request.price! : price);
    if (notional.lt(spec.minNotional)) throw VenueErrors.filterFailure('NOTIONAL');
    return qty;
  }

  private fill(order: VenueOrder, qty: Decimal, price: Decimal, isMaker: boolean): Trade {
    const spec = this.spec(order.symbol);
    const quoteQty = qty.times(price);
    const rate = isMaker ? this.options.makerFee : this.options.takerFee;
    const key = order.apiKey;
    let commission: Decimal;
    let commissionAsset: string;
    if (order.side === 'BUY') {
      if (order.type === 'LIMIT') {
        const held = qty.times(order.price);
        this.ledger.spendLocked(key, spec.quote, held);
        // Filled below the limit (a marketable limit): the difference goes back to free.
        this.ledger.credit(key, spec.quote, held.minus(quoteQty));
        order.reserved = order.reserved.minus(held);
      } else {
        this.ledger.spendFree(key, spec.quote, quoteQty);
      }
      commission = qty.times(rate).round(ASSET_DIGITS, 'up');
      commissionAsset = spec.base;
      this.ledger.credit(key, spec.base, qty.minus(commission));
    } else {
      if (order.type === 'LIMIT') {
        this.ledger.spendLocked(key, spec.base, qty);
        order.reserved = order.reserved.minus(qty);
      } else {
        this.ledger.spendFree(key, spec.base, qty);
      }
      commission = quoteQty.times(rate).round(ASSET_DIGITS, 'up');
      commissionAsset = spec.quote;
      this.ledger.credit(key, spec.quote, quoteQty.minus(commission));
    }
    const now = this.options.clock();
    const trade: Trade = {
      id: this.nextTradeId++,
      orderId: order.orderId,
      apiKey: key,
      symbol: order.symbol,
      side: order.side,
      price,
      qty,
      quoteQty,
      commission,
      commissionAsset,
      time: now,
      isMaker,
    };
    this.trades.push(trade);
    order.tradeIds.push(trade.id);
    order.executedQty = order.executedQty.plus(qty);
    order.cummulativeQuoteQty = order.cummulativeQuoteQty.plus(quoteQty);
    order.updateTime = now;
    if (order.executedQty.eq(order.origQty)) {
      order.status = 'FILLED';
      this.release(order);
    } else {
      order.status = 'PARTIALLY_FILLED';
    }
    this.record(trade);
    return trade;
  }

  /** Takes the order off the book and frees whatever it still holds. */
  private release(order: VenueOrder): void {
    this.openBySymbol.get(order.symbol)!.delete(order.orderId);
    if (order.reserved.isPositive()) {
      const spec = this.spec(order.symbol);
      this.ledger.unlock(order.apiKey, order.side === 'BUY' ? spec.quote : spec.base, order.reserved);
      order.reserved = Decimal.ZERO;
    }
  }

  private record(trade: Trade): void {
    const s = this.stats.get(trade.symbol)!;
    s.volume = s.volume.plus(trade.qty);
    s.quoteVolume = s.quoteVolume.plus(trade.quoteQty);
    s.lastQty = trade.qty;
    s.count += 1;
    if (s.firstTradeId < 0) s.firstTradeId = trade.id;
    s.lastTradeId = trade.id;
  }
}

function mapValues<T extends object, V>(row: T, f: (value: T[keyof T]) => V): Record<keyof T, V> {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, f(v as T[keyof T])])) as Record<keyof T, V>;
}

function clientKey(apiKey: string, clientOrderId: string): string {
  return `${apiKey}\u0000${clientOrderId}`;
}
