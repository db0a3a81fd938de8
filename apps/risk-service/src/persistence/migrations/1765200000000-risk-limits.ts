import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The firm's limits until a person changes them (README, "Risk limits"): enough for paper mode's demo
 * bots, tight enough to stop a fat finger or a runaway bot. Every other scope starts without limits of
 * its own. Notional amounts are in the quote currency (USDT in paper mode).
 */
export const DEFAULT_FIRM_LIMITS = {
  maxOrderNotional: '25000',
  maxOrderQuantity: null,
  maxOpenNotional: '250000',
  maxMessagesPerSecond: 50,
  priceCollarPercent: '10',
  maxReferenceAgeMs: 10_000,
};

/**
 * Versioned risk limits per scope (DESIGN §6): every change is a new row with its actor, reason and
 * time, never an update; the current limits of a scope are its highest version. The table refuses
 * UPDATE, DELETE and TRUNCATE. Seeds the firm's defaults as version 1.
 */
export class RiskLimits1765200000000 implements MigrationInterface {
  name = 'RiskLimits1765200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE risk_limit_version (
        id             bigserial PRIMARY KEY,
        scope          text NOT NULL,
        version        integer NOT NULL CHECK (version > 0),
        limits         jsonb NOT NULL,
        actor          jsonb NOT NULL,
        reason         text NOT NULL,
        changed_at     timestamptz NOT NULL,
        correlation_id text NOT NULL,
        UNIQUE (scope, version)
      )`);
    await q.query(`
      CREATE FUNCTION risk_limit_version_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'risk_limit_version is append-only: % refused', TG_OP
          USING ERRCODE = 'insufficient_privilege',
                HINT = 'limits change by a new version (bin/console risk:limits:set), never in place';
      END $$`);
    await q.query(`
      CREATE TRIGGER risk_limit_version_append_only
        BEFORE UPDATE OR DELETE OR TRUNCATE ON risk_limit_version
        FOR EACH STATEMENT EXECUTE FUNCTION risk_limit_version_refuse_change()`);
    await q.query(
      `INSERT INTO risk_limit_version (scope, version, limits, actor, reason, changed_at, correlation_id)
       VALUES ('firm', 1, $1, $2, $3, now(), 'migration:RiskLimits1765200000000')`,
      [
        JSON.stringify(DEFAULT_FIRM_LIMITS),
        JSON.stringify({ id: 'risk-limits-migration', kind: 'system' }),
        'firm defaults seeded by the risk-limits migration',
      ],
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE risk_limit_version');
    await q.query('DROP FUNCTION risk_limit_version_refuse_change()');
  }
}
