import { Injectable } from '@nestjs/common';
import { DataSource, QueryFailedError, type EntityManager } from 'typeorm';
import type { Actor, BotState } from '@garde/contracts';
import { BOT_STATES, isHaltable, type ParsedScope } from '@garde/domain';
import { BotRow, BotTransitionRow } from './bot.entities.js';

/**
 * Lifecycle writes hold this advisory lock shared, kill-switch halts hold it exclusively. A command
 * that read the kill switch before a halt started commits before the halt's UPDATE reads the table
 * (so the halt catches it); one that reads it after sees the HALTED scope. Commands do not block
 * each other.
 */
const KILL_SWITCH_LOCK = 'bots:kill-switch';

/** What a transition records in the history besides its states. */
export interface TransitionRecord {
  reason: string;
  actor: Actor;
  /** The kill-switch scope behind a HALT, else null. */
  scope: string | null;
  correlationId: string;
  at: Date;
}

export interface NewBot {
  id: string;
  name: string;
  strategy: string;
  parameters: Record<string, unknown>;
  exchangeId: string;
  symbol: string;
  state: BotState;
  stateReason: string;
}

export type InsertResult = { ok: true; row: BotRow } | { ok: false; duplicate: 'id' | 'name' };

export interface PlannedTransition extends TransitionRecord {
  to: BotState;
}

export interface HaltedBot {
  row: BotRow;
  from: BotState;
}

const HALTABLE_SQL = BOT_STATES.filter(isHaltable)
  .map((s) => `'${s}'`)
  .join(', ');

/** PostgreSQL side of the bots: current state per bot and every transition. TypeORM stays in here. */
@Injectable()
export class BotRepository {
  constructor(private readonly ds: DataSource) {}

  /**
   * Inserts a bot and its creation row in the history. `build` runs under the kill-switch lock, so
   * that the state it picks from the kill switch cannot be overtaken by a halt.
   */
  async insert(build: () => { bot: NewBot; record: TransitionRecord }): Promise<InsertResult> {
    try {
      return await this.ds.transaction(async (em) => {
        await em.query('SELECT pg_advisory_xact_lock_shared(hashtext($1))', [KILL_SWITCH_LOCK]);
        const { bot, record } = build();
        const row: BotRow = { ...bot, stateActor: record.actor.id, stateSince: record.at, createdAt: record.at, version: 1 };
        // Plain SQL: TypeORM's insert typing rejects a free-form jsonb record.
        await em.query(
          `INSERT INTO bot (id, name, strategy, parameters, exchange_id, symbol, state, state_reason, state_actor, state_since, created_at, version)
           VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, $10, $10, 1)`,
          [
            row.id,
            row.name,
            row.strategy,
            JSON.stringify(row.parameters),
            row.exchangeId,
            row.symbol,
            row.state,
            row.stateReason,
            row.stateActor,
            row.stateSince,
          ],
        );
        await this.record(em, bot.id, null, bot.state, record);
        return { ok: true as const, row };
      });
    } catch (err) {
      const duplicate = uniqueViolation(err);
      if (duplicate === 'bot_pkey') return { ok: false, duplicate: 'id' };
      if (duplicate === 'bot_name_key') return { ok: false, duplicate: 'name' };
      throw err;
    }
  }

  /**
   * Changes one bot's state in one transaction, the row locked: `decide` sees the current row and
   * returns the transition, or throws to write nothing. Undefined when the bot does not exist.
   */
  async changeState(botId: string, decide: (current: BotRow) => PlannedTransition): Promise<{ before: BotRow; after: BotRow } | undefined> {
    return this.ds.transaction(async (em) => {
      await em.query('SELECT pg_advisory_xact_lock_shared(hashtext($1))', [KILL_SWITCH_LOCK]);
      const before = await em.findOne(BotRow, { where: { id: botId }, lock: { mode: 'pessimistic_write' } });
      if (!before) return undefined;
      const plan = decide(before);
      const after: BotRow = {
        ...before,
        state: plan.to,
        stateReason: plan.reason,
        stateActor: plan.actor.id,
        stateSince: plan.at,
        version: before.version + 1,
      };
      await em.update(
        BotRow,
        { id: botId },
        { state: after.state, stateReason: after.stateReason, stateActor: after.stateActor, stateSince: after.stateSince, version: after.version },
      );
      await this.record(em, botId, before.state, plan.to, plan);
      return { before, after };
    });
  }

  /**
   * Moves every haltable bot of a scope to HALTED: one statement that updates the bots and inserts
   * their history rows, in one transaction. Returns the bots it halted with their previous state.
   */
  async haltInScope(scope: ParsedScope, record: TransitionRecord): Promise<HaltedBot[]> {
    const params: unknown[] = [record.reason, record.actor.id, record.at, JSON.stringify(record.actor), record.correlationId];
    let filter = 'TRUE';
    if (scope.kind !== 'global') {
      params.push(scope.id);
      filter = scope.kind === 'exchange' ? `exchange_id = $${params.length}` : `id = $${params.length}`;
    }
    params.push(scope.kind === 'global' ? 'global' : `${scope.kind}:${scope.id}`);
    const scopeParam = `$${params.length}`;
    return this.ds.transaction(async (em) => {
      await em.query('SELECT pg_advisory_xact_lock(hashtext($1))', [KILL_SWITCH_LOCK]);
      const rows: RawHaltedRow[] = await em.query(
        `WITH previous AS (
           SELECT id, state FROM bot WHERE state IN (${HALTABLE_SQL}) AND ${filter} FOR UPDATE
         ), halted AS (
           UPDATE bot b SET state = 'HALTED', state_reason = $1, state_actor = $2, state_since = $3, version = b.version + 1
           FROM previous p WHERE b.id = p.id
           RETURNING b.*, p.state AS from_state
         ), history AS (
           INSERT INTO bot_transition (bot_id, from_state, to_state, reason, actor, scope, at, correlation_id)
           SELECT id, from_state, 'HALTED', $1, $4::jsonb, ${scopeParam}, $3, $5 FROM halted
         )
         SELECT * FROM halted`,
        params,
      );
      return rows.map((r) => ({ row: fromRaw(r), from: r.from_state }));
    });
  }

