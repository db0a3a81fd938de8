import { randomBytes } from 'node:crypto';
import { Decimal } from '@garde/domain';
import { isOpen, type OrderRef, type PlaceOrderRequest } from '../engine/matching-engine.js';
import { type OrderSide, type OrderType, VenueError, VenueErrors } from '../engine/types.js';
import { type Venue } from '../venue.js';
import { accountView, bookTickerView, cancelView, exchangeInfoView, newOrderView, orderView, priceView, ticker24hView, tradeView } from './binance-views.js';

export interface RouteContext {
  readonly venue: Venue;
  readonly params: URLSearchParams;
  /** The verified API key on SIGNED routes, '' on public ones. */
  readonly apiKey: string;
}

/** Returned by a route that must not answer (the timeout faults). */
export class NoAnswer {
  constructor(readonly hangMs: number | undefined) {}
}

export interface Route {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly path: string;
  readonly signed: boolean;
  /** Counts against the ORDERS limits of the account. */
  readonly countsAsOrder?: boolean;
  /** Binance's request weight for these parameters. */
  readonly weight: (params: URLSearchParams) => number;
  readonly handle: (context: RouteContext) => unknown;
}

const DECIMAL_PARAM = /^[0-9]{1,20}(\.[0-9]{1,20})?$/;
const CLIENT_ORDER_ID = /^[a-zA-Z0-9-_.:]{1,36}$/;

const fixed = (weight: number) => () => weight;
const bySymbols = (one: number, many: number) => (p: URLSearchParams) => (p.has('symbol') ? one : many);

