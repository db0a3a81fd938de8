import type { MigrationInterface, QueryRunner } from 'typeorm';

/** An account halted by a venue ban (HTTP 418) stays halted across restarts until an operator resumes it (RB-004). */
export class RateLimitHalt1764662400000 implements MigrationInterface {
  name = 'RateLimitHalt1764662400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE exchange_account ADD COLUMN rate_limit_halt jsonb');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE exchange_account DROP COLUMN rate_limit_halt');
  }
}
