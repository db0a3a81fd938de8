import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Actor, ScopeState, TradingState } from '@garde/contracts';
import { KillSwitchScopeRow } from './kill-switch.entities.js';

export interface StateChange {
  current: ScopeState;
  previousState: TradingState;
  changed: boolean;
}

interface ChangeRow {
  previous_state: string;
  changed: boolean;
  scope: string | null;
  state: string;
  reason: string;
  actor: Actor;
  since: Date;
  version: number;
}

/** PostgreSQL side of the kill switch: the current state per scope and the full history. */
@Injectable()
export class KillSwitchRepository {
  constructor(private readonly ds: DataSource) {}

  /**
   * Moves a scope to `to`, serialised per scope, recording the change in the history (one round
   * trip: the `change_kill_switch` function of the migrations). Writes nothing when the scope is
   * already in that state.
   */
  async changeState(input: { scope: string; to: TradingState; reason: string; actor: Actor; correlationId: string; at: Date }): Promise<StateChange> {
    const rows = await this.ds.query<ChangeRow[]>('SELECT * FROM change_kill_switch($1, $2, $3, $4, $5, $6)', [
      input.scope,
      input.to,
      input.reason,
      JSON.stringify(input.actor),
      input.at,
      input.correlationId,
    ]);
    const row = rows[0];
    if (!row) throw new Error('change_kill_switch returned no row');
    const previousState = row.previous_state as TradingState;
    if (row.scope === null) return { current: neverSet(input.scope), previousState, changed: false };
    const current: ScopeState = {
      scope: row.scope,
      state: row.state as TradingState,
      reason: row.reason,
      actor: row.actor,
      since: row.since.toISOString(),
      version: row.version,
    };
    return { current, previousState, changed: row.changed };
  }

  /**
   * Records a state the KV bucket holds and this database does not (an activation made while it was
   * unreachable): the scope's current state becomes exactly that state, version included, with its
   * history row, when the database's version of the scope is older. False when it was not.
   */
  async recordFromBucket(state: ScopeState, correlationId: string): Promise<boolean> {
    return this.ds.transaction(async (em) => {
      await em.query("SELECT pg_advisory_xact_lock(hashtext('kill-switch:' || $1))", [state.scope]);
      const [current] = await em.query<Array<{ state: string; version: number }>>('SELECT state, version FROM kill_switch_scope WHERE scope = $1', [
        state.scope,
      ]);
      if (current && current.version >= state.version) return false;
      const actor = JSON.stringify(state.actor);
      await em.query(
        `INSERT INTO kill_switch_scope AS k (scope, state, reason, actor, since, version) VALUES ($1, $2, $3, $4::jsonb, $5, $6)
           ON CONFLICT ON CONSTRAINT kill_switch_scope_pkey DO UPDATE
           SET state = EXCLUDED.state, reason = EXCLUDED.reason, actor = EXCLUDED.actor, since = EXCLUDED.since, version = EXCLUDED.version`,
        [state.scope, state.state, state.reason, actor, state.since, state.version],
      );
      await em.query(
        `INSERT INTO kill_switch_change (scope, from_state, to_state, reason, actor, changed_at, version, correlation_id)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8)`,
        [state.scope, current?.state ?? 'ACTIVE', state.state, state.reason, actor, state.since, state.version, correlationId],
      );
      return true;
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
