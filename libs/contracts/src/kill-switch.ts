import { z } from 'zod';
import { SCOPE_PATTERN, TRADING_STATES } from '@garde/domain';
import { Actor } from './envelope.js';
import { defineEvent, defineRequest, defineSignal } from './catalog.js';

/** `global`, `exchange:<exchangeId>` or `bot:<botId>` (ids: 1-64 of letters, digits, `_`, `-`, `.`). */
export const KillSwitchScope = z.string().regex(SCOPE_PATTERN, 'expected global, exchange:<exchangeId> or bot:<botId>');
export type KillSwitchScope = z.infer<typeof KillSwitchScope>;

/** ACTIVE (normal), REDUCING (only orders that shrink a position), HALTED (no new order). */
export const TradingState = z.enum(TRADING_STATES);
export type TradingState = z.infer<typeof TradingState>;

/** Why a kill-switch change was made: mandatory, said by a person or by the automatic trigger. */
export const Reason = z.string().trim().min(3, 'a reason of at least 3 characters is required').max(500);

/** The current state of one scope, as stored in PostgreSQL and in the KV bucket. */
export const ScopeState = z.object({
  /** The scope this state applies to. */
  scope: KillSwitchScope,
  /** Its trading state. */
  state: TradingState,
  /** Why it is in this state. */
  reason: z.string(),
  /** Who put it in this state. */
  actor: Actor,
  /** When it entered this state (ISO-8601 UTC). */
  since: z.iso.datetime({ offset: true }),
  /** Monotonic version of this scope's state, +1 per change. */
  version: z.number().int().nonnegative(),
});
export type ScopeState = z.infer<typeof ScopeState>;

export const ActivateKillSwitch = z.object({
  /** Scope to stop. */
  scope: KillSwitchScope,
  /** Why: mandatory. */
  reason: Reason,
  /** HALTED (default): nothing new passes; REDUCING: only orders that reduce a position pass. */
  state: z.enum(['HALTED', 'REDUCING']).default('HALTED'),
});
export type ActivateKillSwitch = z.infer<typeof ActivateKillSwitch>;

export const DeactivateKillSwitch = z.object({
  /** Scope to put back to ACTIVE. */
  scope: KillSwitchScope,
  /** Why: mandatory. */
  reason: Reason,
});
export type DeactivateKillSwitch = z.infer<typeof DeactivateKillSwitch>;

export const KillSwitchStatusQuery = z.object({
  /** Only this scope; all scopes ever set when absent. */
  scope: KillSwitchScope.optional(),
});
export type KillSwitchStatusQuery = z.infer<typeof KillSwitchStatusQuery>;

export const KillSwitchStatus = z.object({
  /** Every scope that has a recorded state (scopes never set are ACTIVE), `global` first. */
  scopes: z.array(ScopeState),
  /**
   * Set when risk-service could not reach its database: the states are then the KV bucket's (what the
   * gateway and the bots enforce), and this says why.
   */
  note: z.string().optional(),
});
export type KillSwitchStatus = z.infer<typeof KillSwitchStatus>;

/** Result of an activation or deactivation: the new state and the one before it. */
export const KillSwitchChange = z.object({
  /** The scope's state after the change. */
  current: ScopeState,
  /** Its state before the change (ACTIVE when it had never been set). */
  previousState: TradingState,
  /** False when the scope was already in the requested state (nothing was written). */
  changed: z.boolean(),
  /**
   * Set when risk-service could not reach its database: the activation is in force all the same (written
   * to the KV bucket the gateway and the bots act on, and published), and recorded in the database as
   * soon as it is back. Says why it could not be recorded yet. A deactivation is never made this way.
   */
  unrecorded: z.string().optional(),
});
export type KillSwitchChange = z.infer<typeof KillSwitchChange>;

export const KillSwitchActivateCmd = defineRequest({
  type: 'risk.cmd.killswitch.activate',
  payload: ActivateKillSwitch,
  result: KillSwitchChange,
});
export const KillSwitchDeactivateCmd = defineRequest({
  type: 'risk.cmd.killswitch.deactivate',
  payload: DeactivateKillSwitch,
  result: KillSwitchChange,
});
export const KillSwitchStatusQry = defineRequest({
  type: 'risk.qry.killswitch.status',
  payload: KillSwitchStatusQuery,
  result: KillSwitchStatus,
});

export const KillSwitchActivatedEvt = defineEvent({
  type: 'risk.evt.killswitch.activated',
  payload: KillSwitchChange,
  level: 'critical',
});
export const KillSwitchDeactivatedEvt = defineEvent({
  type: 'risk.evt.killswitch.deactivated',
  payload: KillSwitchChange,
  level: 'warning',
});

/** An activation risk-service has accepted and is recording (KillSwitchActivatingSig). */
export const KillSwitchActivating = z.object({
  /** The scope being stopped. */
  scope: KillSwitchScope,
  /** The state it is being put in. */
  state: z.enum(['HALTED', 'REDUCING']),
  /** The activation's reason. */
  reason: Reason,
  /** Who asked for it. */
  actor: Actor,
  /** When risk-service accepted it (ISO-8601 UTC, risk-service's clock, like the recorded state's `since`). */
  requestedAt: z.iso.datetime({ offset: true }),
});
export type KillSwitchActivating = z.infer<typeof KillSwitchActivating>;

/**
 * Sent by risk-service as soon as it has accepted an activation, before it records it (PostgreSQL, then
 * the KV bucket): every kill-switch view applies it at once as a pending state, so orders are refused
 * without waiting for the commit. The bucket's write of the activation (or any later write of the
 * scope) replaces it; one that is never confirmed (the activation failed) ends after a few seconds.
 * Deactivations have no signal: trading resumes only once the change is recorded.
 */
export const KillSwitchActivatingSig = defineSignal({ type: 'risk.sig.killswitch.activating', payload: KillSwitchActivating });