  /** RUNNING bots with what the strategy engine keeps for each (null before its first step). */
  async runningForEngine(): Promise<Array<{ bot: BotRow; engine: unknown; syncedAt: Date | null }>> {
    const rows: Array<Omit<RawHaltedRow, 'from_state'> & { engine_state: unknown; synced_at: Date | null }> = await this.ds.query(
      "SELECT * FROM bot WHERE state = 'RUNNING' ORDER BY created_at, id",
    );
    return rows.map((r) => ({ bot: fromRaw({ ...r, from_state: 'RUNNING' }), engine: r.engine_state, syncedAt: r.synced_at }));
  }

  /**
   * One engine step, in one transaction, only while the bot is still RUNNING (else undefined): records
   * the fills not applied before (each exactly once, ever), computes the next engine state from them
   * (`next` gets their `<clientOrderId>/<tradeId>` keys and the engine state as locked now, so two steps
   * of one bot never both start from the same state) and saves it with the time the gateway was read.
   */
  async engineStep<E>(
    botId: string,
    fills: Array<{ clientOrderId: string; tradeId: string }>,
    syncedAt: Date,
    next: (fresh: Set<string>, engine: unknown) => E,
  ): Promise<E | undefined> {
    return this.ds.transaction(async (em) => {
      const [bot] = await em.query<Array<{ state: string; engine_state: unknown }>>('SELECT state, engine_state FROM bot WHERE id = $1 FOR UPDATE', [botId]);
      if (bot?.state !== 'RUNNING') return undefined;
      const inserted = await em.query<Array<{ client_order_id: string; trade_id: string }>>(
        `INSERT INTO bot_fill (client_order_id, trade_id, bot_id) SELECT c, t, $3 FROM unnest($1::text[], $2::text[]) AS f(c, t)
         ON CONFLICT DO NOTHING RETURNING client_order_id, trade_id`,
        [fills.map((f) => f.clientOrderId), fills.map((f) => f.tradeId), botId],
      );
      const engine = next(new Set(inserted.map((r) => `${r.client_order_id}/${r.trade_id}`)), bot.engine_state);
      await em.query('UPDATE bot SET engine_state = $2, synced_at = $3 WHERE id = $1', [botId, JSON.stringify(engine), syncedAt]);
      return engine;
    });
  }

  /** Saves the engine state after its intents were sent (what is left to send, what the gateway refused). */
  async saveEngine(botId: string, engine: unknown): Promise<void> {
    await this.ds.query('UPDATE bot SET engine_state = $2 WHERE id = $1', [botId, JSON.stringify(engine)]);
  }

  async get(id: string): Promise<BotRow | null> {
    return this.ds.getRepository(BotRow).findOneBy({ id });
  }

  async list(filter: { state?: BotState | undefined; exchangeId?: string | undefined }): Promise<BotRow[]> {
    // TypeORM throws on an undefined value in `where`: only set what was asked for.
    const where: Partial<Pick<BotRow, 'state' | 'exchangeId'>> = {};
    if (filter.state !== undefined) where.state = filter.state;
    if (filter.exchangeId !== undefined) where.exchangeId = filter.exchangeId;
    return this.ds.getRepository(BotRow).find({ where, order: { createdAt: 'ASC', id: 'ASC' } });
  }

  /** Bots per state (states with no bot are absent). */
  async countByState(): Promise<Array<{ state: string; count: number }>> {
    const rows: Array<{ state: string; count: string }> = await this.ds.query('SELECT state, count(*) AS count FROM bot GROUP BY state');
    return rows.map((r) => ({ state: r.state, count: Number(r.count) }));
  }

  /** Transitions of one bot, oldest first. */
  async history(botId: string): Promise<BotTransitionRow[]> {
    return this.ds.getRepository(BotTransitionRow).find({ where: { botId }, order: { id: 'ASC' } });
  }

  private async record(em: EntityManager, botId: string, from: string | null, to: string, r: TransitionRecord): Promise<void> {
    await em.insert(BotTransitionRow, {
      botId,
      fromState: from,
      toState: to,
      reason: r.reason,
      actor: r.actor,
      scope: r.scope,
      at: r.at,
      correlationId: r.correlationId,
    });
  }
}

interface RawHaltedRow {
  id: string;
  name: string;
  strategy: string;
  parameters: Record<string, unknown>;
  exchange_id: string;
  symbol: string;
  state: string;
  state_reason: string;
  state_actor: string;
  state_since: Date;
  created_at: Date;
  version: number;
  from_state: BotState;
}

function fromRaw(r: RawHaltedRow): BotRow {
  return {
    id: r.id,
    name: r.name,
    strategy: r.strategy,
    parameters: r.parameters,
    exchangeId: r.exchange_id,
    symbol: r.symbol,
    state: r.state,
    stateReason: r.state_reason,
    stateActor: r.state_actor,
    stateSince: r.state_since,
    createdAt: r.created_at,
    version: r.version,
  };
}

/** The constraint a unique violation (SQLSTATE 23505) broke, if that is what `err` is. */
function uniqueViolation(err: unknown): string | undefined {
  if (!(err instanceof QueryFailedError)) return undefined;
  const driver = err.driverError as { code?: unknown; constraint?: unknown };
  return driver.code === '23505' && typeof driver.constraint === 'string' ? driver.constraint : undefined;
}
