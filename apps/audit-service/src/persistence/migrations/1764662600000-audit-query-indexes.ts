import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Indexes the operators' queries use: `audit:errors` (level and time) and `audit:trail --order` (the envelope). */
export class AuditQueryIndexes1764662600000 implements MigrationInterface {
  name = 'AuditQueryIndexes1764662600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX audit_event_errors_idx ON audit_event (sequence) WHERE level IN ('error', 'critical')`);
    await q.query('CREATE INDEX audit_event_envelope_idx ON audit_event USING gin (envelope jsonb_path_ops)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX audit_event_envelope_idx');
    await q.query('DROP INDEX audit_event_errors_idx');
  }
}
