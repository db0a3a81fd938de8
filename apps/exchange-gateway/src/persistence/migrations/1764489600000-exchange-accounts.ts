import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ExchangeAccounts1764489600000 implements MigrationInterface {
  name = 'ExchangeAccounts1764489600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE exchange_account (
        id             text PRIMARY KEY,
        exchange_id    text NOT NULL,
        ccxt_id        text NOT NULL,
        url_override   text,
        sandbox        boolean NOT NULL,
        api_key_sealed text NOT NULL CHECK (api_key_sealed LIKE 'v1.%'),
        secret_sealed  text NOT NULL CHECK (secret_sealed LIKE 'v1.%'),
        api_key_hint   text NOT NULL,
        created_at     timestamptz NOT NULL,
        created_by     text NOT NULL
      )`);
    await q.query('CREATE INDEX exchange_account_exchange_id ON exchange_account (exchange_id)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE exchange_account');
  }
}
