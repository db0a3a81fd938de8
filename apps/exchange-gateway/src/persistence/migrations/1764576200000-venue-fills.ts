import type { MigrationInterface, QueryRunner } from 'typeorm';

export class VenueFills1764576200000 implements MigrationInterface {
  name = 'VenueFills1764576200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE venue_fill (
        account_id      text NOT NULL,
        trade_id        text NOT NULL,
        client_order_id text NOT NULL REFERENCES venue_order (client_order_id),
        price           numeric NOT NULL CHECK (price > 0),
        quantity        numeric NOT NULL CHECK (quantity > 0),
        fee             numeric NOT NULL CHECK (fee >= 0),
        fee_currency    text,
        executed_at     timestamptz NOT NULL,
        PRIMARY KEY (account_id, trade_id)
      )`);
    await q.query('CREATE INDEX venue_fill_order ON venue_fill (client_order_id)');
    // Open orders are polled when due, like UNKNOWN ones are looked up.
    await q.query(`CREATE INDEX venue_order_poll_due ON venue_order (next_check_at) WHERE state IN ('OPEN', 'PARTIALLY_FILLED', 'PENDING_CANCEL')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX venue_order_poll_due');
    await q.query('DROP TABLE venue_fill');
  }
}
