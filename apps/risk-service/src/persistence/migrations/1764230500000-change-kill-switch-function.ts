import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A kill-switch change in one round trip: under contention every round trip to PostgreSQL costs
 * milliseconds, and the kill switch is only as good as its latency. The function serialises changes
 * per scope (advisory lock), writes the current state and the history row, and returns both states.
 */
export class ChangeKillSwitchFunction1764230500000 implements MigrationInterface {
  name = 'ChangeKillSwitchFunction1764230500000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION change_kill_switch(p_scope text, p_state text, p_reason text, p_actor jsonb, p_at timestamptz, p_correlation_id text)
      RETURNS TABLE (previous_state text, changed boolean, scope text, state text, reason text, actor jsonb, since timestamptz, version integer)
      LANGUAGE plpgsql AS $$
      DECLARE
        current kill_switch_scope%ROWTYPE;
      BEGIN
        PERFORM pg_advisory_xact_lock(hashtext('kill-switch:' || p_scope));
        SELECT * INTO current FROM kill_switch_scope k WHERE k.scope = p_scope;
        IF (FOUND AND current.state = p_state) OR (NOT FOUND AND p_state = 'ACTIVE') THEN
          RETURN QUERY SELECT COALESCE(current.state, 'ACTIVE'), false, current.scope, current.state, current.reason, current.actor, current.since, current.version;
          RETURN;
        END IF;
        INSERT INTO kill_switch_scope AS k (scope, state, reason, actor, since, version)
          VALUES (p_scope, p_state, p_reason, p_actor, p_at, COALESCE(current.version, 0) + 1)
          ON CONFLICT ON CONSTRAINT kill_switch_scope_pkey DO UPDATE
            SET state = EXCLUDED.state, reason = EXCLUDED.reason, actor = EXCLUDED.actor, since = EXCLUDED.since, version = EXCLUDED.version;
        INSERT INTO kill_switch_change (scope, from_state, to_state, reason, actor, changed_at, version, correlation_id)
          VALUES (p_scope, COALESCE(current.state, 'ACTIVE'), p_state, p_reason, p_actor, p_at, COALESCE(current.version, 0) + 1, p_correlation_id);
        RETURN QUERY SELECT COALESCE(current.state, 'ACTIVE'), true, p_scope, p_state, p_reason, p_actor, p_at, COALESCE(current.version, 0) + 1;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP FUNCTION change_kill_switch(text, text, text, jsonb, timestamptz, text)');
  }
}
