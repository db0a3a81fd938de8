/**
 * Risk limits (DESIGN §6): what each scope allows, and which scope's value applies to an order.
 * Pure: no I/O, no clock.
 *
 * Scopes: `firm` (everything), `exchange:<exchangeId>`, `bot:<botId>`, `instrument:<exchangeId>:<BASE/QUOTE>`.
 * How each limit applies:
 * - per order (`maxOrderNotional`, `maxOrderQuantity`, `priceCollarPercent`, `maxReferenceAgeMs`): the
 *   strictest value among the scopes that cover the order (firm, its exchange, its instrument, its bot);
 * - `maxOpenNotional`: each covering scope on its own aggregate (the firm's on everything, an exchange's
 *   on its instruments, an instrument's on every bot's orders of it, a bot's on its own);
 * - `maxMessagesPerSecond`: counted per bot and per exchange account. A bot's limit is its `bot:` scope's
 *   value, else the firm's; an account's is its exchange's value, else the firm's (a firm value is the
 *   default each bot and each account gets; a bot or exchange may be given more or less than it).
 * - `maxDrawdown`, `maxDailyLoss` (loss limits, see `loss-limits.ts`): a bot's value on the bot's own
 *   equity, the firm's on the firm's equity (everyone's); beyond one, risk-service halts that bot's
 *   kill-switch scope, or `global` for the firm. Only on the firm and bot scopes.
 * - `maxDenialsPerMinute`, `maxFillsPerMinute` (runaway bot): counted per bot over the last minute; a
 *   bot's limit is its `bot:` scope's value, else the firm's (the default each bot gets). Only on the
 *   firm and bot scopes.
 */
import { Decimal } from '../decimal-math.js';

export const LIMIT_SCOPE_KINDS = ['firm', 'exchange', 'bot', 'instrument'] as const;
export type LimitScopeKind = (typeof LIMIT_SCOPE_KINDS)[number];

const ID = '[A-Za-z0-9][A-Za-z0-9_.-]{0,63}';
const SYMBOL = '[A-Z0-9]{1,20}/[A-Z0-9]{1,20}';
/** `firm`, `exchange:<exchangeId>`, `bot:<botId>` or `instrument:<exchangeId>:<BASE/QUOTE>`. */
export const LIMIT_SCOPE_PATTERN = new RegExp(`^(firm|(exchange|bot):${ID}|instrument:${ID}:${SYMBOL})$`);

export type ParsedLimitScope =
  { kind: 'firm' } | { kind: 'exchange'; exchangeId: string } | { kind: 'bot'; botId: string } | { kind: 'instrument'; exchangeId: string; symbol: string };

export function parseLimitScope(scope: string): ParsedLimitScope | { error: string } {
  if (!LIMIT_SCOPE_PATTERN.test(scope)) {
    return { error: `invalid limit scope "${scope}": expected firm, exchange:<exchangeId>, bot:<botId> or instrument:<exchangeId>:<BASE/QUOTE>` };
  }
  if (scope === 'firm') return { kind: 'firm' };
  const [kind, id, symbol] = scope.split(':') as [string, string, string | undefined];
  if (kind === 'exchange') return { kind, exchangeId: id };
  if (kind === 'bot') return { kind, botId: id };
  return { kind: 'instrument', exchangeId: id, symbol: symbol! };
}

export const FIRM_SCOPE = 'firm';
export const exchangeLimitScope = (exchangeId: string): string => `exchange:${exchangeId}`;
export const botLimitScope = (botId: string): string => `bot:${botId}`;
export const instrumentLimitScope = (exchangeId: string, symbol: string): string => `instrument:${exchangeId}:${symbol}`;

