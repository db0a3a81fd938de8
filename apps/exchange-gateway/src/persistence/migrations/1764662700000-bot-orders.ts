import type { MigrationInterface, QueryRunner } from 'typeorm';

/** A bot's orders (gateway.qry.order.list), read by bot id and recency. */
export class BotOrders1764662700000 implements MigrationInterface {
  name = 'BotOrders1764662700000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE INDEX venue_order_bot ON venue_order (bot_id, updated_at) WHERE bot_id IS NOT NULL');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX venue_order_bot');
  }
}
