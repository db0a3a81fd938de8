import { Decimal } from '../decimal-math.js';
import type { OrderState } from '../order-state.js';

/**
 * Reconciliation (RB-003, RB-012): the internal ledger of balances per exchange account and asset
 * against what the venue reports, and the orders Garde believes open against the venue's open orders.
 * Pure: risk-service reads the venue (through the gateway) and the ledger (PostgreSQL), these functions
 * say what differs, what is confirmed, and what would make the ledger match.
 */

/** What a discrepancy is about: an asset's balance, or an open order only one side knows. */
export const DISCREPANCY_KINDS = ['BALANCE', 'UNKNOWN_VENUE_ORDER', 'MISSING_VENUE_ORDER'] as const;
export type DiscrepancyKind = (typeof DISCREPANCY_KINDS)[number];

// ---------------------------------------------------------------------------------------------------
// The ledger's entries for a fill
// ---------------------------------------------------------------------------------------------------

/** The part of a fill an entry books: the base bought or sold, the quote paid or received, the fee. */
export type LedgerLeg = 'base' | 'quote' | 'fee';

export interface LedgerMovement {
  readonly leg: LedgerLeg;
  readonly asset: string;
  /** Signed: what the account gains (positive) or loses (negative). */
  readonly amount: Decimal;
}

export interface FillForLedger {
  /** `BASE/QUOTE`. */
  readonly symbol: string;
  readonly side: 'buy' | 'sell';
  readonly quantity: Decimal;
  readonly price: Decimal;
  readonly fee: Decimal;
  /** The asset the fee was charged in; null when the venue named none. */
  readonly feeCurrency: string | null;
}

/** `BTC/USDT` → base BTC, quote USDT. */
export function splitSymbol(symbol: string): { base: string; quote: string } | { error: string } {
  const match = /^([A-Z0-9]{1,20})\/([A-Z0-9]{1,20})$/.exec(symbol);
  if (!match) return { error: `"${symbol}" is not BASE/QUOTE` };
  return { base: match[1]!, quote: match[2]! };
}

/**
 * The entries one fill makes in the ledger: a buy adds the quantity of base and takes quantity × price
 * of quote, a sell the reverse; the fee is taken in its own currency. A fee without a currency cannot be
 * booked: it is left out and named in `problem` (reconciliation then shows the difference).
 */
export function fillMovements(fill: FillForLedger): { movements: LedgerMovement[]; problem?: string } {
  const assets = splitSymbol(fill.symbol);
  if ('error' in assets) throw new RangeError(assets.error);
  if (!fill.quantity.isPositive()) throw new RangeError(`a fill of quantity ${fill.quantity.toString()} is not an execution`);
  if (!fill.price.isPositive()) throw new RangeError(`a fill at price ${fill.price.toString()} is not an execution`);
  if (fill.fee.isNegative()) throw new RangeError(`a negative fee (${fill.fee.toString()}) is a rebate this ledger does not book`);
  const notional = fill.quantity.times(fill.price);
  const sign = fill.side === 'buy' ? Decimal.ONE : Decimal.ONE.negated();
  const movements: LedgerMovement[] = [
    { leg: 'base', asset: assets.base, amount: fill.quantity.times(sign) },
    { leg: 'quote', asset: assets.quote, amount: notional.times(sign).negated() },
  ];
  if (fill.fee.isZero()) return { movements };
  if (fill.feeCurrency === null || fill.feeCurrency === '') {
    return { movements, problem: `a fee of ${fill.fee.toString()} without a currency was not booked` };
  }
  movements.push({ leg: 'fee', asset: fill.feeCurrency, amount: fill.fee.negated() });
  return { movements };
}

// ---------------------------------------------------------------------------------------------------
// Tolerances
// ---------------------------------------------------------------------------------------------------

export interface ReconciliationTolerances {
  /** For an asset without one of its own. */
  readonly default: Decimal;
  readonly perAsset: ReadonlyMap<string, Decimal>;
}

