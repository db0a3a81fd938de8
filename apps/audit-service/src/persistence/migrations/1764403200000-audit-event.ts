import type { MigrationInterface, QueryRunner } from 'typeorm';

export class AuditEvent1764403200000 implements MigrationInterface {
  name = 'AuditEvent1764403200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE audit_event (
        sequence       bigint PRIMARY KEY CHECK (sequence > 0),
        message_id     uuid NOT NULL UNIQUE,
        type           text NOT NULL,
        level          text NOT NULL CHECK (level IN ('info', 'warning', 'error', 'critical')),
        occurred_at    timestamptz NOT NULL,
        recorded_at    timestamptz NOT NULL,
        producer       text NOT NULL,
        actor_id       text,
        correlation_id text NOT NULL,
        envelope       jsonb NOT NULL,
        canonical      text NOT NULL,
        prev_hash      text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
        hash           text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$')
      )`);
    // Filters of the events query, each ending in sequence for "most recent first".
    await q.query('CREATE INDEX audit_event_type_idx ON audit_event (type, sequence)');
    await q.query('CREATE INDEX audit_event_correlation_idx ON audit_event (correlation_id, sequence)');
    await q.query('CREATE INDEX audit_event_actor_idx ON audit_event (actor_id, sequence) WHERE actor_id IS NOT NULL');
    await q.query('CREATE INDEX audit_event_occurred_at_idx ON audit_event (occurred_at)');
    // The database itself refuses any change: statement-level, so even an UPDATE that matches no row fails.
    await q.query(`
      CREATE FUNCTION audit_event_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP
          USING ERRCODE = 'insufficient_privilege',
                HINT = 'the audit trail is never modified; append a correcting event instead';
      END
      $$`);
    await q.query(`
      CREATE TRIGGER audit_event_append_only
        BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_event
        FOR EACH STATEMENT EXECUTE FUNCTION audit_event_refuse_change()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE audit_event');
    await q.query('DROP FUNCTION audit_event_refuse_change()');
  }
}
