import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type pg from 'pg';
import { DataSource, QueryFailedError, type EntityManager, type QueryRunner } from 'typeorm';
import type { Actor, BotState } from '@garde/contracts';
import { Batcher } from '@garde/platform';
import { BOT_STATES, STRATEGIES, isHaltable, isStrategyName, type ParsedScope } from '@garde/domain';
import { BotRow, BotTransitionRow } from './bot.entities.js';
import { STEP_BATCH_MAX, STEP_CONNECTIONS } from './step-batches.js';

/**
 * Lifecycle writes hold this advisory lock shared, kill-switch halts hold it exclusively. A command
 * that read the kill switch before a halt started commits before the halt's UPDATE reads the table
 * (so the halt catches it); one that reads it after sees the HALTED scope. Commands do not block
 * each other.
 */
const KILL_SWITCH_LOCK = 'bots:kill-switch';

/**
 * A bot's send fence: the advisory lock (hashtext(SEND_FENCE), hashtext(botId)), separate from the
 * kill-switch lock and from the bot's row (a halt never waits on a send). Each send of the bot's
 * orders holds it shared; a stop with --cancel-orders takes it exclusively once STOPPED is committed.
 */
const SEND_FENCE = 'bots:send-fence';

/** The connection (of STEP_CONNECTIONS) that runs a bot's steps and holds its send fence. */
function connectionOf(botId: string): number {
  let h = 0;
  for (let i = 0; i < botId.length; i++) h = (h * 31 + botId.charCodeAt(i)) | 0;
  return Math.abs(h) % STEP_CONNECTIONS;
}

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

/** One execution of a bot's order as the gateway reported it, with its order's side (null when the gateway did not list the order). */
export interface RecordedFill {
  clientOrderId: string;
  tradeId: string;
  side: 'buy' | 'sell' | null;
  price: string;
  /** Base quantity. */
  quantity: string;
  fee: string;
  feeCurrency: string | null;
  /** When the venue executed it (ISO-8601). */
  at: string;
}

/** A fill as recorded; side, price, quantity and fee are null for the fills applied before their details were kept. */
export interface StoredFill {
  side: 'buy' | 'sell' | null;
  price: string | null;
  quantity: string | null;
  fee: string | null;
  feeCurrency: string | null;
}

/** What `bot:status` needs of one bot besides its row. */
export interface BotStatusDetails {
  /** The strategy engine's state (null before its first step). */
  engine: unknown;
  /** Its fills, in the order the venue executed them (those without details first). */
  fills: StoredFill[];
  /** Its latest move to ERROR, with the cause. */
  lastFailure: { reason: string; at: Date } | null;
}

/** Saves grouped into one statement at most. */
const MAX_SAVES = 200;

/**
 * What one call asks of a round (`bot_engine_round`) on its bot's step connection: a step (entering the
 * bot's send fence with it when `enter`, if it applies), a send fence to enter (answers whether the bot is
 * RUNNING and the fence held), or one to let go.
 */
type RoundOp = { kind: 'step'; step: KnownStep; enter: boolean } | { kind: 'enter'; botId: string } | { kind: 'unlock'; botId: string };

/** A round's answer to one call: the step's outcome ('enter' and 'unlock' for the others) and whether the fence is held. */
interface RoundAnswer {
  outcome: StepOutcome | 'enter' | 'unlock';
  entered: boolean;
}

/** A bot's send fence being entered (see `BotRepository.enterFence`). */
export interface SendFence {
  /** Whether the fence is held and the bot RUNNING. */
  readonly entered: Promise<boolean>;
  /** Lets the fence go (once; nothing to do when it was not entered). */
  leave(): void;
}

/** An engine step whose starting state and fills the engine knows (see `engineStep`). */
interface KnownStep {
  bot: string;
  expected: unknown;
  next: unknown;
  syncedAt: Date | null;
  fills: RecordedFill[];
}

