import type { MigrationInterface, QueryRunner } from 'typeorm';
import { functionSearchPath } from '@garde/platform';

/**
 * The strategy engine's hot path in one round trip each (bench/bot-fleet: a step with intents spent
 * ~15 ms in five statements of its transaction, and waited ~19 ms for the send fence's connection, which
 * ran three statements per send for the whole replica).
 *
 * - `bot_engine_step`: a step whose starting state and fills the engine already knows (fills seen in
 *   order events, not a read of the gateway): it locks the bot's row, checks that the bot is RUNNING,
 *   that its engine state is still the one the step started from and that none of the fills was applied
 *   before, then records the fills and saves the next state. 'conflict' when either check fails: the
 *   engine then runs the step again in a transaction of its own (BotRepository.engineStep).
 * - `bot_send_fence_enter`: the send fence's try-lock and the RUNNING check after it. Each statement of a
 *   VOLATILE PL/pgSQL function takes a new snapshot, so the state read after the lock sees a STOPPED
 *   committed before the lock was granted, as the second statement used to.
 */
export class BotEngineRoundTrips1765200000000 implements MigrationInterface {
  name = 'BotEngineRoundTrips1765200000000';

  async up(q: QueryRunner): Promise<void> {
    const searchPath = await functionSearchPath(q);
    await q.query(`
      CREATE FUNCTION bot_engine_step(
        p_bot text, p_expected jsonb, p_next jsonb, p_synced_at timestamptz,
        p_order text[], p_trade text[], p_side text[], p_price numeric[], p_quantity numeric[], p_fee numeric[], p_fee_currency text[], p_at timestamptz[]
      ) RETURNS text LANGUAGE plpgsql VOLATILE ${searchPath} AS $$
      DECLARE
        current_state text;
        current_engine jsonb;
      BEGIN
        SELECT state, engine_state INTO current_state, current_engine FROM bot WHERE id = p_bot FOR UPDATE;
        IF current_state IS DISTINCT FROM 'RUNNING' THEN RETURN 'not-running'; END IF;
        IF current_engine IS DISTINCT FROM p_expected THEN RETURN 'conflict'; END IF;
        IF EXISTS (SELECT 1 FROM bot_fill f JOIN unnest(p_order, p_trade) AS x(c, t) ON f.client_order_id = x.c AND f.trade_id = x.t) THEN
          RETURN 'conflict';
        END IF;
        INSERT INTO bot_fill (client_order_id, trade_id, bot_id, side, price, quantity, fee, fee_currency, filled_at)
          SELECT c, t, p_bot, s, p, qty, fee, cur, ts
          FROM unnest(p_order, p_trade, p_side, p_price, p_quantity, p_fee, p_fee_currency, p_at) AS f(c, t, s, p, qty, fee, cur, ts)
          ON CONFLICT DO NOTHING;
        UPDATE bot SET engine_state = p_next, synced_at = p_synced_at WHERE id = p_bot;
        RETURN 'applied';
      END
      $$`);
    await q.query(`
      CREATE FUNCTION bot_send_fence_enter(p_fence text, p_bot text) RETURNS boolean LANGUAGE plpgsql VOLATILE ${searchPath} AS $$
      DECLARE
        current_state text;
      BEGIN
        IF NOT pg_try_advisory_lock_shared(hashtext(p_fence), hashtext(p_bot)) THEN RETURN false; END IF;
        SELECT state INTO current_state FROM bot WHERE id = p_bot;
        IF current_state IS DISTINCT FROM 'RUNNING' THEN
          PERFORM pg_advisory_unlock_shared(hashtext(p_fence), hashtext(p_bot));
          RETURN false;
        END IF;
        RETURN true;
      END
      $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP FUNCTION bot_send_fence_enter(text, text)');
    await q.query(
      'DROP FUNCTION bot_engine_step(text, jsonb, jsonb, timestamptz, text[], text[], text[], numeric[], numeric[], numeric[], text[], timestamptz[])',
    );
  }
}
