import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The markets of the orders not final (VenueOrderRepository.liveSymbols, every MARKET_DATA_POLL_MS): read
 * by skipping from one market to the next in this index, not by reading every live order.
 */
export class LiveMarkets1764662800000 implements MigrationInterface {
  name = 'LiveMarkets1764662800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX venue_order_live_market ON venue_order (exchange_id, symbol) WHERE state NOT IN ('FILLED', 'CANCELED', 'REJECTED', 'EXPIRED', 'LOST')`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX venue_order_live_market');
  }
}