type StepOutcome = 'applied' | 'not-running' | 'conflict';

/** SQLSTATEs of a statement PostgreSQL gave up on for the moment: deadlock, lock not available, serialization failure. */
const RETRYABLE = new Set(['40P01', '55P03', '40001']);

export type InsertResult = { ok: true; row: BotRow } | { ok: false; duplicate: 'id' | 'name' };

export interface PlannedTransition extends TransitionRecord {
  to: BotState;
}

/** A bot a halt moved to HALTED, and the state it left. */
export interface HaltedBot {
  id: string;
  from: BotState;
}

const HALTABLE_SQL = BOT_STATES.filter(isHaltable)
  .map((s) => `'${s}'`)
  .join(', ');

/** PostgreSQL side of the bots: current state per bot and every transition. TypeORM stays in here. */
@Injectable()
export class BotRepository implements OnApplicationShutdown {
  /**
   * The connections that run this replica's engine steps and hold its bots' send fences (session-level
   * locks), a bot always on the same one; taken from the pool.
   */
  private readonly connections: Array<{ runner: QueryRunner; connected: Promise<unknown> } | undefined> = new Array<undefined>(STEP_CONNECTIONS).fill(
    undefined,
  );
  /**
   * The calls on each step connection, grouped into one `bot_engine_round` (one at a time: the
   * connection's statements keep their order): engine steps whose starting state and fills are known,
   * send fences entered and let go.
   */
  private readonly rounds = Array.from(
    { length: STEP_CONNECTIONS },
    (_, connection) => new Batcher<RoundOp, RoundAnswer>((ops) => this.runRound(connection, ops), { maxBatch: STEP_BATCH_MAX, maxInFlight: 1 }),
  );
  /** Engine states saved after a send, grouped into one `bot_save_engines`. */
  private readonly saves = new Batcher<{ botId: string; engine: string }, void>((saves) => this.runSaves(saves), { maxBatch: MAX_SAVES, maxInFlight: 2 });

  constructor(private readonly ds: DataSource) {}

  /**
   * Enters the bot's send fence (shared) for one send of its intents: `entered` answers whether the
   * fence is held and the bot RUNNING, read once it is held. A stop commits STOPPED, then takes the fence
   * exclusively (`awaitSends`): it waits for a send that holds it, and a send that comes later finds it
   * taken, or the bot STOPPED, and sends nothing. `leave()` lets it go once the send is over (at most
   * once; nothing to do when it was not entered).
   *
   * The fence is taken without waiting (a try-lock; not granted = a stop holds or awaits it, so the bot
   * is STOPPED), on the bot's step connection (STEP_CONNECTIONS of them, a bot always on the same one):
   * sends in flight hold no pooled connection each, and never queue behind one another. If that
   * connection breaks mid-send, its locks go with it: a stop then no longer waits for that send. The
   * try-lock, then (a statement of its own, so that it sees a STOPPED committed before the lock was
   * granted) the RUNNING check, go in one round trip, shared with the other steps and sends of this
   * connection meanwhile. A step that makes intents enters its fence in its own statement instead
   * (`engineStep`, `known.sends`).
   */
  enterFence(botId: string): SendFence {
    return this.fence(botId, this.round(botId, { kind: 'enter', botId }));
  }

  /** The bot's send fence, entered (or not) by the round call `answer`. */
  private fence(botId: string, answer: Promise<RoundAnswer>): SendFence {
    const entered = answer.then((a) => a.entered);
    // Handled from the start: a caller may hear the failure only later (whileRunning), or never (no send).
    entered.catch(() => undefined);
    let left = false;
    return {
      entered,
      leave: () => {
        if (left) return;
        left = true;
        // Not waited for: the step connection runs its statements in order, and a round lets go before it
        // enters, so the next send of this bot and a stop's exclusive lock come after it. On a broken
        // connection the lock is gone with the session; the next send opens another one.
        void entered.then((held) => (held ? this.round(botId, { kind: 'unlock', botId }) : undefined)).catch(() => undefined);
      },
    };
  }

