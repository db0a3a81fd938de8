import { type Decimal } from '@garde/domain';

export type OrderSide = 'BUY' | 'SELL';
export type OrderType = 'LIMIT' | 'MARKET';
/** Binance spot order statuses the simulator produces. */
export type OrderStatus = 'NEW' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELED';

/** One tradable pair, with Binance's filters. All amounts are exact decimals. */
export interface SymbolSpec {
  /** Binance id, e.g. `BTCUSDT`. */
  readonly id: string;
  readonly base: string;
  readonly quote: string;
  readonly tickSize: Decimal;
  readonly stepSize: Decimal;
  readonly minQty: Decimal;
  readonly maxQty: Decimal;
  readonly minPrice: Decimal;
  readonly maxPrice: Decimal;
  readonly minNotional: Decimal;
  readonly initialPrice: Decimal;
  /** When set, a resting order fills at most this quantity per price update (partial fills). */
  readonly maxFillQtyPerTick?: Decimal;
}

/** What one venue account holds of one asset. */
export interface AssetBalance {
  free: Decimal;
  locked: Decimal;
}

export interface VenueOrder {
  readonly orderId: number;
  readonly clientOrderId: string;
  readonly apiKey: string;
  readonly symbol: string;
  readonly side: OrderSide;
  readonly type: OrderType;
  /** Limit price; zero for market orders, as Binance reports it. */
  readonly price: Decimal;
  readonly origQty: Decimal;
  readonly origQuoteOrderQty: Decimal;
  executedQty: Decimal;
  cummulativeQuoteQty: Decimal;
  status: OrderStatus;
  readonly time: number;
  updateTime: number;
  /** What this order still holds locked (quote for a limit buy, base for a limit sell). */
  reserved: Decimal;
  /** Set by the fault `neverFill` when the order was accepted: it rests while the fault lasts. */
  readonly neverFill: boolean;
  /** Set by the fault `neverReport` when the order was accepted: queries lie about it while the fault lasts. */
  readonly unreported: boolean;
  readonly tradeIds: number[];
}

export interface Trade {
  readonly id: number;
  readonly orderId: number;
  readonly apiKey: string;
  readonly symbol: string;
  readonly side: OrderSide;
  readonly price: Decimal;
  readonly qty: Decimal;
  readonly quoteQty: Decimal;
  readonly commission: Decimal;
  readonly commissionAsset: string;
  readonly time: number;
  readonly isMaker: boolean;
}

/** A refusal with Binance's error code, message and HTTP status. */
export class VenueError extends Error {
  constructor(
    readonly code: number,
    readonly msg: string,
    readonly httpStatus = 400,
  ) {
    super(msg);
    this.name = 'VenueError';
  }
}

/** Binance's own wording, which ccxt matches on. */
export const VenueErrors = {
  insufficientBalance: () => new VenueError(-2010, 'Account has insufficient balance for requested action.'),
  duplicateOrder: () => new VenueError(-2010, 'Duplicate order sent.'),
  unknownOrderOnCancel: () => new VenueError(-2011, 'Unknown order sent.'),
  orderDoesNotExist: () => new VenueError(-2013, 'Order does not exist.'),
  invalidSymbol: () => new VenueError(-1121, 'Invalid symbol.'),
  filterFailure: (filter: string) => new VenueError(-1013, `Filter failure: ${filter}`),
  mandatory: (param: string) => new VenueError(-1102, `Mandatory parameter '${param}' was not sent, was empty/null, or malformed.`),
  illegalChars: (param: string) =>
    new VenueError(-1100, `Illegal characters found in parameter '${param}'; legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.`),
  invalidOrderType: () => new VenueError(-1116, 'Invalid orderType.'),
  invalidSide: () => new VenueError(-1117, 'Invalid side.'),
  invalidTimeInForce: () => new VenueError(-1115, 'Invalid timeInForce.'),
  notRequired: (param: string) => new VenueError(-1106, `Parameter '${param}' sent when not required.`),
  unsupportedCombination: () => new VenueError(-1128, 'Combination of optional parameters invalid.'),
} as const;
