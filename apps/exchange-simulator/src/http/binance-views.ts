import { Decimal } from '@garde/domain';
import { ASSET_DIGITS, type MatchingEngine } from '../engine/matching-engine.js';
import { type AssetBalance, type SymbolSpec, type Trade, type VenueOrder } from '../engine/types.js';
import { type RateLimits } from '../faults/rate-limiter.js';

/** Binance prints amounts with 8 decimals ("0.00100000"); ccxt reads them as strings. */
export const amount = (value: Decimal): string => value.toFixed(ASSET_DIGITS);

export function exchangeInfoView(specs: readonly SymbolSpec[], limits: RateLimits, now: number) {
  return {
    timezone: 'UTC',
    serverTime: now,
    rateLimits: [
      { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: limits.requestWeightPerMinute },
      { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: limits.ordersPer10Seconds },
      { rateLimitType: 'ORDERS', interval: 'DAY', intervalNum: 1, limit: limits.ordersPerDay },
    ],
    exchangeFilters: [],
    symbols: specs.map((s) => ({
      symbol: s.id,
      status: 'TRADING',
      baseAsset: s.base,
      baseAssetPrecision: ASSET_DIGITS,
      quoteAsset: s.quote,
      quotePrecision: ASSET_DIGITS,
      quoteAssetPrecision: ASSET_DIGITS,
      baseCommissionPrecision: ASSET_DIGITS,
      quoteCommissionPrecision: ASSET_DIGITS,
      orderTypes: ['LIMIT', 'MARKET'],
      icebergAllowed: false,
      ocoAllowed: false,
      quoteOrderQtyMarketAllowed: true,
      allowTrailingStop: false,
      cancelReplaceAllowed: false,
      isSpotTradingAllowed: true,
      isMarginTradingAllowed: false,
      filters: [
        { filterType: 'PRICE_FILTER', minPrice: amount(s.minPrice), maxPrice: amount(s.maxPrice), tickSize: amount(s.tickSize) },
        { filterType: 'LOT_SIZE', minQty: amount(s.minQty), maxQty: amount(s.maxQty), stepSize: amount(s.stepSize) },
        { filterType: 'MARKET_LOT_SIZE', minQty: amount(s.minQty), maxQty: amount(s.maxQty), stepSize: amount(s.stepSize) },
        {
          filterType: 'NOTIONAL',
          minNotional: amount(s.minNotional),
          applyMinToMarket: true,
          maxNotional: '9000000.00000000',
          applyMaxToMarket: false,
          avgPriceMins: 5,
        },
        { filterType: 'MAX_NUM_ORDERS', maxNumOrders: 200 },
      ],
      permissions: [],
      permissionSets: [['SPOT']],
      defaultSelfTradePreventionMode: 'EXPIRE_MAKER',
      allowedSelfTradePreventionModes: ['NONE', 'EXPIRE_TAKER', 'EXPIRE_MAKER', 'EXPIRE_BOTH'],
    })),
  };
}

/** The 24 h ticker; the "day" is the venue's life so far (open = price at start). */
export function ticker24hView(engine: MatchingEngine, symbol: string, now: number) {
  const s = engine.symbolStats(symbol);
  const last = engine.price(symbol);
  const change = last.minus(s.open);
  return {
    symbol,
    priceChange: amount(change),
    priceChangePercent: change.times('100').dividedBy(s.open, 3, 'half-up').toString(),
    weightedAvgPrice: amount(s.volume.isZero() ? last : s.quoteVolume.dividedBy(s.volume, ASSET_DIGITS, 'half-up')),
    prevClosePrice: amount(s.open),
    lastPrice: amount(last),
    lastQty: amount(s.lastQty),
    // One price, no spread: the venue itself is the counterparty at the current price.
    bidPrice: amount(last),
    bidQty: '1000.00000000',
    askPrice: amount(last),
    askQty: '1000.00000000',
    openPrice: amount(s.open),
    highPrice: amount(s.high),
    lowPrice: amount(s.low),
    volume: amount(s.volume),
    quoteVolume: amount(s.quoteVolume),
    openTime: s.openTime,
    closeTime: now,
    firstId: s.firstTradeId,
    lastId: s.lastTradeId,
    count: s.count,
  };
}

export const priceView = (engine: MatchingEngine, symbol: string) => ({ symbol, price: amount(engine.price(symbol)) });

export const bookTickerView = (engine: MatchingEngine, symbol: string) => {
  const p = amount(engine.price(symbol));
  return { symbol, bidPrice: p, bidQty: '1000.00000000', askPrice: p, askQty: '1000.00000000' };
};

