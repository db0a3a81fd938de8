/**
 * Kill-switch scopes and trading states (DESIGN §3). Pure: no I/O, no clock.
 */
export const TRADING_STATES = ['ACTIVE', 'REDUCING', 'HALTED'] as const;
export type TradingState = (typeof TRADING_STATES)[number];

/** How restrictive a state is: the effective state of an order is the most restrictive covering scope. */
const RESTRICTIVENESS: Record<TradingState, number> = { ACTIVE: 0, REDUCING: 1, HALTED: 2 };

/** Is `a` more restrictive than `b`? */
export function moreRestrictive(a: TradingState, b: TradingState): boolean {
  return RESTRICTIVENESS[a] > RESTRICTIVENESS[b];
}

export const SCOPE_KINDS = ['global', 'exchange', 'bot'] as const;
export type ScopeKind = (typeof SCOPE_KINDS)[number];

/** `global`, `exchange:<exchangeId>` or `bot:<botId>`. */
export type KillSwitchScope = string;

/** Ids inside a scope: letters, digits, `_`, `-` and `.`, 1 to 64 characters, starting with a letter or digit. */
export const SCOPE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const SCOPE_PATTERN = /^(global|(exchange|bot):[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$/;

export type ParsedScope = { kind: 'global' } | { kind: 'exchange' | 'bot'; id: string };

export function parseScope(scope: string): ParsedScope | { error: string } {
  if (scope === 'global') return { kind: 'global' };
  const colon = scope.indexOf(':');
  const kind = colon < 0 ? scope : scope.slice(0, colon);
  if (kind !== 'exchange' && kind !== 'bot') {
    return { error: `unknown scope "${scope}": expected global, exchange:<exchangeId> or bot:<botId>` };
  }
  const id = scope.slice(colon + 1);
  if (colon < 0 || !SCOPE_ID_PATTERN.test(id)) {
    return { error: `invalid ${kind} id in scope "${scope}": 1-64 letters, digits, '_', '-' or '.'` };
  }
  return { kind, id };
}

export const globalScope = (): KillSwitchScope => 'global';
export const exchangeScope = (exchangeId: string): KillSwitchScope => `exchange:${exchangeId}`;
export const botScope = (botId: string): KillSwitchScope => `bot:${botId}`;

/** What an order or a bot is attached to; `botId` is absent for manual orders. */
export interface ScopeTarget {
  exchangeId: string;
  botId?: string | undefined;
}

/** The scopes that cover a target, broadest first. */
export function scopesCovering(target: ScopeTarget): KillSwitchScope[] {
  const scopes = [globalScope(), exchangeScope(target.exchangeId)];
  if (target.botId !== undefined) scopes.push(botScope(target.botId));
  return scopes;
}

export interface ScopeStatus {
  scope: KillSwitchScope;
  state: TradingState;
  reason: string;
}

/**
 * The effective state for a target: the most restrictive state among the scopes covering it,
 * with the scope that imposes it (the broadest one on a tie). Scopes with no status are ACTIVE.
 */
export function effectiveState(
  target: ScopeTarget,
  lookup: (scope: KillSwitchScope) => ScopeStatus | undefined,
): { state: TradingState; imposedBy?: ScopeStatus } {
  let worst: ScopeStatus | undefined;
  for (const scope of scopesCovering(target)) {
    const status = lookup(scope);
    if (!status || status.state === 'ACTIVE') continue;
    if (!worst || moreRestrictive(status.state, worst.state)) worst = status;
  }
  return worst ? { state: worst.state, imposedBy: worst } : { state: 'ACTIVE' };
}

/** Does the target's kill-switch state let a new order through? Cancels are never gated. */
export function orderAllowed(state: TradingState, reducesPosition: boolean): boolean {
  if (state === 'ACTIVE') return true;
  if (state === 'REDUCING') return reducesPosition;
  return false;
}

/** Does `scope` cover the target? (`global` covers everything.) */
export function scopeCovers(scope: KillSwitchScope, target: ScopeTarget): boolean {
  return scopesCovering(target).includes(scope);
}
