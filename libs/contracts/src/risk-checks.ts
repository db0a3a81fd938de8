import { z } from 'zod';
import { LIMIT_SCOPE_PATTERN, type PreTradeDenialReason } from '@garde/domain';
import { defineEvent, defineRequest } from './catalog.js';
import { Actor } from './envelope.js';
import { Reason } from './kill-switch.js';
import { PositiveDecimal, SubmitOrder } from './orders.js';

/** Why risk-service denies an order: a closed set, each a denial of one pre-trade check (libs/domain/src/risk). */
export const DenialReason = z.enum([
  /** A kill-switch scope covering the order is HALTED. */
  'KILL_SWITCH_HALTED',
  /** A covering scope is REDUCING and the order does not shrink the position (the bot's from its fills, and everyone's in the instrument). */
  'KILL_SWITCH_REDUCING',
  /** risk-service does not know the kill-switch state (not read since it (re)connected): fail closed. */
  'RISK_STATE_UNKNOWN',
  /** risk-service has not read the risk limits since it (re)connected: fail closed. */
  'LIMITS_UNKNOWN',
  /** risk-service has not read the order events up to now (starting, or its stream broke), or could not record the approval for its other replicas: fail closed. */
  'EXPOSURE_UNKNOWN',
  /** The quantity is not greater than zero. */
  'QUANTITY_NOT_POSITIVE',
  /** A limit order without a positive price, or a market order with a price. */
  'PRICE_NOT_POSITIVE',
  /** No reference price for the instrument: the gateway has published no ticker with a price for it, even when asked. */
  'REFERENCE_PRICE_MISSING',
  /** The reference price is older than the strictest maxReferenceAgeMs (the venue or the polling stopped). */
  'REFERENCE_PRICE_STALE',
  /** The instrument's price or quantity step is unknown (its tickers carry none): the order cannot be judged. */
  'INSTRUMENT_STEPS_UNKNOWN',
  /** The quantity is not a multiple of the instrument's lot size. */
  'QUANTITY_OFF_STEP',
  /** The limit price is not a multiple of the instrument's tick size. */
  'PRICE_OFF_TICK',
  /** A buy priced more than the collar above the reference, or a sell more than the collar below it. */
  'PRICE_OUTSIDE_COLLAR',
  /** The quantity is over the strictest maxOrderQuantity of the covering scopes. */
  'ORDER_QUANTITY_OVER_LIMIT',
  /** The notional (quantity × limit price, or × reference for a market order) is over the strictest maxOrderNotional. */
  'ORDER_NOTIONAL_OVER_LIMIT',
  /** The same order (bot, market, side, quantity, price) under another client order id, approved within DUPLICATE_ORDER_WINDOW_MS and still working. */
  'DUPLICATE_ORDER',
  /** The bot or the exchange account already had maxMessagesPerSecond orders approved in the last second. */
  'MESSAGE_RATE_OVER_LIMIT',
  /** The exposure (open orders and position, at the reference price) of a covering scope would go over its maxOpenNotional. */
  'OPEN_NOTIONAL_OVER_LIMIT',
]);
export type DenialReason = z.infer<typeof DenialReason>;

/** Every denial of the domain's checks is a code on the wire: a compile error here otherwise. */
type OnTheWire<T extends DenialReason> = T;
export type PreTradeDenialOnTheWire = OnTheWire<PreTradeDenialReason>;

export const OrderCheckDecision = z.discriminatedUnion('decision', [
  z.object({ decision: z.literal('APPROVED') }),
  z.object({
    decision: z.literal('DENIED'),
    reason: DenialReason,
    /** What the denial is about, for people. */
    message: z.string(),
    /** The kill-switch scope or the limit scope that denies it, when one does. */
    scope: z.string().optional(),
    /** The figures behind the denial (limit, value, reference price, age…), as strings. */
    context: z.record(z.string(), z.string()).optional(),
  }),
]);
export type OrderCheckDecision = z.infer<typeof OrderCheckDecision>;

