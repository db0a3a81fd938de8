import { z } from 'zod';
import { DISCREPANCY_KINDS } from '@garde/domain';
import { defineEvent, defineRequest } from './catalog.js';
import { ExchangeId } from './bots.js';
import { Actor } from './envelope.js';
import { Reason } from './kill-switch.js';
import { Order } from './orders.js';

/**
 * Reconciliation (RB-003) and manual reconciliation (RB-012): risk-service's ledger of balances per
 * exchange account and asset, against what each venue reports (gateway BalancesQry, OpenOrdersQry).
 */

/** A decimal string that may be negative: `-0.5`, `0`, `12.25`. */
const SignedAmount = z.string().regex(/^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/, 'expected a decimal string, e.g. -0.5');

/** BALANCE: an asset's venue total differs from the ledger; UNKNOWN_VENUE_ORDER: open at the venue, not open in Garde's books; MISSING_VENUE_ORDER: open in Garde's books, gone from the venue. */
export const DiscrepancyKind = z.enum(DISCREPANCY_KINDS);
export type DiscrepancyKind = z.infer<typeof DiscrepancyKind>;

/** A difference over tolerance, confirmed by two looks: recorded, alerted on, and the account's bots halted. */
export const Discrepancy = z.object({
  /** Its id (a number, as a string). */
  id: z.string(),
  accountId: z.string(),
  exchangeId: z.string(),
  kind: DiscrepancyKind,
  /** The asset (BALANCE), the venue's order id (UNKNOWN_VENUE_ORDER) or the client order id (MISSING_VENUE_ORDER). */
  subject: z.string(),
  /** BALANCE: the venue's total when confirmed. */
  venue: SignedAmount.nullable(),
  /** BALANCE: the ledger's balance when confirmed. */
  ledger: SignedAmount.nullable(),
  /** BALANCE: venue − ledger. */
  difference: SignedAmount.nullable(),
  /** BALANCE: the asset's tolerance. */
  tolerance: SignedAmount.nullable(),
  /** For people: what differs. */
  message: z.string(),
  /** OPEN until a manual reconciliation (portfolio:reconcile --apply) clears it. */
  status: z.enum(['OPEN', 'CLEARED']),
  /** When it was confirmed (ISO-8601 UTC). */
  detectedAt: z.iso.datetime({ offset: true }),
  /** The bots whose kill-switch scope (`bot:<id>`) was halted for it. */
  haltedBots: z.array(z.string()),
  clearedAt: z.iso.datetime({ offset: true }).nullable(),
  /** Who cleared it. */
  clearedBy: Actor.nullable(),
  /** Why (the --reason of the manual reconciliation). */
  clearReason: z.string().nullable(),
});
export type Discrepancy = z.infer<typeof Discrepancy>;

export const DiscrepancyQuery = z.object({
  /** Also the cleared ones (most recent first); only the open ones otherwise. */
  all: z.boolean().default(false),
  /** Only the accounts of this exchange. */
  exchangeId: ExchangeId.optional(),
});
export type DiscrepancyQuery = z.infer<typeof DiscrepancyQuery>;

export const DiscrepancyList = z.object({ discrepancies: z.array(Discrepancy) });
export type DiscrepancyList = z.infer<typeof DiscrepancyList>;

/** One asset of one account: venue against ledger. */
export const BalanceLine = z.object({
  asset: z.string(),
  /** The venue's total (free + used). */
  venue: SignedAmount,
  ledger: SignedAmount,
  /** venue − ledger: what an adjustment adds to the ledger. */
  difference: SignedAmount,
  tolerance: SignedAmount,
  overTolerance: z.boolean(),
});
export type BalanceLine = z.infer<typeof BalanceLine>;

/** An open order only one side knows. */
export const OrderDifference = z.object({
  kind: z.enum(['UNKNOWN_VENUE_ORDER', 'MISSING_VENUE_ORDER']),
  /** The venue's order id (UNKNOWN_VENUE_ORDER) or the client order id (MISSING_VENUE_ORDER). */
  subject: z.string(),
  clientOrderId: z.string().nullable(),
  venueOrderId: z.string().nullable(),
  botId: z.string().nullable(),
  symbol: z.string(),
  side: z.string(),
});
export type OrderDifference = z.infer<typeof OrderDifference>;

export const AccountReconciliation = z.object({
  accountId: z.string(),
  exchangeId: z.string(),
  /**
   * MATCHED: every asset within tolerance and the open orders agree; DIFFERENCES: not; NOT_OPENED: the
   * ledger has no opening balance for the account yet (the next periodic run, or --apply, takes it from
   * the venue); VENUE_ERROR: the venue could not be read (`error`).
   */
  status: z.enum(['MATCHED', 'DIFFERENCES', 'NOT_OPENED', 'VENUE_ERROR']),
  error: z.string().optional(),
  /** When the ledger's opening balance was taken from the venue (ISO-8601), null before. */
  openedAt: z.iso.datetime({ offset: true }).nullable(),
  /** When the venue was read. */
  venueReadAt: z.iso.datetime({ offset: true }).nullable(),
  balances: z.array(BalanceLine),
  orders: z.array(OrderDifference),
  /** The open discrepancies of the account, recorded earlier. */
  openDiscrepancies: z.number().int().nonnegative(),
});
export type AccountReconciliation = z.infer<typeof AccountReconciliation>;

