import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Bots1764316800000 implements MigrationInterface {
  name = 'Bots1764316800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE bot (
        id           text PRIMARY KEY,
        name         text NOT NULL UNIQUE,
        strategy     text NOT NULL,
        parameters   jsonb NOT NULL,
        exchange_id  text NOT NULL,
        symbol       text NOT NULL,
        state        text NOT NULL CHECK (state IN ('CREATED', 'RUNNING', 'PAUSED', 'HALTED', 'ERROR', 'STOPPED')),
        state_reason text NOT NULL,
        state_actor  text NOT NULL,
        state_since  timestamptz NOT NULL,
        created_at   timestamptz NOT NULL,
        version      integer NOT NULL CHECK (version > 0)
      )`);
    // A kill switch on exchange:X selects the haltable bots of X through this index.
    await q.query('CREATE INDEX bot_exchange_state_idx ON bot (exchange_id, state)');
    await q.query(`
      CREATE TABLE bot_transition (
        id             bigserial PRIMARY KEY,
        bot_id         text NOT NULL REFERENCES bot (id),
        from_state     text,
        to_state       text NOT NULL,
        reason         text NOT NULL,
        actor          jsonb NOT NULL,
        scope          text,
        at             timestamptz NOT NULL,
        correlation_id text NOT NULL
      )`);
    await q.query('CREATE INDEX bot_transition_bot_idx ON bot_transition (bot_id, id)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE bot_transition');
    await q.query('DROP TABLE bot');
  }
}
