import ccxt from 'ccxt';
import { stateFromVenue, type OrderState } from '@garde/domain';
import { NotSentError } from '../../venues/account-rate-limiter.js';

/** What a createOrder call came to: the venue's answer, a refusal, or no way to know. */
export type VenueOutcome =
  { kind: 'answered'; state: OrderState; venueOrderId: string; filled: string } | { kind: 'rejected'; reason: string } | { kind: 'unknown'; reason: string };

interface CcxtOrder {
  id?: string;
  status?: string;
  filled?: number | string;
}

export function outcomeOfAnswer(order: CcxtOrder): VenueOutcome {
  const status =
    order.status === 'open' || order.status === 'closed' || order.status === 'canceled' || order.status === 'expired' || order.status === 'rejected'
      ? order.status
      : 'open';
  const filled = toDecimalString(order.filled ?? 0);
  return { kind: 'answered', state: stateFromVenue({ status, filled }), venueOrderId: String(order.id ?? ''), filled };
}

/**
 * A failed createOrder: the venue's explicit refusals (an exchange error, a 429 which Binance does not
 * act on) are REJECTED; anything where the request may have reached the venue (timeout, 5xx, reset) is
 * UNKNOWN — such an order is looked up later, never sent again. One the rate limiter held back (the
 * account was paused between its token and its send) never left: REJECTED.
 */
export function outcomeOfError(err: unknown): VenueOutcome {
  const reason = err instanceof Error ? `${err.constructor.name}: ${err.message}`.slice(0, 500) : String(err);
  if (err instanceof NotSentError) return { kind: 'rejected', reason };
  if (err instanceof ccxt.DDoSProtection || err instanceof ccxt.RateLimitExceeded) return { kind: 'rejected', reason };
  if (err instanceof ccxt.NetworkError) return { kind: 'unknown', reason };
  if (err instanceof ccxt.BaseError) return { kind: 'rejected', reason };
  return { kind: 'unknown', reason };
}

/** A 429 (the venue refused the request for its rate, and did not act on it); a 418 ban is not one. */
export function isRateLimitedAnswer(err: unknown): boolean {
  return (err instanceof ccxt.DDoSProtection || err instanceof ccxt.RateLimitExceeded) && !/\b418\b/.test(err.message);
}

/** ccxt reports amounts as JS numbers: back to a plain decimal string (shortest exact form). */
export function toDecimalString(value: number | string): string {
  if (typeof value === 'string') return value;
  if (!Number.isFinite(value)) return '0';
  const text = String(value);
  if (!/e/i.test(text)) return text;
  return value.toFixed(20).replace(/0+$/, '').replace(/\.$/, '');
}

/** More significant digits than a JS number carries exactly (ccxt takes numbers): such an amount is refused. */
export function tooPrecise(decimal: string): boolean {
  return decimal.replace('.', '').replace(/^0+/, '').replace(/0+$/, '').length > 15;
}