/** Every limit a scope can set; `null` = this scope sets none (others may). */
export interface RiskLimits {
  /** Largest notional of one order, in its quote currency (quantity × limit price, or × the reference price for a market order). */
  readonly maxOrderNotional: Decimal | null;
  /** Largest base quantity of one order. */
  readonly maxOrderQuantity: Decimal | null;
  /** Largest exposure of the scope, in quote: open orders and positions, valued at the reference price (see `exposure-book.ts`). */
  readonly maxOpenNotional: Decimal | null;
  /** Most orders approved in any one second, per bot and per exchange account (see above). */
  readonly maxMessagesPerSecond: number | null;
  /** How far, in percent of the reference price, a limit price may cross the market: a buy above, a sell below. */
  readonly priceCollarPercent: Decimal | null;
  /** Oldest a reference price may be, in milliseconds, for an order to be checked against it. */
  readonly maxReferenceAgeMs: number | null;
  /** Largest fall of the equity (realized + unrealized PnL − fees) from its peak, in quote: the bot's, or the firm's at the firm scope. */
  readonly maxDrawdown: Decimal | null;
  /** Largest loss since 00:00 UTC (equity now against equity then), in quote: the bot's, or the firm's at the firm scope. */
  readonly maxDailyLoss: Decimal | null;
  /** Most orders of one bot denied within a minute (runaway bot): the bot's value, else the firm's. */
  readonly maxDenialsPerMinute: number | null;
  /** Most fills of one bot within a minute (runaway bot): the bot's value, else the firm's. */
  readonly maxFillsPerMinute: number | null;
}
export type LimitName = keyof RiskLimits;
export const LIMIT_NAMES: readonly LimitName[] = [
  'maxOrderNotional',
  'maxOrderQuantity',
  'maxOpenNotional',
  'maxMessagesPerSecond',
  'priceCollarPercent',
  'maxReferenceAgeMs',
  'maxDrawdown',
  'maxDailyLoss',
  'maxDenialsPerMinute',
  'maxFillsPerMinute',
];

/** The limits that trip the kill switch by themselves (loss limits and runaway bot), held only by the firm and bot scopes. */
export const AUTO_HALT_LIMITS = ['maxDrawdown', 'maxDailyLoss', 'maxDenialsPerMinute', 'maxFillsPerMinute'] as const satisfies readonly LimitName[];
export type AutoHaltLimitName = (typeof AUTO_HALT_LIMITS)[number];

export const NO_LIMITS: RiskLimits = {
  maxOrderNotional: null,
  maxOrderQuantity: null,
  maxOpenNotional: null,
  maxMessagesPerSecond: null,
  priceCollarPercent: null,
  maxReferenceAgeMs: null,
  maxDrawdown: null,
  maxDailyLoss: null,
  maxDenialsPerMinute: null,
  maxFillsPerMinute: null,
};

/** The firm must always set these: without them no reference price could be judged (fail closed). */
export const REQUIRED_FIRM_LIMITS: readonly LimitName[] = ['priceCollarPercent', 'maxReferenceAgeMs'];

/** Largest collar accepted (a sell collar of 100 % or more no longer limits sells). */
export const MAX_COLLAR_PERCENT = Decimal.of('1000');

/**
 * What is wrong with a scope's complete set of limits (empty when none): a rate at an instrument
 * scope (rates are per bot and per account), a firm without the limits it must keep, a collar beyond
 * 1000 %. Amounts are positive by construction (the contracts parse them).
 */
export function limitProblems(kind: LimitScopeKind, limits: RiskLimits): string[] {
  const problems: string[] = [];
  if (kind === 'instrument' && limits.maxMessagesPerSecond !== null) {
    problems.push(
      'maxMessagesPerSecond cannot be set on an instrument scope: message rates are per bot (bot: or firm scope) and per account (exchange: or firm scope)',
    );
  }
  if (kind === 'exchange' || kind === 'instrument') {
    for (const name of AUTO_HALT_LIMITS) {
      if (limits[name] !== null)
        problems.push(`${name} cannot be set on an ${kind} scope: loss and runaway limits are per bot (bot: scope) and firm-wide (firm scope)`);
    }
  }
  if (kind === 'firm') {
    for (const name of REQUIRED_FIRM_LIMITS)
      if (limits[name] === null) problems.push(`the firm scope must keep a ${name} (fail closed: it cannot be removed, only changed)`);
  }
  if (limits.priceCollarPercent?.gt(MAX_COLLAR_PERCENT)) problems.push(`priceCollarPercent ${limits.priceCollarPercent.toString()} is more than 1000`);
  return problems;
}

