import type { MigrationInterface, QueryRunner } from 'typeorm';

export class VenueOrders1764576000000 implements MigrationInterface {
  name = 'VenueOrders1764576000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE venue_order (
        client_order_id text PRIMARY KEY,
        venue_order_id  text,
        account_id      text NOT NULL,
        exchange_id     text NOT NULL,
        bot_id          text,
        symbol          text NOT NULL,
        side            text NOT NULL CHECK (side IN ('buy', 'sell')),
        type            text NOT NULL CHECK (type IN ('limit', 'market')),
        quantity        numeric NOT NULL CHECK (quantity > 0),
        price           numeric CHECK (price > 0),
        state           text NOT NULL CHECK (state IN ('PENDING_SUBMIT', 'OPEN', 'PARTIALLY_FILLED', 'PENDING_CANCEL', 'UNKNOWN',
                                                       'FILLED', 'CANCELED', 'REJECTED', 'EXPIRED', 'LOST')),
        filled          numeric NOT NULL DEFAULT 0,
        last_error      text,
        correlation_id  text NOT NULL,
        created_at      timestamptz NOT NULL,
        updated_at      timestamptz NOT NULL
      )`);
    // The orders still in flight: what the settle and tracking loops read.
    await q.query(`CREATE INDEX venue_order_live ON venue_order (account_id, state) WHERE state NOT IN ('FILLED', 'CANCELED', 'REJECTED', 'EXPIRED', 'LOST')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE venue_order');
  }
}