/**
 * The pre-trade check the gateway asks before an order leaves (DESIGN §4), with the account it routed
 * the order to; no answer in time = refused.
 */
export const OrderCheckQry = defineRequest({ type: 'risk.qry.order.check', payload: SubmitOrder, result: OrderCheckDecision });

/** An order risk-service approved: it counts against the limits from now (every replica learns it from this event). */
export const OrderApprovedEvt = defineEvent({
  type: 'risk.evt.order.approved',
  payload: z.object({
    /** The order as checked (with the account the gateway routed it to). */
    order: SubmitOrder,
    /** The reference price it was checked against. */
    referencePrice: z.string(),
    /** Its notional in quote (quantity × limit price, or × the reference for a market order). */
    notional: z.string(),
  }),
});

/** An order risk-service denied, with the code and the figures: the audit trail keeps every denial. */
export const OrderDeniedEvt = defineEvent({
  type: 'risk.evt.order.denied',
  payload: z.object({
    /** The order as checked. */
    order: SubmitOrder,
    reason: DenialReason,
    message: z.string(),
    /** The kill-switch or limit scope that denies it. */
    scope: z.string().optional(),
    /** The figures behind the denial. */
    context: z.record(z.string(), z.string()),
  }),
  level: 'warning',
});

// ---------------------------------------------------------------------------------------------------
// Risk limits (versioned, per scope)
// ---------------------------------------------------------------------------------------------------

/** `firm`, `exchange:<exchangeId>`, `bot:<botId>` or `instrument:<exchangeId>:<BASE/QUOTE>`. */
export const LimitScope = z.string().regex(LIMIT_SCOPE_PATTERN, 'expected firm, exchange:<exchangeId>, bot:<botId> or instrument:<exchangeId>:<BASE/QUOTE>');

/** Each limit's schema (the values of RiskLimitValues, without the defaults of the later ones). */
const LIMIT_FIELDS = {
  /** Largest notional of one order, in quote (quantity × limit price, or × the reference price for a market order); the strictest covering scope wins. */
  maxOrderNotional: PositiveDecimal.nullable(),
  /** Largest base quantity of one order; the strictest covering scope wins. */
  maxOrderQuantity: PositiveDecimal.nullable(),
  /** Largest exposure of the scope in quote: the worst-case position if its open orders of one side filled, at the reference price. */
  maxOpenNotional: PositiveDecimal.nullable(),
  /** Most orders approved in any second: per bot (its bot: scope, else the firm's) and per exchange account (its exchange: scope, else the firm's). Not on an instrument scope. */
  maxMessagesPerSecond: z.number().int().positive().max(100_000).nullable(),
  /** How far, in % of the reference price, a limit price may cross the market (a buy above, a sell below); the strictest wins. The firm must keep one. */
  priceCollarPercent: PositiveDecimal.nullable(),
  /** Oldest reference price (ms) an order may be checked against; the strictest wins. The firm must keep one. */
  maxReferenceAgeMs: z
    .number()
    .int()
    .positive()
    .max(24 * 3_600_000)
    .nullable(),
  /**
   * Largest fall of the equity (realized + unrealized PnL − fees, from the fills) from its peak, in quote:
   * a bot's on its own equity, the firm's on everyone's. Beyond it risk-service halts the kill-switch
   * scope itself (`bot:<id>`, or `global` for the firm). Firm and bot scopes only.
   */
  maxDrawdown: PositiveDecimal.nullable(),
  /** Largest loss since 00:00 UTC, in quote (equity now against equity then): a bot's, or the firm's; beyond it, as maxDrawdown. Firm and bot scopes only. */
  maxDailyLoss: PositiveDecimal.nullable(),
  /** Runaway bot: most of one bot's orders denied within a minute (not counting kill-switch, unknown-state and stale-price denials); the bot's value, else the firm's; beyond it its bot: scope is halted. */
  maxDenialsPerMinute: z.number().int().positive().max(1_000_000).nullable(),
  /** Runaway bot: most fills of one bot within a minute; the bot's value, else the firm's; beyond it its bot: scope is halted. */
  maxFillsPerMinute: z.number().int().positive().max(1_000_000).nullable(),
};

