/**
 * The market an order is checked against: a reference price and the instrument's steps, from the
 * gateway's tickers. Pure: the time is passed in.
 */
import type { Decimal } from '../decimal-math.js';

export interface MarketQuote {
  readonly bid: Decimal | null;
  readonly ask: Decimal | null;
  readonly last: Decimal | null;
  /** The price step; null when the venue gives none. */
  readonly tickSize: Decimal | null;
  /** The quantity step (lot size); null when the venue gives none. */
  readonly stepSize: Decimal | null;
  /**
   * When these prices held (epoch ms): the venue's own time for them, or when the gateway received
   * them when that is earlier or the venue gives no time (a venue clock ahead of ours never makes a
   * price look younger than it is).
   */
  readonly at: number;
}

/** The epoch ms a ticker's prices held: the earlier of the venue's time (when given) and the gateway's reception. */
export function quoteTime(venueTime: number | null, receivedAt: number): number {
  return venueTime === null || Number.isNaN(venueTime) ? receivedAt : Math.min(venueTime, receivedAt);
}

/**
 * The reference price: the mid of the best bid and ask when both are there (exact: one more digit
 * than the finer of the two), else the last trade price; null when the quote has neither.
 */
export function referencePrice(quote: MarketQuote): Decimal | null {
  const { bid, ask, last } = quote;
  if (bid?.isPositive() && ask?.isPositive()) return bid.plus(ask).dividedBy('2', Math.max(bid.scale, ask.scale) + 1, 'half-up');
  return last?.isPositive() ? last : null;
}

/** Milliseconds since the quote's prices held (never negative). */
export function quoteAgeMs(quote: MarketQuote, now: number): number {
  return Math.max(0, now - quote.at);
}
