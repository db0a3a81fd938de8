import type { MigrationInterface, QueryRunner } from 'typeorm';

export class KillSwitch1764230400000 implements MigrationInterface {
  name = 'KillSwitch1764230400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE kill_switch_scope (
        scope   text PRIMARY KEY,
        state   text NOT NULL CHECK (state IN ('ACTIVE', 'REDUCING', 'HALTED')),
        reason  text NOT NULL,
        actor   jsonb NOT NULL,
        since   timestamptz NOT NULL,
        version integer NOT NULL CHECK (version > 0)
      )`);
    await q.query(`
      CREATE TABLE kill_switch_change (
        id             bigserial PRIMARY KEY,
        scope          text NOT NULL,
        from_state     text NOT NULL,
        to_state       text NOT NULL,
        reason         text NOT NULL,
        actor          jsonb NOT NULL,
        changed_at     timestamptz NOT NULL,
        version        integer NOT NULL,
        correlation_id text NOT NULL,
        UNIQUE (scope, version)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE kill_switch_change');
    await q.query('DROP TABLE kill_switch_scope');
  }
}
