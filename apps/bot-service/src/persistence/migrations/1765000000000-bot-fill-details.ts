import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What each fill a bot applied was (side, price, base quantity, fee and its currency, venue time), so
 * that `bot:status` computes the bot's position and PnL from its own records.
 *
 * Rows applied before this migration keep these columns null: the gateway only re-sends a bot's fills of
 * recently changed orders, so they cannot be filled in later. `bot:status` leaves them out of the
 * position and counts them (`position.fillsWithoutDetails`), so an incomplete position says it is.
 */
export class BotFillDetails1765000000000 implements MigrationInterface {
  name = 'BotFillDetails1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE bot_fill
      ADD COLUMN side         text CHECK (side IN ('buy', 'sell')),
      ADD COLUMN price        numeric CHECK (price >= 0),
      ADD COLUMN quantity     numeric CHECK (quantity > 0),
      ADD COLUMN fee          numeric CHECK (fee >= 0),
      ADD COLUMN fee_currency text,
      ADD COLUMN filled_at    timestamptz,
      ADD CONSTRAINT bot_fill_details_together CHECK (
        (price IS NULL) = (quantity IS NULL) AND (price IS NULL) = (fee IS NULL) AND (price IS NULL) = (filled_at IS NULL)
      )`);
    // bot:status reads the fills of the bots it lists, in the order they were executed.
    await q.query('CREATE INDEX bot_fill_bot_filled_idx ON bot_fill (bot_id, filled_at)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX bot_fill_bot_filled_idx');
    await q.query(`ALTER TABLE bot_fill DROP CONSTRAINT bot_fill_details_together,
      DROP COLUMN side, DROP COLUMN price, DROP COLUMN quantity, DROP COLUMN fee, DROP COLUMN fee_currency, DROP COLUMN filled_at`);
  }
}