/** What an order is checked against: its exchange, market, account and bot (absent for a manual order). */
export interface LimitTarget {
  readonly exchangeId: string;
  readonly symbol: string;
  readonly botId?: string | undefined;
}

/** The limit scopes covering an order, broadest first. */
export function limitScopesCovering(target: LimitTarget): string[] {
  const scopes = [FIRM_SCOPE, exchangeLimitScope(target.exchangeId), instrumentLimitScope(target.exchangeId, target.symbol)];
  if (target.botId !== undefined) scopes.push(botLimitScope(target.botId));
  return scopes;
}

/** A limit's value and the scope that sets it. */
export interface AppliedLimit<T> {
  readonly value: T;
  readonly scope: string;
}

export type LimitLookup = (scope: string) => RiskLimits | undefined;

/** The strictest (smallest) value of one per-order limit among the covering scopes; the broadest scope on a tie. */
export function strictest<N extends 'maxOrderNotional' | 'maxOrderQuantity' | 'priceCollarPercent'>(
  name: N,
  target: LimitTarget,
  lookup: LimitLookup,
): AppliedLimit<Decimal> | undefined {
  let best: AppliedLimit<Decimal> | undefined;
  for (const scope of limitScopesCovering(target)) {
    const value = lookup(scope)?.[name];
    if (value && (!best || value.lt(best.value))) best = { value, scope };
  }
  return best;
}

/** The strictest reference age among the covering scopes. */
export function strictestReferenceAge(target: LimitTarget, lookup: LimitLookup): AppliedLimit<number> | undefined {
  let best: AppliedLimit<number> | undefined;
  for (const scope of limitScopesCovering(target)) {
    const value = lookup(scope)?.maxReferenceAgeMs;
    if (value != null && (!best || value < best.value)) best = { value, scope };
  }
  return best;
}

/** A loss limit (`maxDrawdown`, `maxDailyLoss`) of one scope (`firm` or `bot:<id>`): its own value only, never another scope's. */
export function ownLossLimit(name: 'maxDrawdown' | 'maxDailyLoss', scope: string, lookup: LimitLookup): AppliedLimit<Decimal> | undefined {
  const value = lookup(scope)?.[name] ?? null;
  return value === null ? undefined : { value, scope };
}

/** A runaway limit of a bot: its `bot:` scope's value, else the firm's. */
export function runawayLimit(name: 'maxDenialsPerMinute' | 'maxFillsPerMinute', botId: string, lookup: LimitLookup): AppliedLimit<number> | undefined {
  const own = lookup(botLimitScope(botId))?.[name] ?? null;
  if (own !== null) return { value: own, scope: botLimitScope(botId) };
  const firm = lookup(FIRM_SCOPE)?.[name] ?? null;
  return firm === null ? undefined : { value: firm, scope: FIRM_SCOPE };
}

/** The message-rate limits of an order's bot (none for a manual order) and of its exchange account. */
export function messageRateLimits(
  target: { exchangeId: string; botId?: string | undefined },
  lookup: LimitLookup,
): { bot?: AppliedLimit<number>; account?: AppliedLimit<number> } {
  const firm = lookup(FIRM_SCOPE)?.maxMessagesPerSecond ?? null;
  const own = (scope: string): AppliedLimit<number> | undefined => {
    const value = lookup(scope)?.maxMessagesPerSecond ?? null;
    if (value !== null) return { value, scope };
    return firm !== null ? { value: firm, scope: FIRM_SCOPE } : undefined;
  };
  const account = own(exchangeLimitScope(target.exchangeId));
  const bot = target.botId !== undefined ? own(botLimitScope(target.botId)) : undefined;
  return { ...(bot ? { bot } : {}), ...(account ? { account } : {}) };
}
