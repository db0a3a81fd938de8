import type { MigrationInterface, QueryRunner } from 'typeorm';
import { BotCreatedEvt } from '@garde/contracts';
import { functionSearchPath } from '@garde/platform';

/**
 * Signed checkpoints, the one purge path, the privileges of the service's own role, and the indexes of
 * exports (`recorded_at`) and of `--bot` queries.
 *
 * - `audit_checkpoint`: the chain head at a sequence, signed (Ed25519) by the audit-service. Append-only.
 * - `audit_purge`: one row per purge (who, why, which rows, the checkpoint the kept chain starts from). Append-only.
 * - The trigger still refuses every UPDATE, DELETE and TRUNCATE of `audit_event`, except a DELETE inside
 *   `audit_purge()`, and a row-level guard refuses there any row past the purge boundary or recorded
 *   after the cutoff.
 * - The role running the migrations (the service's) revokes its own UPDATE, DELETE and TRUNCATE on the
 *   three tables: even a bug or a stray statement with the service's credentials is refused before the
 *   trigger. An owner can grant them back, and `audit_purge()` does so for its one DELETE, inside its
 *   transaction. Tamper-evidence does not rest on this: it rests on the hash chain and the signatures,
 *   whose key is not in the database.
 */
export class AuditCheckpointsRetention1764900000000 implements MigrationInterface {
  name = 'AuditCheckpointsRetention1764900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE audit_checkpoint (
        sequence   bigint PRIMARY KEY CHECK (sequence > 0),
        head       text NOT NULL CHECK (head ~ '^[0-9a-f]{64}$'),
        signed_at  timestamptz NOT NULL,
        key_id     text NOT NULL,
        public_key text NOT NULL,
        signature  text NOT NULL
      )`);
    await q.query('CREATE INDEX audit_checkpoint_signed_at_idx ON audit_checkpoint (signed_at, sequence)');
    await q.query(`
      CREATE TABLE audit_purge (
        id               bigserial PRIMARY KEY,
        from_sequence    bigint NOT NULL,
        through_sequence bigint NOT NULL UNIQUE,
        rows             bigint NOT NULL,
        cutoff           timestamptz NOT NULL,
        anchor_head      text NOT NULL,
        actor_id         text NOT NULL,
        reason           text NOT NULL,
        purged_at        timestamptz NOT NULL DEFAULT now()
      )`);

    // One refusal for the three tables; audit_event's DELETE passes only inside audit_purge().
    await q.query(`
      CREATE OR REPLACE FUNCTION audit_event_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'audit_event' AND coalesce(current_setting('garde.audit_purge_through', true), '') <> '' THEN
          RETURN NULL;
        END IF;
        RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
          USING ERRCODE = 'insufficient_privilege',
                HINT = 'the audit trail is never modified; append a correcting event instead (old rows go only through audit:purge)';
      END
      $$`);
    for (const table of ['audit_checkpoint', 'audit_purge']) {
      await q.query(`
        CREATE TRIGGER ${table}_append_only
          BEFORE UPDATE OR DELETE OR TRUNCATE ON ${table}
          FOR EACH STATEMENT EXECUTE FUNCTION audit_event_refuse_change()`);
    }
    await q.query(`
      CREATE FUNCTION audit_event_purge_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF OLD.sequence > current_setting('garde.audit_purge_through')::bigint
           OR OLD.recorded_at >= current_setting('garde.audit_purge_cutoff')::timestamptz THEN
          RAISE EXCEPTION 'audit purge refused for row %: past the purge boundary or recorded after the cutoff', OLD.sequence
            USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN OLD;
      END
      $$`);
    await q.query('CREATE TRIGGER audit_event_purge_guard BEFORE DELETE ON audit_event FOR EACH ROW EXECUTE FUNCTION audit_event_purge_guard()');

    // The purge path: the start of the chain, through a signed checkpoint signed before the cutoff. It runs
    // as its owner (SECURITY DEFINER, EXECUTE revoked from PUBLIC) with a fixed search_path.
    const searchPath = await functionSearchPath(q);
    await q.query(`
      CREATE FUNCTION audit_purge(p_through bigint, p_cutoff timestamptz, p_actor text, p_reason text) RETURNS bigint
      LANGUAGE plpgsql SECURITY DEFINER ${searchPath} AS $$
      DECLARE
        anchor audit_checkpoint%ROWTYPE;
        first_sequence bigint;
        deleted bigint;
      BEGIN
        IF p_cutoff > now() THEN
          RAISE EXCEPTION 'audit purge refused: the cutoff % is in the future', p_cutoff;
        END IF;
        SELECT * INTO anchor FROM audit_checkpoint WHERE sequence = p_through;
        IF NOT FOUND THEN
          RAISE EXCEPTION 'audit purge refused: no signed checkpoint at sequence %', p_through;
        END IF;
        IF anchor.signed_at >= p_cutoff THEN
          RAISE EXCEPTION 'audit purge refused: the checkpoint at % was signed at %, not before the cutoff %', p_through, anchor.signed_at, p_cutoff;
        END IF;
        SELECT min(sequence) INTO first_sequence FROM audit_event;
        IF first_sequence IS NULL OR first_sequence > p_through THEN
          RAISE EXCEPTION 'audit purge refused: nothing left through sequence %', p_through;
        END IF;
        PERFORM set_config('garde.audit_purge_through', p_through::text, true);
        PERFORM set_config('garde.audit_purge_cutoff', p_cutoff::text, true);
        GRANT DELETE ON audit_event TO CURRENT_USER;
        DELETE FROM audit_event WHERE sequence <= p_through;
        GET DIAGNOSTICS deleted = ROW_COUNT;
        REVOKE DELETE ON audit_event FROM CURRENT_USER;
        PERFORM set_config('garde.audit_purge_through', '', true);
        PERFORM set_config('garde.audit_purge_cutoff', '', true);
        INSERT INTO audit_purge (from_sequence, through_sequence, rows, cutoff, anchor_head, actor_id, reason)
          VALUES (first_sequence, p_through, deleted, p_cutoff, anchor.head, p_actor, p_reason);
        RETURN deleted;
      END
      $$`);
    await q.query('REVOKE EXECUTE ON FUNCTION audit_purge(bigint, timestamptz, text, text) FROM PUBLIC');
    await q.query('REVOKE UPDATE, DELETE, TRUNCATE ON audit_event, audit_checkpoint, audit_purge FROM PUBLIC, CURRENT_USER');

    // Exports select a period by recording time (monotonic with the sequence: one writer, one clock).
    await q.query('CREATE INDEX audit_event_recorded_at_idx ON audit_event (recorded_at, sequence)');
    // `--bot`: the bot an event is about (its own events, its orders', its kill-switch scope).
    await q.query(`
      CREATE FUNCTION audit_event_bot_id(envelope jsonb) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT coalesce(
          envelope #>> '{payload,botId}',
          envelope #>> '{payload,order,botId}',
          CASE WHEN envelope ->> 'type' = '${BotCreatedEvt.type}' THEN envelope #>> '{payload,id}' END,
          CASE WHEN starts_with(envelope #>> '{payload,current,scope}', 'bot:') THEN substr(envelope #>> '{payload,current,scope}', 5) END)
      $$`);
    await q.query('CREATE INDEX audit_event_bot_idx ON audit_event (audit_event_bot_id(envelope), sequence) WHERE audit_event_bot_id(envelope) IS NOT NULL');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX audit_event_bot_idx');
    await q.query('DROP FUNCTION audit_event_bot_id(jsonb)');
    await q.query('DROP INDEX audit_event_recorded_at_idx');
    await q.query('GRANT UPDATE, DELETE, TRUNCATE ON audit_event TO CURRENT_USER');
    await q.query('DROP FUNCTION audit_purge(bigint, timestamptz, text, text)');
    await q.query('DROP TRIGGER audit_event_purge_guard ON audit_event');
    await q.query('DROP FUNCTION audit_event_purge_guard()');
    await q.query('DROP TABLE audit_purge');
    await q.query('DROP TABLE audit_checkpoint');
    await q.query(`
      CREATE OR REPLACE FUNCTION audit_event_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP
          USING ERRCODE = 'insufficient_privilege',
                HINT = 'the audit trail is never modified; append a correcting event instead';
      END
      $$`);
  }
}
