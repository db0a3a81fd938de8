import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The strategy engine's state per bot (strategy state, intents still to send, refused orders to report),
 * when it last read the gateway, and the fills it has applied (each exactly once).
 */
export class BotEngine1764662800000 implements MigrationInterface {
  name = 'BotEngine1764662800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE bot ADD COLUMN engine_state jsonb, ADD COLUMN synced_at timestamptz');
    await q.query(`CREATE TABLE bot_fill (
      client_order_id text NOT NULL,
      trade_id        text NOT NULL,
      bot_id          text NOT NULL REFERENCES bot (id),
      applied_at      timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (client_order_id, trade_id)
    )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE bot_fill');
    await q.query('ALTER TABLE bot DROP COLUMN engine_state, DROP COLUMN synced_at');
  }
}
