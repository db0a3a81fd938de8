import type { MigrationInterface, QueryRunner } from 'typeorm';
import { functionSearchPath } from '@garde/platform';
import { createSendFences } from './1765300000000-bot-engine-batches.js';

/**
 * A step that makes intents used to take two statements before its send: its `bot_engine_steps` on a
 * pooled connection, and `bot_send_fences` on the connection that holds its bot's send fence (session
 * locks), side by side; the send waited for the slower of the two (bench/bot-fleet: the fence answered
 * p50 2.3 ms, p90 13.5 ms after the step). Now the steps run on the fence connections, and one
 * statement does what both did: `bot_engine_round` lets go of the fences of `p_unlock`, runs the steps
 * (`bot_engine_steps`, unchanged), enters the fences of the steps applied whose bot is in `p_step_fence`
 * (a try-lock: the bot is RUNNING, checked under its row lock, which the statement still holds), then
 * enters those of `p_enter` (`bot_send_fence_enter`: a try-lock and the RUNNING check after it). The
 * fences are taken last: a statement that fails before its end leaves none held by mistake (session
 * locks outlive a rollback). It answers one row per step (`outcome`, `entered`), then one per bot of
 * `p_enter` in its order (`outcome` 'enter').
 *
 * `bot_send_fences` (unlocks and enters only) goes: `bot_engine_round` with no steps does the same.
 */
export class BotStepsInFences1765500000000 implements MigrationInterface {
  name = 'BotStepsInFences1765500000000';

  async up(q: QueryRunner): Promise<void> {
    const searchPath = await functionSearchPath(q);
    await q.query(`
      CREATE FUNCTION bot_engine_round(p_fence text, p_unlock text[], p_steps jsonb, p_step_fence text[], p_enter text[])
      RETURNS TABLE (bot_id text, outcome text, entered boolean)
      LANGUAGE plpgsql VOLATILE ${searchPath} AS $$
      DECLARE
        b text;
        v_bots text[] := '{}';
        v_outcomes text[] := '{}';
        v_entered boolean[] := '{}';
        i int;
      BEGIN
        FOREACH b IN ARRAY p_unlock LOOP
          PERFORM pg_advisory_unlock_shared(hashtext(p_fence), hashtext(b));
        END LOOP;
        IF jsonb_array_length(p_steps) > 0 THEN
          SELECT coalesce(array_agg(s.bot_id), '{}'), coalesce(array_agg(s.outcome), '{}') INTO v_bots, v_outcomes FROM bot_engine_steps(p_steps) s;
        END IF;
        FOR i IN 1 .. coalesce(array_length(v_bots, 1), 0) LOOP
          IF v_outcomes[i] = 'applied' AND v_bots[i] = ANY(p_step_fence) THEN
            v_entered := v_entered || pg_try_advisory_lock_shared(hashtext(p_fence), hashtext(v_bots[i]));
          ELSE
            v_entered := v_entered || false;
          END IF;
        END LOOP;
        RETURN QUERY SELECT * FROM unnest(v_bots, v_outcomes, v_entered);
        FOREACH b IN ARRAY p_enter LOOP
          RETURN QUERY SELECT b, 'enter'::text, bot_send_fence_enter(p_fence, b);
        END LOOP;
      END
      $$`);
    await q.query('DROP FUNCTION bot_send_fences(text, text[], text[])');
  }

  async down(q: QueryRunner): Promise<void> {
    const searchPath = await functionSearchPath(q);
    await q.query('DROP FUNCTION bot_engine_round(text, text[], jsonb, text[], text[])');
    await createSendFences(q, searchPath);
  }
}
