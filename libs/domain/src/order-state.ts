/**
 * The life of an order at the gateway (DESIGN §4). Pure: the gateway persists and publishes.
 *
 *   PENDING_SUBMIT → OPEN → PARTIALLY_FILLED → FILLED | CANCELED | REJECTED | EXPIRED
 *   PENDING_SUBMIT → UNKNOWN (timeout, 5xx, reset): never re-sent, looked up by client order id and
 *                    settled as what the venue says, or LOST when the venue never heard of it
 *   OPEN | PARTIALLY_FILLED → PENDING_CANCEL → CANCELED (or FILLED when a fill wins the race)
 */
export const ORDER_STATES = [
  'PENDING_SUBMIT',
  'OPEN',
  'PARTIALLY_FILLED',
  'PENDING_CANCEL',
  'UNKNOWN',
  'FILLED',
  'CANCELED',
  'REJECTED',
  'EXPIRED',
  'LOST',
] as const;
export type OrderState = (typeof ORDER_STATES)[number];

export const FINAL_ORDER_STATES: readonly OrderState[] = ['FILLED', 'CANCELED', 'REJECTED', 'EXPIRED', 'LOST'];

export function isFinal(state: OrderState): boolean {
  return FINAL_ORDER_STATES.includes(state);
}

const NEXT: Record<OrderState, readonly OrderState[]> = {
  PENDING_SUBMIT: ['OPEN', 'PARTIALLY_FILLED', 'FILLED', 'REJECTED', 'EXPIRED', 'CANCELED', 'UNKNOWN'],
  OPEN: ['PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'EXPIRED', 'PENDING_CANCEL'],
  PARTIALLY_FILLED: ['PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'EXPIRED', 'PENDING_CANCEL'],
  // A cancel the venue refused leaves the order where it was; a fill may win the race.
  PENDING_CANCEL: ['CANCELED', 'FILLED', 'PARTIALLY_FILLED', 'OPEN', 'EXPIRED'],
  UNKNOWN: ['OPEN', 'PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'REJECTED', 'EXPIRED', 'LOST'],
  FILLED: [],
  CANCELED: [],
  REJECTED: [],
  EXPIRED: [],
  LOST: [],
};

export type OrderTransition = { ok: true; to: OrderState } | { ok: false; message: string };

/** May an order go from `from` to `to`? Final states never change. */
export function orderTransition(from: OrderState, to: OrderState): OrderTransition {
  if (NEXT[from].includes(to)) return { ok: true, to };
  return {
    ok: false,
    message: isFinal(from) ? `order is ${from}, a final state` : `order cannot go from ${from} to ${to} (allowed: ${NEXT[from].join(', ')})`,
  };
}

/** What a venue reports about an order, as ccxt unifies it. Quantities are decimal strings. */
export interface VenueOrderReport {
  status: 'open' | 'closed' | 'canceled' | 'expired' | 'rejected';
  /** Base quantity filled so far. */
  filled: string;
}

/** The state a venue report means: `closed` is FILLED; an open order with fills is PARTIALLY_FILLED. */
export function stateFromVenue(report: VenueOrderReport): OrderState {
  const anyFill = /[1-9]/.test(report.filled);
  switch (report.status) {
    case 'open':
      return anyFill ? 'PARTIALLY_FILLED' : 'OPEN';
    case 'closed':
      return 'FILLED';
    case 'canceled':
      return 'CANCELED';
    case 'expired':
      return 'EXPIRED';
    case 'rejected':
      return 'REJECTED';
  }
}