export const ReconciliationReport = z.object({
  /** When the reconciliation ran (ISO-8601 UTC). */
  at: z.iso.datetime({ offset: true }),
  /** False when fills are still being recorded in the ledger: balance differences may be fills in flight. */
  ledgerCaughtUp: z.boolean(),
  accounts: z.array(AccountReconciliation),
});
export type ReconciliationReport = z.infer<typeof ReconciliationReport>;

export const ReconcileQuery = z.object({
  /** Only the accounts of this exchange; every account when absent. */
  exchangeId: ExchangeId.optional(),
});
export type ReconcileQuery = z.infer<typeof ReconcileQuery>;

export const ApplyReconciliation = z.object({
  /** Only the accounts of this exchange; every account when absent. */
  exchangeId: ExchangeId.optional(),
  /** Why: mandatory, recorded on every adjusting entry and in the audit trail. */
  reason: Reason,
});
export type ApplyReconciliation = z.infer<typeof ApplyReconciliation>;

/** One adjusting entry: what the ledger had, what the venue has, what was added. */
export const LedgerAdjustment = z.object({ asset: z.string(), ledgerBefore: SignedAmount, venue: SignedAmount, amount: SignedAmount });
export type LedgerAdjustment = z.infer<typeof LedgerAdjustment>;

export const AccountAdjustment = z.object({
  accountId: z.string(),
  exchangeId: z.string(),
  /** The venue could not be read: nothing was changed for this account. */
  error: z.string().optional(),
  /** True when this reconciliation took the account's opening balance from the venue. */
  opened: z.boolean(),
  adjustments: z.array(LedgerAdjustment),
  /** The discrepancies it cleared (their ids). */
  cleared: z.array(z.string()),
  /** Open-order differences still there: not something an entry fixes (cancel or settle the orders, RB-005). */
  orders: z.array(OrderDifference),
  /** Bots halted for the cleared discrepancies: they stay HALTED until an operator resumes them. */
  haltedBots: z.array(z.string()),
});
export type AccountAdjustment = z.infer<typeof AccountAdjustment>;

export const ReconciliationApplied = z.object({
  at: z.iso.datetime({ offset: true }),
  actor: Actor,
  reason: z.string(),
  accounts: z.array(AccountAdjustment),
});
export type ReconciliationApplied = z.infer<typeof ReconciliationApplied>;

/** The open (or every) discrepancy, most recent first. */
export const DiscrepanciesQry = defineRequest({ type: 'risk.qry.portfolio.discrepancies', payload: DiscrepancyQuery, result: DiscrepancyList });
/** Reconciles now and reports the differences: changes nothing (no record, no halt, no entry). */
export const ReconcileQry = defineRequest({ type: 'risk.qry.portfolio.reconcile', payload: ReconcileQuery, result: ReconciliationReport });
/** Manual reconciliation (risk or admin role): adjusting entries so the ledger matches the venue, with actor and reason; clears the discrepancies. */
export const ReconcileApplyCmd = defineRequest({ type: 'risk.cmd.portfolio.reconcile', payload: ApplyReconciliation, result: ReconciliationApplied });

/** A confirmed difference over tolerance: recorded, and the bots of its account halted. */
export const DiscrepancyFoundEvt = defineEvent({ type: 'risk.evt.reconciliation.discrepancy-found', payload: Discrepancy, level: 'error' });

/** The ledger of an account was opened from the venue's balances (its first reconciliation). */
export const LedgerOpenedEvt = defineEvent({
  type: 'risk.evt.ledger.opened',
  payload: z.object({
    accountId: z.string(),
    exchangeId: z.string(),
    /** The venue's read time the balances are as of. */
    asOf: z.iso.datetime({ offset: true }),
    balances: z.array(z.object({ asset: z.string(), total: SignedAmount })),
  }),
});

/** A manual reconciliation: the adjusting entries of one account, who made them and why, and the discrepancies it cleared. */
export const LedgerAdjustedEvt = defineEvent({
  type: 'risk.evt.ledger.adjusted',
  payload: z.object({
    accountId: z.string(),
    exchangeId: z.string(),
    adjustedBy: Actor,
    reason: z.string(),
    opened: z.boolean(),
    adjustments: z.array(LedgerAdjustment),
    cleared: z.array(z.string()),
    haltedBots: z.array(z.string()),
  }),
  level: 'warning',
});

/** The orders the gateway holds as not final for one account: what Garde believes may be open there. */
export const LiveOrdersQry = defineRequest({
  type: 'gateway.qry.order.live',
  payload: z.object({ accountId: z.string().min(1) }),
  result: z.object({ orders: z.array(Order) }),
});
