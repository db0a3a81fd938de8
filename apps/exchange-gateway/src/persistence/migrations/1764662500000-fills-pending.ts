import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Fills owed: set in the same UPDATE that raises an order's filled quantity, cleared once its recorded
 * executions add up to it. An order settled FILLED by a lookup, or whose fills were not read before the
 * process died, keeps the flag until they are.
 */
export class FillsPending1764662500000 implements MigrationInterface {
  name = 'FillsPending1764662500000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE venue_order ADD COLUMN fills_pending boolean NOT NULL DEFAULT false');
    await q.query(`UPDATE venue_order o SET fills_pending = true
                    WHERE o.filled > (SELECT COALESCE(sum(f.quantity), 0) FROM venue_fill f WHERE f.client_order_id = o.client_order_id)`);
    await q.query('CREATE INDEX venue_order_fills_pending ON venue_order (updated_at) WHERE fills_pending');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX venue_order_fills_pending');
    await q.query('ALTER TABLE venue_order DROP COLUMN fills_pending');
  }
}