  private round(botId: string, op: RoundOp): Promise<RoundAnswer> {
    return this.rounds[connectionOf(botId)]!.add(op);
  }

  /**
   * Runs `send` (one send of the bot's intents to the gateway) inside the bot's send fence, only if the
   * bot is still RUNNING once the fence is held; undefined when it did not run.
   */
  whileRunning<T>(botId: string, send: () => Promise<T>): Promise<T | undefined> {
    return this.whileEntered(this.enterFence(botId), send);
  }

  /** `whileRunning` with a fence the caller entered already (`enterFence`); let go when the send is over. */
  async whileEntered<T>(fence: SendFence, send: () => Promise<T>): Promise<T | undefined> {
    try {
      if (!(await fence.entered)) return undefined;
      return await send();
    } finally {
      fence.leave();
    }
  }

  /**
   * One `bot_engine_round` on a step connection for the calls grouped together: the fences to let go,
   * the steps (entering their fences when asked), the fences to enter. When PostgreSQL gives up on the
   * steps for a reason of the moment (a deadlock, a lock or serialization failure), every step is
   * 'conflict' (each then runs in a transaction of its own) and the fences are entered in a round of
   * their own. Any other failure fails every call of the round.
   */
  private async runRound(connection: number, ops: RoundOp[]): Promise<RoundAnswer[]> {
    const runner = await this.stepConnection(connection);
    const unlocks: string[] = [];
    const steps: KnownStep[] = [];
    const stepFences: string[] = [];
    const enters: string[] = [];
    for (const op of ops) {
      if (op.kind === 'unlock') unlocks.push(op.botId);
      else if (op.kind === 'enter') enters.push(op.botId);
      else {
        steps.push(op.step);
        if (op.enter) stepFences.push(op.step.bot);
      }
    }
    type Row = { bot_id: string; outcome: StepOutcome | 'enter'; entered: boolean };
    // A named prepared statement, straight on the connection's client: one text whatever the round
    // carries, so each connection parses and plans it once (it ran several hundred times a second at a
    // tick's bursts, each parsed and planned anew).
    const client = (await runner.connect()) as pg.PoolClient;
    const call = async (withSteps: KnownStep[], withUnlocks: string[]): Promise<Row[]> =>
      (
        await client.query<Row>({
          name: 'bot_engine_round',
          text: 'SELECT bot_id, outcome, entered FROM bot_engine_round($1, $2::text[], $3::text::jsonb, $4::text[], $5::text[])',
          values: [SEND_FENCE, withUnlocks, JSON.stringify(withSteps.map((s) => ({ ...s, fills: s.fills.map(fillRecord) }))), stepFences, enters],
        })
      ).rows;
    let rows: Row[];
    try {
      rows = await call(steps, unlocks);
    } catch (err) {
      // The unlocks ran before the steps (they are not undone by a rollback); the enters come after them.
      if (steps.length === 0 || !RETRYABLE.has(String((err as { code?: unknown }).code))) throw err;
      rows = enters.length === 0 ? [] : await call([], []);
    }
    const stepped = new Map<string, RoundAnswer>();
    const entered: boolean[] = [];
    for (const row of rows) {
      if (row.outcome === 'enter') entered.push(row.entered);
      else stepped.set(row.bot_id, { outcome: row.outcome, entered: row.entered });
    }
    let next = 0;
    return ops.map((op): RoundAnswer => {
      if (op.kind === 'unlock') return { outcome: 'unlock', entered: false };
      if (op.kind === 'enter') return { outcome: 'enter', entered: entered[next++] === true };
      return stepped.get(op.step.bot) ?? { outcome: 'conflict', entered: false };
    });
  }

