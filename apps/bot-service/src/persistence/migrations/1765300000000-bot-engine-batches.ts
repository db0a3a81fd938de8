import type { MigrationInterface, QueryRunner } from 'typeorm';
import { functionSearchPath } from '@garde/platform';
import { BotEngineRoundTrips1765200000000 } from './1765200000000-bot-engine-round-trips.js';

/**
 * The strategy engine's statements for many bots at once (bench/bot-fleet: a market's tick wakes its
 * bots together, and their steps queued for pooled connections, three statements each). BotRepository
 * groups the calls made together (libs/platform Batcher) into one call of these.
 *
 * - `bot_engine_steps` replaces `bot_engine_step` (one bot): for each step of `p_steps` (a JSON array of
 *   `{ bot, expected, next, syncedAt, fills: [{ c, t, s, p, q, fee, cur, at }] }`) it answers
 *   'not-running' (the bot is not RUNNING), 'conflict' (its engine state is not the one the step started
 *   from, or one of its fills was recorded before: the engine runs that step again in a transaction of
 *   its own) or 'applied' (its fills recorded, its next state saved). The bots' rows are locked first, in
 *   id order (every statement that locks several bots' rows does, so none deadlocks); the checks come in
 *   a statement of their own after the locks, so they see what other steps of these bots committed.
 * - `bot_send_fences`: lets go of the send fences of `p_unlock`, then enters those of `p_enter`
 *   (`bot_send_fence_enter`, a try-lock and the RUNNING check after it), answering one boolean each.
 *   The unlocks go first: a bot's next send only starts once its previous one has let go.
 * - `bot_save_engines`: saves the engine states of several bots, rows locked in id order.
 */
export class BotEngineBatches1765300000000 implements MigrationInterface {
  name = 'BotEngineBatches1765300000000';

  async up(q: QueryRunner): Promise<void> {
    const searchPath = await functionSearchPath(q);
    // A few rows of a batch against whole tables: each by its primary key, whatever the statistics say
    // (young ones, in a fresh database, got a hash over all of bot_fill for every step).
    const byKey = 'SET enable_hashjoin = off SET enable_mergejoin = off';
    await q.query(`
      CREATE FUNCTION bot_engine_steps(p_steps jsonb) RETURNS TABLE (bot_id text, outcome text)
      LANGUAGE plpgsql VOLATILE ${searchPath} ${byKey} AS $$
      DECLARE
        v_bots text[];
        v_outcomes text[];
      BEGIN
        PERFORM 1 FROM bot WHERE id IN (SELECT s->>'bot' FROM jsonb_array_elements(p_steps) s) ORDER BY id FOR UPDATE;
        -- A statement of its own, after the locks: it sees what other steps of these bots committed meanwhile.
        SELECT array_agg(i.bot), array_agg(CASE
            WHEN b.state IS DISTINCT FROM 'RUNNING' THEN 'not-running'
            WHEN b.engine_state IS DISTINCT FROM i.expected THEN 'conflict'
            WHEN EXISTS (
              SELECT 1 FROM jsonb_to_recordset(i.fills) AS f(c text, t text) JOIN bot_fill x ON x.client_order_id = f.c AND x.trade_id = f.t
            ) THEN 'conflict'
            ELSE 'applied' END)
          INTO v_bots, v_outcomes
          FROM jsonb_to_recordset(p_steps) AS i(bot text, expected jsonb, fills jsonb) LEFT JOIN bot b ON b.id = i.bot;
        INSERT INTO bot_fill (client_order_id, trade_id, bot_id, side, price, quantity, fee, fee_currency, filled_at)
          SELECT f.c, f.t, i.bot, f.s, f.p, f.q, f.fee, f.cur, f.at
          FROM jsonb_to_recordset(p_steps) AS i(bot text, fills jsonb)
          JOIN unnest(v_bots, v_outcomes) AS o(bot, outcome) ON o.bot = i.bot AND o.outcome = 'applied'
          CROSS JOIN LATERAL jsonb_to_recordset(i.fills) AS f(c text, t text, s text, p numeric, q numeric, fee numeric, cur text, at timestamptz)
          ON CONFLICT DO NOTHING;
        UPDATE bot SET engine_state = i.next, synced_at = i."syncedAt"
          FROM jsonb_to_recordset(p_steps) AS i(bot text, next jsonb, "syncedAt" timestamptz)
          JOIN unnest(v_bots, v_outcomes) AS o(bot, outcome) ON o.bot = i.bot AND o.outcome = 'applied'
          WHERE bot.id = i.bot;
        RETURN QUERY SELECT * FROM unnest(v_bots, v_outcomes);
      END
      $$`);
    await q.query(
      'DROP FUNCTION bot_engine_step(text, jsonb, jsonb, timestamptz, text[], text[], text[], numeric[], numeric[], numeric[], text[], timestamptz[])',
    );
    await createSendFences(q, searchPath);
    await q.query(`
      CREATE FUNCTION bot_save_engines(p_bot text[], p_engine jsonb[]) RETURNS void
      LANGUAGE plpgsql VOLATILE ${searchPath} ${byKey} AS $$
      BEGIN
        PERFORM 1 FROM bot WHERE id = ANY(p_bot) ORDER BY id FOR UPDATE;
        UPDATE bot SET engine_state = x.engine FROM unnest(p_bot, p_engine) AS x(id, engine) WHERE bot.id = x.id;
      END
      $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP FUNCTION bot_save_engines(text[], jsonb[])');
    await q.query('DROP FUNCTION bot_send_fences(text, text[], text[])');
    await q.query('DROP FUNCTION bot_engine_steps(jsonb)');
    // bot_engine_step back, as the migration before this one made it (with bot_send_fence_enter).
    await q.query('DROP FUNCTION bot_send_fence_enter(text, text)');
    await new BotEngineRoundTrips1765200000000().up(q);
  }
}

/** `bot_send_fences` as this migration made it (BotStepsInFences1765500000000 drops it, and makes it again when undone). */
export async function createSendFences(q: QueryRunner, searchPath: string): Promise<void> {
  await q.query(`
    CREATE FUNCTION bot_send_fences(p_fence text, p_unlock text[], p_enter text[]) RETURNS boolean[]
    LANGUAGE plpgsql VOLATILE ${searchPath} AS $$
    DECLARE
      b text;
      entered boolean[] := '{}';
    BEGIN
      FOREACH b IN ARRAY p_unlock LOOP
        PERFORM pg_advisory_unlock_shared(hashtext(p_fence), hashtext(b));
      END LOOP;
      FOREACH b IN ARRAY p_enter LOOP
        entered := entered || bot_send_fence_enter(p_fence, b);
      END LOOP;
      RETURN entered;
    END
    $$`);
}
