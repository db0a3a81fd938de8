import { z } from 'zod';
import { defineMarketData, defineRequest } from './catalog.js';
import { DECIMAL_PATTERN } from '@garde/domain';
import { ExchangeId, MarketSymbol } from './bots.js';

const Decimal = z.string().regex(DECIMAL_PATTERN, 'expected a decimal string');

/** A venue's best prices for one symbol, as the gateway read them. Prices are decimal strings. */
export const Ticker = z.object({
  exchangeId: z.string(),
  /** ccxt's unified symbol, e.g. `BTC/USDT`. */
  symbol: z.string(),
  bid: Decimal.nullable(),
  ask: Decimal.nullable(),
  last: Decimal.nullable(),
  /** The market's price step and quantity step (lot size), when the venue gives them: orders must respect them. */
  tickSize: Decimal.nullable().optional(),
  stepSize: Decimal.nullable().optional(),
  /** The venue's own time for these prices (ISO-8601 UTC), when it gives one. */
  venueTime: z.iso.datetime({ offset: true }).nullable(),
  /** When the gateway received them. */
  receivedAt: z.iso.datetime({ offset: true }),
});
export type Ticker = z.infer<typeof Ticker>;

/** A ticker with its age now: a consumer must not trade on a stale one. */
export const TickerView = Ticker.extend({
  /** Milliseconds since the venue's time for it (or since it was received, when the venue gives no time). */
  ageMs: z.number().int().nonnegative(),
  /** Older than the gateway's MARKET_DATA_STALE_MS: the venue or the polling has stopped. */
  stale: z.boolean(),
});
export type TickerView = z.infer<typeof TickerView>;

/** Each new ticker, on core NATS; subject key from `tickerKey`. */
export const TickerUpdatedMd = defineMarketData({ type: 'gateway.md.ticker.updated', payload: Ticker });

/** The subject key of a symbol's tickers: `<exchangeId>.<symbol>` with `/` and `.` written `_`. */
export const tickerKey = (exchangeId: string, symbol: string): string => `${exchangeId}.${symbol.replace(/[./*> ]/g, '_')}`;

/** The latest ticker of each symbol in use, with its age. */
export const TickersQry = defineRequest({
  type: 'gateway.qry.market.tickers',
  payload: z.object({ exchangeId: ExchangeId.optional(), symbol: z.string().min(1).optional() }),
  result: z.object({ tickers: z.array(TickerView) }),
});

/**
 * Asks the gateway to keep a symbol's ticker polled and published for `ttlMs` (a consumer renews it
 * before it ends). Symbols with live orders, and those in MARKET_DATA_SYMBOLS, are polled anyway.
 */
export const MarketSubscribeCmd = defineRequest({
  type: 'gateway.cmd.market.subscribe',
  payload: z.object({
    exchangeId: ExchangeId,
    symbol: MarketSymbol,
    ttlMs: z.number().int().min(1000).max(3_600_000).default(60_000),
  }),
  result: z.object({ exchangeId: z.string(), symbol: z.string(), until: z.iso.datetime({ offset: true }) }),
});

/** A market as the venue of an exchange lists it (ccxt's loaded markets): what a bot on it must respect. */
export const MarketInfo = z.object({
  /** The exchange asked about. */
  exchangeId: z.string(),
  /** ccxt's unified symbol, e.g. `BTC/USDT`. */
  symbol: z.string(),
  /** The exchange account whose orders would trade it: the one account of the exchange (orders that name no account go there). */
  accountId: z.string(),
  /** The price step, when the venue gives steps (ccxt's TICK_SIZE precision mode, as the tickers carry them); null otherwise. */
  tickSize: Decimal.nullable(),
  /** The quantity step (lot size), on the same terms as `tickSize`. */
  stepSize: Decimal.nullable(),
  /** The smallest order quantity (base) the venue accepts, when it says. */
  minQuantity: Decimal.nullable(),
  /** The largest order quantity (base) the venue accepts, when it says. */
  maxQuantity: Decimal.nullable(),
  /** The smallest order notional (price × quantity, in quote) the venue accepts, when it says. */
  minNotional: Decimal.nullable(),
});
export type MarketInfo = z.infer<typeof MarketInfo>;

/**
 * Whether an exchange can trade a symbol, asked of the gateway (the only process that knows the
 * exchange accounts and the venues' markets), e.g. before a bot is created. Refused with a closed code:
 * `NO_VENUE_CONFIGURED` (no account for the exchange), `INVALID_REQUEST` (several accounts: orders that
 * name none are refused there), `UNKNOWN_SYMBOL` (the venue does not list it), `EXCHANGE_UNAVAILABLE`
 * (the venue's markets could not be loaded in time).
 */
export const MarketInfoQry = defineRequest({
  type: 'gateway.qry.market.info',
  payload: z.object({
    /** The exchange, as bots and orders name it. */
    exchangeId: ExchangeId,
    /** The market, as ccxt writes it: `BASE/QUOTE`. */
    symbol: MarketSymbol,
  }),
  result: MarketInfo,
});