  /**
   * Waits until no send of the bot is in flight: takes its send fence exclusively, then lets it go. Called
   * once the bot is STOPPED (committed): no send of it starts after that. False when a send still held the
   * fence after `timeoutMs`. Holds one pooled connection while it waits.
   */
  async awaitSends(botId: string, timeoutMs: number): Promise<boolean> {
    try {
      await this.ds.transaction(async (em) => {
        await em.query("SELECT set_config('lock_timeout', $1, true)", [`${Math.max(1, Math.ceil(timeoutMs))}ms`]);
        await em.query('SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))', [SEND_FENCE, botId]);
      });
      return true;
    } catch (err) {
      // 55P03 lock_not_available: lock_timeout passed.
      if (err instanceof QueryFailedError && (err.driverError as { code?: unknown }).code === '55P03') return false;
      throw err;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    const connections = this.connections.splice(0, STEP_CONNECTIONS, ...new Array<undefined>(STEP_CONNECTIONS).fill(undefined));
    for (const c of connections) if (c && !c.runner.isReleased) await c.runner.release();
  }

  /**
   * A step connection (a bot's steps and sends always use the same one, so that they run in order),
   * opened on first use and again after it broke (TypeORM releases a broken one).
   */
  private async stepConnection(index: number): Promise<QueryRunner> {
    let c = this.connections[index];
    if (!c || c.runner.isReleased) {
      const runner = this.ds.createQueryRunner();
      c = this.connections[index] = { runner, connected: runner.connect() };
    }
    try {
      await c.connected;
    } catch (err) {
      if (this.connections[index] === c) this.connections[index] = undefined;
      throw err;
    }
    return c.runner;
  }

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
      // Only what the events need: the bots' other columns (parameters, engine state) stay in PostgreSQL.
      const rows: Array<{ id: string; from_state: BotState }> = await em.query(
        `WITH previous AS (
           SELECT id, state FROM bot WHERE state IN (${HALTABLE_SQL}) AND ${filter} ORDER BY id FOR UPDATE
         ), halted AS (
           UPDATE bot b SET state = 'HALTED', state_reason = $1, state_actor = $2, state_since = $3, version = b.version + 1
           FROM previous p WHERE b.id = p.id
           RETURNING b.id, p.state AS from_state
         ), history AS (
           INSERT INTO bot_transition (bot_id, from_state, to_state, reason, actor, scope, at, correlation_id)
           SELECT id, from_state, 'HALTED', $1, $4::jsonb, ${scopeParam}, $3, $5 FROM halted
         )
         SELECT id, from_state FROM halted`,
        params,
      );
      return rows.map((r) => ({ id: r.id, from: r.from_state }));
    });
  }

  /** RUNNING bots, with when the engine last read the gateway for each (the engine state is read by its owner only). */
  async runningForEngine(): Promise<Array<{ bot: BotRow; syncedAt: Date | null }>> {
    const rows: Array<RawBotRow & { synced_at: Date | null }> = await this.ds.query(
      `SELECT id, name, strategy, parameters, exchange_id, symbol, state, state_reason, state_actor, state_since, created_at, version, synced_at
       FROM bot WHERE state = 'RUNNING' ORDER BY created_at, id`,
    );
    return rows.map((r) => ({ bot: fromRaw(r), syncedAt: r.synced_at }));
  }

  /** Orders the strategies count as open, per bot state, from the saved engine states. */
  async openOrdersByState(): Promise<Map<string, number>> {
    const rows = await this.ds.query<Array<{ state: string; strategy: string; engine_state: { strategy?: unknown } | null }>>(
      'SELECT state, strategy, engine_state FROM bot WHERE engine_state IS NOT NULL',
    );
    const counts = new Map<string, number>();
    for (const row of rows) {
      if (!isStrategyName(row.strategy) || row.engine_state?.strategy === undefined) continue;
      const open = STRATEGIES[row.strategy].openOrders(row.engine_state.strategy as never).length;
      counts.set(row.state, (counts.get(row.state) ?? 0) + open);
    }
    return counts;
  }

  /** What the strategy engine saved for a bot (null before its first step). */
  async engineState(botId: string): Promise<unknown> {
    const [row] = await this.ds.query<Array<{ engine_state: unknown }>>('SELECT engine_state FROM bot WHERE id = $1', [botId]);
    return row?.engine_state ?? null;
  }

  /**
   * One engine step, in one transaction, only while the bot is still RUNNING (else undefined): records
   * the fills not applied before (each exactly once, ever, with what it was), computes the next engine
   * state from them (`next` gets their `<clientOrderId>/<tradeId>` keys and the engine state as locked
   * now, so two steps of one bot never both start from the same state) and saves it with the time the
   * gateway was read.
   *
   * `known.sends`, asked of the next state computed from `known.engine` before the statement leaves: true
   * when the caller will send intents after the step. The statement then also enters the bot's send fence
   * (see `enterFence`), answered as `fence` (to leave once the send is over); a step run again in a
   * transaction answers no fence (the send enters its own).
   */
  async engineStep<E>(
    botId: string,
    fills: RecordedFill[],
    syncedAt: Date | null,
    next: (fresh: Set<string>, engine: unknown) => E,
    known?: { engine: unknown; sends?: (next: E) => boolean },
  ): Promise<{ engine: E; fence?: SendFence } | undefined> {
    // One statement, shared with the steps and sends of the bots woken together on this bot's step
    // connection (`bot_engine_round`), when the step starts from the state this replica last saved and its
    // fills are new: the function checks both under the row lock, else the transaction below runs the step
    // again (and so does a `next` that throws: there, only once the bot is known to be RUNNING).
    const engine = known && attempt(() => next(new Set(fills.map(fillKey)), known.engine));
    if (known && engine) {
      const enter = known.sends?.(engine.value) === true;
      const answer = this.round(botId, { kind: 'step', step: { bot: botId, expected: known.engine, next: engine.value, syncedAt, fills }, enter });
      const fence = enter ? this.fence(botId, answer) : undefined;
      const { outcome } = await answer;
      if (outcome === 'applied') return { engine: engine.value, ...(fence ? { fence } : {}) };
      if (outcome === 'not-running') return undefined;
    }
    const after = await this.ds.transaction(async (em) => {
      const [bot] = await em.query<Array<{ state: string; engine_state: unknown }>>('SELECT state, engine_state FROM bot WHERE id = $1 FOR UPDATE', [botId]);
      if (bot?.state !== 'RUNNING') return undefined;
      const inserted = await em.query<Array<{ client_order_id: string; trade_id: string }>>(
        `INSERT INTO bot_fill (client_order_id, trade_id, bot_id, side, price, quantity, fee, fee_currency, filled_at)
         SELECT c, t, $9, s, p, q, fee, cur, ts
         FROM unnest($1::text[], $2::text[], $3::text[], $4::numeric[], $5::numeric[], $6::numeric[], $7::text[], $8::timestamptz[]) AS f(c, t, s, p, q, fee, cur, ts)
         ON CONFLICT DO NOTHING RETURNING client_order_id, trade_id`,
        [...fillColumns(fills), botId],
      );
      const engine = next(new Set(inserted.map((r) => fillKey({ clientOrderId: r.client_order_id, tradeId: r.trade_id }))), bot.engine_state);
      await em.query('UPDATE bot SET engine_state = $2, synced_at = $3 WHERE id = $1', [botId, JSON.stringify(engine), syncedAt]);
      return engine;
    });
    return after === undefined ? undefined : { engine: after };
  }

  /**
   * What `bot:status` shows of these bots besides their row, read in one snapshot: the engine state,
   * every fill recorded (one query for all the bots, in the order the venue executed them) and the
   * latest move of each to ERROR. Bots that do not exist are absent.
   */
  async statusDetails(botIds: string[]): Promise<Map<string, BotStatusDetails>> {
    return this.ds.transaction('REPEATABLE READ', async (em) => {
      const details = new Map<string, BotStatusDetails>();
      const bots = await em.query<Array<{ id: string; engine_state: unknown }>>('SELECT id, engine_state FROM bot WHERE id = ANY($1::text[])', [botIds]);
      for (const b of bots) details.set(b.id, { engine: b.engine_state, fills: [], lastFailure: null });
      const fills = await em.query<Array<StoredFill & { bot_id: string }>>(
        `SELECT bot_id, side, price::text AS price, quantity::text AS quantity, fee::text AS fee, fee_currency AS "feeCurrency"
         FROM bot_fill WHERE bot_id = ANY($1::text[])
         ORDER BY bot_id, filled_at NULLS FIRST, applied_at, client_order_id, trade_id`,
        [botIds],
      );
      for (const { bot_id, ...fill } of fills) details.get(bot_id)?.fills.push(fill);
      const failures = await em.query<Array<{ bot_id: string; reason: string; at: Date }>>(
        `SELECT DISTINCT ON (bot_id) bot_id, reason, at FROM bot_transition
         WHERE bot_id = ANY($1::text[]) AND to_state = 'ERROR' ORDER BY bot_id, id DESC`,
        [botIds],
      );
      for (const f of failures) {
        const d = details.get(f.bot_id);
        if (d) d.lastFailure = { reason: f.reason, at: f.at };
      }
      return details;
    });
  }

  /** Saves the engine state after its intents were sent (what is left to send, what the gateway refused). */
  async saveEngine(botId: string, engine: unknown): Promise<void> {
    await this.saves.add({ botId, engine: JSON.stringify(engine) });
  }

  private async runSaves(saves: Array<{ botId: string; engine: string }>): Promise<void[]> {
    // One JSON document with the states as they are (already JSON): a text[] of them would be escaped
    // element by element, a copy of every state (bench/bot-fleet: ~6 % of bot-service's allocations).
    const batch = `[${saves.map((s) => `{"bot":${JSON.stringify(s.botId)},"engine":${s.engine}}`).join(',')}]`;
    await this.ds.query(
      `SELECT bot_save_engines(array_agg(s ->> 'bot' ORDER BY i), array_agg(s -> 'engine' ORDER BY i))
       FROM jsonb_array_elements($1::text::jsonb) WITH ORDINALITY AS t(s, i)`,
      [batch],
    );
    return saves.map(() => undefined);
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

/** A `bot` row as a raw query returns it (snake_case columns). */
interface RawBotRow {
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
}

function fromRaw(r: RawBotRow): BotRow {
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

/** The fills as the arrays (one per column) that the INSERTs into bot_fill unnest. */
function fillColumns(fills: RecordedFill[]): unknown[] {
  return [
    fills.map((f) => f.clientOrderId),
    fills.map((f) => f.tradeId),
    fills.map((f) => f.side),
    fills.map((f) => f.price),
    fills.map((f) => f.quantity),
    fills.map((f) => f.fee),
    fills.map((f) => f.feeCurrency),
    fills.map((f) => f.at),
  ];
}

/** How `engineStep` names a fill to its `next`: `<clientOrderId>/<tradeId>`. */
export function fillKey(fill: { clientOrderId: string; tradeId: string }): string {
  return `${fill.clientOrderId}/${fill.tradeId}`;
}

/** A fill as `bot_engine_steps` reads it (JSON, short keys). */
function fillRecord(f: RecordedFill) {
  return { c: f.clientOrderId, t: f.tradeId, s: f.side, p: f.price, q: f.quantity, fee: f.fee, cur: f.feeCurrency, at: f.at };
}

/** The value, or undefined when computing it threw. */
function attempt<T>(compute: () => T): { value: T } | undefined {
  try {
    return { value: compute() };
  } catch {
    return undefined;
  }
}
