import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The internal ledger of balances per exchange account and asset, and the reconciliation records
 * (RB-003, RB-012).
 *
 * - `ledger_account`: one row per account, written once, when its opening balance is taken from the
 *   venue; `opened_at` is the venue read time the opening is as of.
 * - `ledger_fill`: every fill applied, once per account and venue trade id (a redelivered fill is a
 *   conflict, applied zero times more).
 * - `ledger_entry`: signed amounts per asset: the opening balances, the legs of each fill (base, quote,
 *   fee), and the manual adjustments with actor and reason. A balance is the sum of the opening, the
 *   adjustments and the fills executed after `opened_at` (those before are in the opening already).
 *
 * The three are append-only: UPDATE, DELETE and TRUNCATE are refused by the database; a correction is
 * a new adjusting entry. `reconciliation_discrepancy` records confirmed differences (only their status
 * changes, when a manual reconciliation clears them; at most one open per account, kind and subject,
 * so two replicas finding the same difference record it once). `reconciliation_schedule` lets one
 * replica at a time run the periodic reconciliation.
 */
export class PortfolioLedger1765350000000 implements MigrationInterface {
  name = 'PortfolioLedger1765350000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE ledger_account (
        account_id     text PRIMARY KEY,
        exchange_id    text NOT NULL,
        opened_at      timestamptz NOT NULL,
        opened_by      jsonb NOT NULL,
        recorded_at    timestamptz NOT NULL,
        correlation_id text NOT NULL
      )`);
    await q.query(`
      CREATE TABLE ledger_fill (
        account_id      text NOT NULL,
        trade_id        text NOT NULL,
        exchange_id     text NOT NULL,
        client_order_id text NOT NULL,
        bot_id          text,
        symbol          text NOT NULL,
        side            text NOT NULL CHECK (side IN ('buy', 'sell')),
        price           numeric NOT NULL CHECK (price > 0),
        quantity        numeric NOT NULL CHECK (quantity > 0),
        fee             numeric NOT NULL CHECK (fee >= 0),
        fee_currency    text,
        executed_at     timestamptz NOT NULL,
        recorded_at     timestamptz NOT NULL,
        message_id      text NOT NULL,
        problem         text,
        PRIMARY KEY (account_id, trade_id)
      )`);
    await q.query('CREATE INDEX ledger_fill_bots ON ledger_fill (account_id, bot_id) WHERE bot_id IS NOT NULL');
    await q.query(`
      CREATE TABLE ledger_entry (
        id             bigserial PRIMARY KEY,
        account_id     text NOT NULL,
        exchange_id    text NOT NULL,
        asset          text NOT NULL,
        amount         numeric NOT NULL,
        kind           text NOT NULL CHECK (kind IN ('opening', 'fill', 'adjustment')),
        effective_at   timestamptz NOT NULL,
        recorded_at    timestamptz NOT NULL,
        trade_id       text,
        leg            text CHECK (leg IN ('base', 'quote', 'fee')),
        actor          jsonb,
        reason         text,
        correlation_id text NOT NULL,
        CHECK ((kind = 'fill') = (trade_id IS NOT NULL AND leg IS NOT NULL)),
        CHECK (kind = 'fill' OR (actor IS NOT NULL AND reason IS NOT NULL)),
        FOREIGN KEY (account_id, trade_id) REFERENCES ledger_fill (account_id, trade_id),
        UNIQUE (account_id, trade_id, leg)
      )`);
    await q.query("CREATE UNIQUE INDEX ledger_entry_one_opening ON ledger_entry (account_id, asset) WHERE kind = 'opening'");
    await q.query('CREATE INDEX ledger_entry_account_asset ON ledger_entry (account_id, asset)');
    await q.query(`
      CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
          USING ERRCODE = 'insufficient_privilege',
                HINT = 'the ledger is corrected by an adjusting entry (bin/console portfolio:reconcile --apply --reason=…), never in place';
      END $$`);
    for (const table of ['ledger_account', 'ledger_fill', 'ledger_entry']) {
      await q.query(`
        CREATE TRIGGER ${table}_append_only
          BEFORE UPDATE OR DELETE OR TRUNCATE ON ${table}
          FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()`);
    }
    await q.query(`
      CREATE TABLE reconciliation_discrepancy (
        id                   bigserial PRIMARY KEY,
        account_id           text NOT NULL,
        exchange_id          text NOT NULL,
        kind                 text NOT NULL CHECK (kind IN ('BALANCE', 'UNKNOWN_VENUE_ORDER', 'MISSING_VENUE_ORDER')),
        subject              text NOT NULL,
        venue_value          numeric,
        ledger_value         numeric,
        difference           numeric,
        tolerance            numeric,
        message              text NOT NULL,
        status               text NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'CLEARED')),
        detected_at          timestamptz NOT NULL,
        correlation_id       text NOT NULL,
        halted_bots          text[] NOT NULL DEFAULT '{}',
        cleared_at           timestamptz,
        cleared_by           jsonb,
        clear_reason         text,
        clear_correlation_id text,
        CHECK ((status = 'CLEARED') = (cleared_at IS NOT NULL AND cleared_by IS NOT NULL AND clear_reason IS NOT NULL))
      )`);
    await q.query("CREATE UNIQUE INDEX reconciliation_discrepancy_one_open ON reconciliation_discrepancy (account_id, kind, subject) WHERE status = 'OPEN'");
    await q.query('CREATE INDEX reconciliation_discrepancy_recent ON reconciliation_discrepancy (detected_at DESC)');
    await q.query(`
      CREATE TABLE reconciliation_schedule (
        name        text PRIMARY KEY,
        last_run_at timestamptz NOT NULL,
        holder      text NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE reconciliation_schedule');
    await q.query('DROP TABLE reconciliation_discrepancy');
    await q.query('DROP TABLE ledger_entry');
    await q.query('DROP TABLE ledger_fill');
    await q.query('DROP TABLE ledger_account');
    await q.query('DROP FUNCTION ledger_refuse_change()');
  }
}