/**
 * A scope's limits; null = this scope sets none (the others that cover an order still apply). See
 * libs/domain/src/risk/limits.ts for how each applies. The loss and runaway limits came later: a
 * version written before them reads as null for each.
 */
export const RiskLimitValues = z.object({
  ...LIMIT_FIELDS,
  maxDrawdown: LIMIT_FIELDS.maxDrawdown.default(null),
  maxDailyLoss: LIMIT_FIELDS.maxDailyLoss.default(null),
  maxDenialsPerMinute: LIMIT_FIELDS.maxDenialsPerMinute.default(null),
  maxFillsPerMinute: LIMIT_FIELDS.maxFillsPerMinute.default(null),
});
export type RiskLimitValues = z.infer<typeof RiskLimitValues>;

/** One version of a scope's limits: every change is a new version, never an update. */
export const RiskLimitsVersion = z.object({
  scope: LimitScope,
  /** 1 for the first, +1 per change. */
  version: z.number().int().positive(),
  limits: RiskLimitValues,
  /** Who made this version. */
  actor: Actor,
  /** Why. */
  reason: z.string(),
  /** When (ISO-8601 UTC). */
  changedAt: z.iso.datetime({ offset: true }),
});
export type RiskLimitsVersion = z.infer<typeof RiskLimitsVersion>;

export const SetRiskLimits = z
  .object({
    scope: LimitScope,
    /** The limits to change: a value sets it, null removes it from this scope; the ones not named keep their value. */
    changes: z.object(LIMIT_FIELDS).partial(),
    /** Why: mandatory. */
    reason: Reason,
  })
  .refine((c) => Object.keys(c.changes).length > 0, { message: 'name at least one limit to change', path: ['changes'] });
export type SetRiskLimits = z.infer<typeof SetRiskLimits>;

export const RiskLimitsChange = z.object({
  /** The new version. */
  current: RiskLimitsVersion,
  /** The version it replaces; null for the scope's first. */
  previous: RiskLimitsVersion.nullable(),
});
export type RiskLimitsChange = z.infer<typeof RiskLimitsChange>;

export const RiskLimitsQuery = z.object({
  /** Only this scope; every scope with limits when absent. */
  scope: LimitScope.optional(),
  /** Also every earlier version of that scope (needs `scope`). */
  history: z.boolean().default(false),
});
export type RiskLimitsQuery = z.infer<typeof RiskLimitsQuery>;

export const RiskLimitsList = z.object({
  /** The current version of each scope with limits, `firm` first. */
  scopes: z.array(RiskLimitsVersion),
  /** With `history`: every version of the scope asked, newest first. */
  history: z.array(RiskLimitsVersion).optional(),
});
export type RiskLimitsList = z.infer<typeof RiskLimitsList>;

/** Changes a scope's limits (risk or admin role): PostgreSQL, then the KV bucket every replica watches, then the event, then the reply. */
export const RiskLimitsSetCmd = defineRequest({ type: 'risk.cmd.limits.set', payload: SetRiskLimits, result: RiskLimitsChange });
/** The limits in force, per scope, with a scope's history on request. */
export const RiskLimitsShowQry = defineRequest({ type: 'risk.qry.limits.show', payload: RiskLimitsQuery, result: RiskLimitsList });
/** A scope's limits changed (who, why, before and after). */
export const RiskLimitsChangedEvt = defineEvent({ type: 'risk.evt.limits.changed', payload: RiskLimitsChange, level: 'warning' });

/** KV keys may not contain `:`; the scope is in the value. */
export const riskLimitsKey = (scope: string): string => scope.replaceAll(':', '.');