export function toleranceFor(tolerances: ReconciliationTolerances, asset: string): Decimal {
  return tolerances.perAsset.get(asset) ?? tolerances.default;
}

/** `USDT=0.01,BTC=0.00001` (empty = none); every bad entry named. */
export function parseTolerances(text: string): { perAsset: Map<string, Decimal> } | { errors: string[] } {
  const perAsset = new Map<string, Decimal>();
  const errors: string[] = [];
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (!entry) continue;
    const match = /^([A-Z0-9]{1,20})=(\d+(?:\.\d+)?)$/.exec(entry);
    if (!match) {
      errors.push(`"${entry}" is not ASSET=<non-negative decimal>, e.g. USDT=0.01`);
      continue;
    }
    if (perAsset.has(match[1]!)) errors.push(`${match[1]} given twice`);
    perAsset.set(match[1]!, Decimal.of(match[2]!));
  }
  return errors.length ? { errors } : { perAsset };
}

// ---------------------------------------------------------------------------------------------------
// Balances
// ---------------------------------------------------------------------------------------------------

export interface BalanceComparison {
  readonly asset: string;
  /** The venue's total (free + used). */
  readonly venue: Decimal;
  /** The ledger's balance. */
  readonly ledger: Decimal;
  /** venue − ledger: what an adjustment would add to the ledger. */
  readonly difference: Decimal;
  readonly tolerance: Decimal;
  /** |difference| > tolerance. */
  readonly overTolerance: boolean;
}

/**
 * Every asset either side has, sorted: an asset one side lacks counts as zero there. A difference equal
 * to the tolerance is within it.
 */
export function compareBalances(
  venue: ReadonlyMap<string, Decimal>,
  ledger: ReadonlyMap<string, Decimal>,
  tolerances: ReconciliationTolerances,
): BalanceComparison[] {
  const assets = [...new Set([...venue.keys(), ...ledger.keys()])].sort();
  return assets.map((asset) => {
    const v = venue.get(asset) ?? Decimal.ZERO;
    const l = ledger.get(asset) ?? Decimal.ZERO;
    const difference = v.minus(l);
    const tolerance = toleranceFor(tolerances, asset);
    return { asset, venue: v, ledger: l, difference, tolerance, overTolerance: difference.abs().gt(tolerance) };
  });
}

/** The adjusting entries that make the ledger equal the venue: one per asset that differs at all. */
export function adjustmentsToMatch(comparisons: readonly BalanceComparison[]): Array<{ asset: string; amount: Decimal }> {
  return comparisons.filter((c) => !c.difference.isZero()).map((c) => ({ asset: c.asset, amount: c.difference }));
}

// ---------------------------------------------------------------------------------------------------
// Open orders
// ---------------------------------------------------------------------------------------------------

/** An order the venue reports open. */
export interface VenueOpenOrder {
  readonly venueOrderId: string;
  /** Null for an order placed without a client id (outside Garde). */
  readonly clientOrderId: string | null;
  readonly symbol: string;
  readonly side: string;
}

/** An order Garde's books (the gateway) hold as not final. */
export interface KnownOrder {
  readonly clientOrderId: string;
  readonly venueOrderId: string | null;
  readonly botId: string | null;
  readonly symbol: string;
  readonly side: string;
  readonly state: OrderState;
  /** When the gateway recorded it (epoch ms). */
  readonly createdAt: number;
}

export interface OrderFinding {
  readonly kind: 'UNKNOWN_VENUE_ORDER' | 'MISSING_VENUE_ORDER';
  /** The venue's order id for an unknown order, the client order id for a missing one. */
  readonly subject: string;
  readonly clientOrderId: string | null;
  readonly venueOrderId: string | null;
  readonly botId: string | null;
  readonly symbol: string;
  readonly side: string;
}

/** The states in which the venue must hold the order; the others (sending, unknown, being cancelled) may or may not be there. */
const MUST_BE_AT_VENUE: readonly OrderState[] = ['OPEN', 'PARTIALLY_FILLED'];

