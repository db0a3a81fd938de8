import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { FINAL_ORDER_STATES, ORDER_STATES, isFinal, orderTransition, stateFromVenue, type OrderState } from './order-state.js';

describe('order state machine', () => {
  it.each([
    ['PENDING_SUBMIT', 'OPEN'],
    ['PENDING_SUBMIT', 'UNKNOWN'],
    ['UNKNOWN', 'OPEN'],
    ['UNKNOWN', 'LOST'],
    ['OPEN', 'PENDING_CANCEL'],
    ['PENDING_CANCEL', 'CANCELED'],
    ['PENDING_CANCEL', 'FILLED'],
    ['PARTIALLY_FILLED', 'PARTIALLY_FILLED'],
  ] as const)('%s → %s', (from, to) => expect(orderTransition(from, to)).toEqual({ ok: true, to }));

  it.each([
    ['OPEN', 'UNKNOWN'],
    ['OPEN', 'PENDING_SUBMIT'],
    ['PENDING_SUBMIT', 'LOST'],
    ['FILLED', 'CANCELED'],
  ] as const)('refuses %s → %s', (from, to) => expect(orderTransition(from, to).ok).toBe(false));

  it('property: a final state never changes, and only UNKNOWN can become LOST', () => {
    const state = fc.constantFrom(...ORDER_STATES);
    fc.assert(
      fc.property(state, state, (from: OrderState, to: OrderState) => {
        const t = orderTransition(from, to);
        if (isFinal(from)) expect(t.ok).toBe(false);
        if (to === 'LOST' && t.ok) expect(from).toBe('UNKNOWN');
        // Never back to PENDING_SUBMIT: an order is sent once.
        if (to === 'PENDING_SUBMIT') expect(t.ok).toBe(false);
      }),
    );
    expect(FINAL_ORDER_STATES).toEqual(['FILLED', 'CANCELED', 'REJECTED', 'EXPIRED', 'LOST']);
  });
});

describe('stateFromVenue', () => {
  it.each([
    [{ status: 'open', filled: '0' }, 'OPEN'],
    [{ status: 'open', filled: '0.000' }, 'OPEN'],
    [{ status: 'open', filled: '0.001' }, 'PARTIALLY_FILLED'],
    [{ status: 'closed', filled: '1' }, 'FILLED'],
    [{ status: 'canceled', filled: '0.5' }, 'CANCELED'],
    [{ status: 'expired', filled: '0' }, 'EXPIRED'],
    [{ status: 'rejected', filled: '0' }, 'REJECTED'],
  ] as const)('%j → %s', (report, state) => expect(stateFromVenue(report)).toBe(state));
});
