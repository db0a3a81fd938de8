import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Lookups of UNKNOWN orders: how many so far, and when the next one is due. */
export class OrderLookups1764576100000 implements MigrationInterface {
  name = 'OrderLookups1764576100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE venue_order ADD COLUMN lookups integer NOT NULL DEFAULT 0, ADD COLUMN next_check_at timestamptz');
    await q.query(`CREATE INDEX venue_order_unknown_due ON venue_order (next_check_at) WHERE state = 'UNKNOWN'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX venue_order_unknown_due');
    await q.query('ALTER TABLE venue_order DROP COLUMN lookups, DROP COLUMN next_check_at');
  }
}
