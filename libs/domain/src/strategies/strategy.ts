/**
 * What every trading strategy shares (DESIGN §5): a strategy is a pure function of its parameters, its
 * own state, the market and its fills, and answers intents (place / cancel) and its next state.
 *
 * No I/O and no clock of its own: time is the snapshot's `at`, given by the caller. Money, prices and
 * quantities are `Decimal`s; the state holds them as decimal strings so it round-trips through JSON.
 * Client order ids are derived from the bot id and a sequence kept in the state, so running the same
 * step twice (e.g. after a crash before the state was saved) yields the same ids, and the gateway's
 * idempotency makes the second submission harmless.
 */
import type { Decimal } from '../decimal-math.js';

export type OrderSide = 'buy' | 'sell';

/** The market as the caller saw it when it ran the strategy. */
export interface MarketSnapshot {
  /** Market symbol as ccxt writes it: `BTC/USDT`. */
  readonly symbol: string;
  readonly bid: Decimal;
  readonly ask: Decimal;
  readonly last: Decimal;
  /** When the caller took this snapshot (epoch ms): the strategy's only clock. */
  readonly at: number;
  /** The venue's price step, when known; it wins over a `tickSize` parameter. */
  readonly tickSize?: Decimal;
  /** The venue's quantity step (lot size), when known; it wins over a `stepSize` parameter. */
  readonly stepSize?: Decimal;
}

/** One execution of one of the strategy's orders; each must be given exactly once. */
export interface StrategyFill {
  readonly clientOrderId: string;
  readonly side: OrderSide;
  readonly price: Decimal;
  /** Base quantity of this execution. */
  readonly quantity: Decimal;
  readonly fee: Decimal;
  /** Currency the fee was charged in; the quote currency when absent. A fee in the base currency reduces the base held. */
  readonly feeCurrency?: string | null;
}

export interface PlaceIntent {
  readonly kind: 'place';
  readonly clientOrderId: string;
  readonly side: OrderSide;
  readonly type: 'limit' | 'market';
  /** Limit price; absent for a market order. */
  readonly price?: Decimal;
  /** Base quantity. */
  readonly quantity: Decimal;
  /** True for sells of base the bot holds: they only shrink its position. */
  readonly reduceOnly: boolean;
}

export interface CancelIntent {
  readonly kind: 'cancel';
  readonly clientOrderId: string;
}

export type StrategyIntent = PlaceIntent | CancelIntent;

export interface StrategyInput<S> {
  readonly state: S;
  readonly market: MarketSnapshot;
  /** Executions since the last step (an order's fills before its end). */
  readonly fills?: readonly StrategyFill[];
  /**
   * Client order ids of this bot's orders that ended without filling completely since the last step
   * (canceled, rejected, expired, lost). Until an order is reported here or fully filled, the strategy
   * counts it as open.
   */
  readonly endedOrders?: readonly string[];
}

export interface StrategyStep<S> {
  /** The next state, to persist; the input state is never modified (a step that changes nothing may answer the input state itself). */
  readonly state: S;
  /** What to send, in order. */
  readonly intents: readonly StrategyIntent[];
  /** Client order ids of fills this strategy does not know; they were ignored. */
  readonly unknownFills: readonly string[];
}

/** Parsed parameters, or every readable error at once. */
export type ParametersResult<P> = { readonly ok: true; readonly params: P } | { readonly ok: false; readonly errors: readonly string[] };

export type StrategyErrorCode =
  /** The snapshot is for another symbol than the bot's. */
  | 'WRONG_SYMBOL'
  /** A price in the snapshot is not positive, or the bid is above the ask. */
  | 'BAD_MARKET_DATA'
  /** A fill contradicts the order it names (e.g. a sell fill for a buy order). */
  | 'INCONSISTENT_FILL'
  /** The parameters cannot trade on this market (e.g. an amount below one quantity step). */
  | 'UNTRADABLE';

/** A step the strategy cannot take: the caller puts the bot in ERROR with this cause (RB-002). */
export class StrategyError extends Error {
  constructor(
    readonly code: StrategyErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'StrategyError';
  }
}

/** The gateway's client order id format (libs/contracts SubmitOrder). */
export const CLIENT_ORDER_ID_PATTERN = /^[A-Za-z0-9_-]{1,36}$/;
const CLIENT_ORDER_ID_MAX = 36;

/**
 * `<botId>-<tag>` when that fits the gateway's format; otherwise a hash of the bot id (which may hold `.`
 * or be up to 64 characters) stands for it. Deterministic: the same bot and tag give the same id.
 */
export function strategyOrderId(botId: string, tag: string): string {
  const plain = `${botId}-${tag}`;
  if (CLIENT_ORDER_ID_PATTERN.test(plain)) return plain;
  const room = CLIENT_ORDER_ID_MAX - 1 - tag.length;
  if (room < 8 || !CLIENT_ORDER_ID_PATTERN.test(tag)) throw new RangeError(`order tag "${tag}" leaves no room for a bot id`);
  return `${hashBase36(botId).slice(0, room)}-${tag}`;
}

/** FNV-1a, 64 bits, in base 36 (13 characters). */
function hashBase36(text: string): string {
  let hash = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) {
    hash ^= BigInt(text.charCodeAt(i));
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash.toString(36).padStart(13, '0');
}

/** Checks the snapshot is for `symbol` and is sane; throws a `StrategyError` otherwise. */
export function checkMarket(symbol: string, market: MarketSnapshot): void {
  if (market.symbol !== symbol) throw new StrategyError('WRONG_SYMBOL', `market data for ${market.symbol} given to a bot trading ${symbol}`);
  if (!(market.bid.isPositive() && market.ask.isPositive() && market.last.isPositive())) {
    throw new StrategyError(
      'BAD_MARKET_DATA',
      `${symbol}: bid, ask and last must be positive (bid ${market.bid.toString()}, ask ${market.ask.toString()}, last ${market.last.toString()})`,
    );
  }
  if (market.bid.gt(market.ask)) {
    throw new StrategyError('BAD_MARKET_DATA', `${symbol}: bid ${market.bid.toString()} is above ask ${market.ask.toString()}`);
  }
  if (!Number.isSafeInteger(market.at)) throw new StrategyError('BAD_MARKET_DATA', `${symbol}: snapshot time ${market.at} is not epoch milliseconds`);
}