export const ROUTES: readonly Route[] = [
  { method: 'GET', path: '/api/v3/ping', signed: false, weight: fixed(1), handle: () => ({}) },
  { method: 'GET', path: '/api/v3/time', signed: false, weight: fixed(1), handle: ({ venue }) => ({ serverTime: venue.clock() }) },
  {
    method: 'GET',
    path: '/api/v3/exchangeInfo',
    signed: false,
    weight: fixed(20),
    handle: ({ venue, params }) => {
      const wanted = symbolList(venue, params);
      const specs = venue.engine.symbols().filter((s) => !wanted || wanted.includes(s.id));
      return exchangeInfoView(specs, venue.limiter.limits, venue.clock());
    },
  },
  {
    method: 'GET',
    path: '/api/v3/ticker/24hr',
    signed: false,
    weight: (p) => (p.has('symbol') ? 2 : p.has('symbols') ? 40 : 80),
    handle: ({ venue, params }) => perSymbol(venue, params, (s) => ticker24hView(venue.engine, s, venue.clock())),
  },
  {
    method: 'GET',
    path: '/api/v3/ticker/price',
    signed: false,
    weight: bySymbols(2, 4),
    handle: ({ venue, params }) => perSymbol(venue, params, (s) => priceView(venue.engine, s)),
  },
  {
    method: 'GET',
    path: '/api/v3/ticker/bookTicker',
    signed: false,
    weight: bySymbols(2, 4),
    handle: ({ venue, params }) => perSymbol(venue, params, (s) => bookTickerView(venue.engine, s)),
  },
  {
    method: 'GET',
    path: '/api/v3/account',
    signed: true,
    weight: fixed(20),
    handle: ({ venue, params, apiKey }) =>
      accountView(venue.engine.ledger.balances(apiKey), venue.makerFee, venue.takerFee, venue.clock(), params.get('omitZeroBalances') === 'true'),
  },
  {
    method: 'GET',
    path: '/api/v3/openOrders',
    signed: true,
    weight: bySymbols(6, 80),
    handle: ({ venue, params, apiKey }) => {
      const symbol = params.has('symbol') ? requiredSymbol(venue, params) : undefined;
      const open = venue.engine.openOrders(apiKey, symbol);
      // neverReport `stale`: orders that have since filled or been cancelled still show as open.
      const staleClosed = venue.engine.allOrders(apiKey, symbol).filter((o) => !isOpen(o) && venue.reportMode(o) === 'stale');
      return [...open, ...staleClosed]
        .filter((o) => venue.reportMode(o) !== 'missing')
        .sort((a, b) => a.orderId - b.orderId)
        .map((o) => orderView(o, venue.reportMode(o) === 'stale'));
    },
  },
  {
    method: 'DELETE',
    path: '/api/v3/openOrders',
    signed: true,
    weight: fixed(1),
    handle: ({ venue, params, apiKey }) => {
      const symbol = requiredSymbol(venue, params);
      const open = venue.engine.openOrders(apiKey, symbol);
      if (open.length === 0) throw VenueErrors.unknownOrderOnCancel();
      return open.map((o) => cancelView(venue.engine.cancelOrder(apiKey, symbol, { orderId: o.orderId }), newClientId()));
    },
  },
  {
    method: 'GET',
    path: '/api/v3/allOrders',
    signed: true,
    weight: fixed(20),
    handle: ({ venue, params, apiKey }) => {
      const symbol = requiredSymbol(venue, params);
      const fromId = intParam(params, 'orderId') ?? 0;
      const limit = Math.min(intParam(params, 'limit') ?? 500, 1000);
      return venue.engine
        .allOrders(apiKey, symbol)
        .filter((o) => o.orderId >= fromId && inTimeRange(params, o.time) && venue.reportMode(o) !== 'missing')
        .slice(-limit)
        .map((o) => orderView(o, venue.reportMode(o) === 'stale'));
    },
  },
  {
    method: 'GET',
    path: '/api/v3/order',
    signed: true,
    weight: fixed(4),
    handle: ({ venue, params, apiKey }) => {
      const symbol = requiredSymbol(venue, params);
      const order = venue.engine.findOrder(apiKey, symbol, orderRef(params));
      if (!order || venue.reportMode(order) === 'missing') throw VenueErrors.orderDoesNotExist();
      return orderView(order, venue.reportMode(order) === 'stale');
    },
  },
  { method: 'POST', path: '/api/v3/order', signed: true, countsAsOrder: true, weight: fixed(1), handle: placeOrder },
  {
    method: 'DELETE',
    path: '/api/v3/order',
    signed: true,
    weight: fixed(1),
    handle: ({ venue, params, apiKey }) => {
      const symbol = requiredSymbol(venue, params);
      const order = venue.engine.cancelOrder(apiKey, symbol, orderRef(params));
      return cancelView(order, clientIdParam(params, 'newClientOrderId') ?? newClientId());
    },
  },
  {
    method: 'GET',
    path: '/api/v3/myTrades',
    signed: true,
    weight: fixed(20),
    handle: ({ venue, params, apiKey }) => {
      const symbol = requiredSymbol(venue, params);
      if (venue.faults.dropFills) return [];
      const orderId = intParam(params, 'orderId');
      const fromId = intParam(params, 'fromId') ?? 0;
      const limit = Math.min(intParam(params, 'limit') ?? 500, 1000);
      return venue.engine
        .allTrades(apiKey, symbol)
        .filter((t) => (orderId === undefined || t.orderId === orderId) && t.id >= fromId && inTimeRange(params, t.time))
        .filter((t) => {
          const order = venue.engine.findOrder(apiKey, symbol, { orderId: t.orderId });
          return order !== undefined && venue.reportMode(order) === 'truth';
        })
        .slice(0, limit)
        .map(tradeView);
    },
  },
];

function placeOrder({ venue, params, apiKey }: RouteContext): unknown {
  const faults = venue.faults;
  if (faults.timeoutBeforeCreate) return new NoAnswer(faults.timeoutBeforeCreate.hangMs);
  const request = parseNewOrder(venue, params);
  const respType = params.get('newOrderRespType') ?? 'FULL';
  if (!['ACK', 'RESULT', 'FULL'].includes(respType)) throw new VenueError(-1100, "Illegal characters found in parameter 'newOrderRespType'.");
  const { order, trades } = venue.engine.placeOrder(apiKey, request, { neverFill: faults.neverFill === true, unreported: faults.neverReport !== undefined });
  if (faults.timeoutAfterCreate) return new NoAnswer(faults.timeoutAfterCreate.hangMs);
  const stale = venue.reportMode(order) !== 'truth';
  return newOrderView(order, faults.dropFills ? [] : trades, respType, stale);
}