/** How a query shows an order: truthfully, or (neverReport `stale`) as it was when accepted. */
export function orderView(order: VenueOrder, stale = false) {
  return {
    symbol: order.symbol,
    orderId: order.orderId,
    orderListId: -1,
    clientOrderId: order.clientOrderId,
    price: amount(order.price),
    origQty: amount(order.origQty),
    executedQty: amount(stale ? Decimal.ZERO : order.executedQty),
    cummulativeQuoteQty: amount(stale ? Decimal.ZERO : order.cummulativeQuoteQty),
    status: stale ? 'NEW' : order.status,
    timeInForce: 'GTC',
    type: order.type,
    side: order.side,
    stopPrice: '0.00000000',
    icebergQty: '0.00000000',
    time: order.time,
    updateTime: stale ? order.time : order.updateTime,
    isWorking: true,
    workingTime: order.time,
    origQuoteOrderQty: amount(order.origQuoteOrderQty),
    selfTradePreventionMode: 'EXPIRE_MAKER',
  };
}

/** The answer to POST /api/v3/order, shaped by `newOrderRespType` (ACK, RESULT or FULL). */
export function newOrderView(order: VenueOrder, fills: readonly Trade[], respType: string, stale: boolean) {
  const ack = { symbol: order.symbol, orderId: order.orderId, orderListId: -1, clientOrderId: order.clientOrderId, transactTime: order.time };
  if (respType === 'ACK') return ack;
  const full = orderView(order, stale);
  const result = {
    ...ack,
    price: full.price,
    origQty: full.origQty,
    executedQty: full.executedQty,
    origQuoteOrderQty: full.origQuoteOrderQty,
    cummulativeQuoteQty: full.cummulativeQuoteQty,
    status: full.status,
    timeInForce: full.timeInForce,
    type: full.type,
    side: full.side,
    workingTime: full.workingTime,
    selfTradePreventionMode: full.selfTradePreventionMode,
  };
  if (respType === 'RESULT') return result;
  return {
    ...result,
    fills: (stale ? [] : fills).map((t) => ({
      price: amount(t.price),
      qty: amount(t.qty),
      commission: amount(t.commission),
      commissionAsset: t.commissionAsset,
      tradeId: t.id,
    })),
  };
}

export function cancelView(order: VenueOrder, cancelClientOrderId: string) {
  const view = orderView(order);
  return {
    symbol: view.symbol,
    origClientOrderId: order.clientOrderId,
    orderId: order.orderId,
    orderListId: -1,
    clientOrderId: cancelClientOrderId,
    transactTime: order.updateTime,
    price: view.price,
    origQty: view.origQty,
    executedQty: view.executedQty,
    origQuoteOrderQty: view.origQuoteOrderQty,
    cummulativeQuoteQty: view.cummulativeQuoteQty,
    status: view.status,
    timeInForce: view.timeInForce,
    type: view.type,
    side: view.side,
    selfTradePreventionMode: view.selfTradePreventionMode,
  };
}

export function tradeView(t: Trade) {
  return {
    symbol: t.symbol,
    id: t.id,
    orderId: t.orderId,
    orderListId: -1,
    price: amount(t.price),
    qty: amount(t.qty),
    quoteQty: amount(t.quoteQty),
    commission: amount(t.commission),
    commissionAsset: t.commissionAsset,
    time: t.time,
    isBuyer: t.side === 'BUY',
    isMaker: t.isMaker,
    isBestMatch: true,
  };
}

export function accountView(balances: Map<string, AssetBalance>, makerFee: Decimal, takerFee: Decimal, now: number, omitZero: boolean) {
  return {
    // Binance's legacy commission fields are in basis points as integers.
    makerCommission: Number(makerFee.times('10000').round(0, 'half-up').toString()),
    takerCommission: Number(takerFee.times('10000').round(0, 'half-up').toString()),
    buyerCommission: 0,
    sellerCommission: 0,
    commissionRates: { maker: amount(makerFee), taker: amount(takerFee), buyer: '0.00000000', seller: '0.00000000' },
    canTrade: true,
    canWithdraw: false,
    canDeposit: false,
    brokered: false,
    requireSelfTradePrevention: false,
    preventSor: false,
    updateTime: now,
    accountType: 'SPOT',
    balances: [...balances.entries()]
      .filter(([, b]) => !omitZero || !b.free.plus(b.locked).isZero())
      .map(([asset, b]) => ({ asset, free: amount(b.free), locked: amount(b.locked) })),
    permissions: ['SPOT'],
    uid: 0,
  };
}
