import type { MigrationInterface, QueryRunner } from 'typeorm';

/** When the venue last reported on an order: an order it stops reporting on is stuck (RB-005). */
export class VenueSeenAt1764576300000 implements MigrationInterface {
  name = 'VenueSeenAt1764576300000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE venue_order ADD COLUMN venue_seen_at timestamptz');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE venue_order DROP COLUMN venue_seen_at');
  }
}