function parseNewOrder(venue: Venue, params: URLSearchParams): PlaceOrderRequest {
  const symbol = requiredSymbol(venue, params);
  const side = params.get('side');
  if (!side) throw VenueErrors.mandatory('side');
  if (side !== 'BUY' && side !== 'SELL') throw VenueErrors.invalidSide();
  const type = params.get('type');
  if (!type) throw VenueErrors.mandatory('type');
  if (type !== 'LIMIT' && type !== 'MARKET') throw VenueErrors.invalidOrderType();
  const timeInForce = params.get('timeInForce');
  if (type === 'LIMIT') {
    if (!timeInForce) throw VenueErrors.mandatory('timeInForce');
    // Only good-till-cancelled rests here; IOC/FOK are real Binance values this venue does not offer.
    if (timeInForce !== 'GTC') throw VenueErrors.invalidTimeInForce();
  } else if (timeInForce) throw VenueErrors.notRequired('timeInForce');
  const quantity = decimalParam(params, 'quantity');
  const quoteOrderQty = decimalParam(params, 'quoteOrderQty');
  const price = decimalParam(params, 'price');
  return {
    symbol,
    side: side satisfies OrderSide,
    type: type satisfies OrderType,
    ...(quantity ? { quantity } : {}),
    ...(quoteOrderQty ? { quoteOrderQty } : {}),
    ...(price ? { price } : {}),
    clientOrderId: clientIdParam(params, 'newClientOrderId') ?? newClientId(),
  };
}

function requiredSymbol(venue: Venue, params: URLSearchParams): string {
  const symbol = params.get('symbol');
  if (!symbol) throw VenueErrors.mandatory('symbol');
  return venue.engine.spec(symbol).id;
}

/** `symbols=["BTCUSDT","ETHUSDT"]` (JSON, as Binance takes it) or `symbol=BTCUSDT`; undefined = all. */
function symbolList(venue: Venue, params: URLSearchParams): string[] | undefined {
  const one = params.get('symbol');
  if (one) return [venue.engine.spec(one).id];
  const many = params.get('symbols');
  if (!many) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(many);
  } catch {
    throw new VenueError(-1100, "Illegal characters found in parameter 'symbols'.");
  }
  if (!Array.isArray(parsed) || !parsed.every((s): s is string => typeof s === 'string')) {
    throw new VenueError(-1100, "Illegal characters found in parameter 'symbols'.");
  }
  return parsed.map((s) => venue.engine.spec(s).id);
}

/** One object for `symbol=`, an array otherwise, as Binance answers. */
function perSymbol(venue: Venue, params: URLSearchParams, view: (symbol: string) => unknown): unknown {
  if (params.has('symbol')) return view(requiredSymbol(venue, params));
  const symbols = symbolList(venue, params) ?? venue.engine.symbols().map((s) => s.id);
  return symbols.map(view);
}

function orderRef(params: URLSearchParams): OrderRef {
  const orderId = intParam(params, 'orderId');
  const clientOrderId = params.get('origClientOrderId') ?? undefined;
  if (orderId === undefined && !clientOrderId) {
    throw new VenueError(-1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!");
  }
  return orderId !== undefined ? { orderId } : { clientOrderId: clientOrderId! };
}

function decimalParam(params: URLSearchParams, name: string): Decimal | undefined {
  const raw = params.get(name);
  if (raw === null || raw === '') return undefined;
  if (!DECIMAL_PARAM.test(raw)) throw VenueErrors.illegalChars(name);
  return Decimal.of(raw);
}

function intParam(params: URLSearchParams, name: string): number | undefined {
  const raw = params.get(name);
  if (raw === null || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) throw new VenueError(-1100, `Illegal characters found in parameter '${name}'.`);
  return value;
}

function clientIdParam(params: URLSearchParams, name: string): string | undefined {
  const raw = params.get(name);
  if (raw === null || raw === '') return undefined;
  if (!CLIENT_ORDER_ID.test(raw)) throw new VenueError(-1100, `Illegal characters found in parameter '${name}'; legal range is '^[a-zA-Z0-9-_.:]{1,36}$'.`);
  return raw;
}

function inTimeRange(params: URLSearchParams, time: number): boolean {
  const start = intParam(params, 'startTime');
  const end = intParam(params, 'endTime');
  return (start === undefined || time >= start) && (end === undefined || time <= end);
}

/** Binance makes up a 22-character id when the client sends none. */
function newClientId(): string {
  return randomBytes(16).toString('base64url').slice(0, 22);
}
