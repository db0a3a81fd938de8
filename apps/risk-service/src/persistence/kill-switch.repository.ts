import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Actor, ScopeState, TradingState } from '@garde/contracts';
import { KillSwitchChangeRow, KillSwitchScopeRow } from './kill-switch.entities.js';

export interface StateChange {
  current: ScopeState;
  previousState: TradingState;
  changed: boolean;
}

/** PostgreSQL side of the kill switch: the current state per scope and the full history. */
@Injectable()
export class KillSwitchRepository {
  constructor(private readonly ds: DataSource) {}

  /**
   * Moves a scope to `to` in one transaction (serialised per scope), recording the change in the
   * history. Writes nothing when the scope is already in that state.
   */
  async changeState(input: { scope: string; to: TradingState; reason: string; actor: Actor; correlationId: string; at: Date }): Promise<StateChange> {
    return this.ds.transaction(async (em) => {
      await em.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`kill-switch:${input.scope}`]);
      const existing = await em.findOneBy(KillSwitchScopeRow, { scope: input.scope });
      const previousState = (existing?.state ?? 'ACTIVE') as TradingState;
      if (existing && previousState === input.to) return { current: toScopeState(existing), previousState, changed: false };
      if (!existing && input.to === 'ACTIVE') {
        return { current: neverSet(input.scope), previousState, changed: false };
      }
      const row = em.create(KillSwitchScopeRow, {
        scope: input.scope,
        state: input.to,
        reason: input.reason,
        actor: input.actor,
        since: input.at,
        version: (existing?.version ?? 0) + 1,
      });
      await em.save(row);
      await em.insert(KillSwitchChangeRow, {
        scope: input.scope,
        fromState: previousState,
        toState: input.to,
        reason: input.reason,
        actor: input.actor,
        changedAt: input.at,
        version: row.version,
        correlationId: input.correlationId,
      });
      return { current: toScopeState(row), previousState, changed: true };
    });
  }

  async list(): Promise<ScopeState[]> {
    const rows = await this.ds.getRepository(KillSwitchScopeRow).find({ order: { scope: 'ASC' } });
    return rows.map(toScopeState);
  }

  async get(scope: string): Promise<ScopeState> {
    const row = await this.ds.getRepository(KillSwitchScopeRow).findOneBy({ scope });
    return row ? toScopeState(row) : neverSet(scope);
  }
}

function toScopeState(row: KillSwitchScopeRow): ScopeState {
  return {
    scope: row.scope,
    state: row.state as TradingState,
    reason: row.reason,
    actor: row.actor as Actor,
    since: row.since.toISOString(),
    version: row.version,
  };
}

/** A scope nobody ever set: ACTIVE, version 0. */
export function neverSet(scope: string): ScopeState {
  return { scope, state: 'ACTIVE', reason: 'never activated', actor: { id: 'system', kind: 'system' }, since: new Date(0).toISOString(), version: 0 };
}