/**
 * Orders at the venue Garde does not hold open (placed outside Garde, or ended in its books), and
 * orders Garde holds OPEN or PARTIALLY_FILLED that the venue no longer has. An order recorded after
 * the venue was read (`venueReadAt`) cannot be expected there.
 */
export function compareOpenOrders(input: { venue: readonly VenueOpenOrder[]; known: readonly KnownOrder[]; venueReadAt: number }): OrderFinding[] {
  const byClientId = new Map(input.known.map((o) => [o.clientOrderId, o]));
  const byVenueId = new Map(input.known.filter((o) => o.venueOrderId !== null).map((o) => [o.venueOrderId!, o]));
  const matched = new Set<string>();
  const findings: OrderFinding[] = [];
  for (const v of input.venue) {
    const known = (v.clientOrderId !== null ? byClientId.get(v.clientOrderId) : undefined) ?? byVenueId.get(v.venueOrderId);
    if (known) {
      matched.add(known.clientOrderId);
      continue;
    }
    findings.push({
      kind: 'UNKNOWN_VENUE_ORDER',
      subject: v.venueOrderId,
      clientOrderId: v.clientOrderId,
      venueOrderId: v.venueOrderId,
      botId: null,
      symbol: v.symbol,
      side: v.side,
    });
  }
  for (const k of input.known) {
    if (matched.has(k.clientOrderId) || !MUST_BE_AT_VENUE.includes(k.state) || k.createdAt >= input.venueReadAt) continue;
    findings.push({
      kind: 'MISSING_VENUE_ORDER',
      subject: k.clientOrderId,
      clientOrderId: k.clientOrderId,
      venueOrderId: k.venueOrderId,
      botId: k.botId,
      symbol: k.symbol,
      side: k.side,
    });
  }
  return findings;
}

// ---------------------------------------------------------------------------------------------------
// Confirmation: no alarm for a fill in flight
// ---------------------------------------------------------------------------------------------------

/** A difference seen in one reconciliation of an account. */
export interface Sighting {
  readonly accountId: string;
  readonly kind: DiscrepancyKind;
  /** The asset, or the order id (see OrderFinding.subject). */
  readonly subject: string;
  /** For BALANCE: venue − ledger, and the asset's tolerance. */
  readonly difference?: Decimal;
  readonly tolerance?: Decimal;
}

export const sightingKey = (s: Pick<Sighting, 'accountId' | 'kind' | 'subject'>): string => `${s.accountId}|${s.kind}|${s.subject}`;

/**
 * The sightings of `now` that `earlier` already had: the same order, or the same asset with a
 * difference that moved by no more than the tolerance between the two looks. A fill in flight (the
 * venue has it, the ledger not yet) shows once and is gone at the next look, or has changed: it is
 * not confirmed. A real drift stays put and is.
 */
export function confirmSightings(earlier: readonly Sighting[], now: readonly Sighting[]): Sighting[] {
  const before = new Map(earlier.map((s) => [sightingKey(s), s]));
  return now.filter((s) => {
    const prior = before.get(sightingKey(s));
    if (!prior) return false;
    if (s.kind !== 'BALANCE') return true;
    if (!s.difference || !prior.difference || !s.tolerance) return false;
    return s.difference.minus(prior.difference).abs().lte(s.tolerance);
  });
}

/** What an account's look found: its balances over tolerance and its order findings. */
export function sightingsOf(accountId: string, balances: readonly BalanceComparison[], orders: readonly OrderFinding[]): Sighting[] {
  return [
    ...balances
      .filter((b) => b.overTolerance)
      .map((b): Sighting => ({ accountId, kind: 'BALANCE', subject: b.asset, difference: b.difference, tolerance: b.tolerance })),
    ...orders.map((o): Sighting => ({ accountId, kind: o.kind, subject: o.subject })),
  ];
}
