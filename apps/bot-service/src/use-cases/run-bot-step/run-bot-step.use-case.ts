import { Inject, Injectable } from '@nestjs/common';
import { BotIntentSentEvt, BotOrdersQry, OrderCancelCmd, OrderSubmitCmd, type BotIntent, type ErrorCode, type Order, type OrderFill } from '@garde/contracts';
import {
  Decimal,
  STRATEGIES,
  isFinal,
  isStrategyName,
  type MarketSnapshot,
  type ParametersResult,
  type StrategyFill,
  type StrategyIntent,
} from '@garde/domain';
import { JsonLogger, MessageBus, SERVICE_CONFIG, errorFields, type ContextLogger } from '@garde/platform';
import type { BotConfig } from '../../config/bot.config.js';
import type { BotRow } from '../../persistence/bot.entities.js';
import { BotRepository, fillKey, type RecordedFill, type SendFence } from '../../persistence/index.js';
import { ENGINE_ACTOR } from '../fail-bot/fail-bot.use-case.js';

/** An intent as kept in PostgreSQL until the gateway has it (decimals as strings), as BotIntentSentEvt carries it. */
export type StoredIntent = BotIntent;

/** What the engine keeps per bot: the strategy's state, intents still to send, places the gateway refused. */
export interface EngineState {
  strategy: unknown;
  outbox: StoredIntent[];
  refused: string[];
  /** When the venue rejected one of its orders, or a send failed (RB-002: too many in a window = ERROR). */
  errors?: Array<{ at: number; what: string }>;
}

/**
 * Refusals that prove the order was never made (the gateway refused it before persisting it). Any other
 * failure (a timeout, an internal error) may hide an order that exists: the intent is sent again with
 * the same client order id, which the gateway answers with that order rather than a second one.
 */
const NEVER_MADE: ReadonlySet<ErrorCode> = new Set([
  'CONTRACT_VIOLATION',
  'INVALID_REQUEST',
  'FORBIDDEN',
  'UNAUTHENTICATED',
  'KILL_SWITCH_ACTIVE',
  'RISK_DENIED',
  'NO_VENUE_CONFIGURED',
]);
/** Refusals that say nothing about the bot itself: they never count towards ENGINE_MAX_ERRORS. */
const NOT_FAILURES: ReadonlySet<ErrorCode> = new Set(['RATE_LIMITED', 'KILL_SWITCH_ACTIVE', 'RISK_STATE_UNKNOWN']);
/**
 * A Garde service not answering, or not in time (restarting, overloaded, without its database): the
 * platform is away, not the bot broken nor its venue. Not counted towards ENGINE_MAX_ERRORS (a restart of
 * risk-service or the gateway must not put a fleet in ERROR); the intent and those after it stay in the
 * outbox, unsent, and the bot tries again after a pause (`away`, ENGINE_RETRY_AFTER_MS) rather
 * than at every tick. Sent again under the same client order ids: one that did reach the venue is
 * answered with its order, never doubled.
 */
const PLATFORM_AWAY: ReadonlySet<ErrorCode> = new Set(['UNAVAILABLE', 'TIMEOUT']);
const ENDED_UNFILLED = new Set(['CANCELED', 'REJECTED', 'EXPIRED', 'LOST']);
/** Orders changed this long before the last read are read again (clock and commit skew between services). */
const RESYNC_MARGIN_MS = 60_000;

/** Why a step did not run (metric label). */
export type SkipReason = 'no-market-data' | 'stale-market-data' | 'gateway-unavailable';

/** What a step did (metric label): ran the strategy, found nothing to do, sent intents left over, or why it could not run. */
export type StepOutcome = 'stepped' | 'idle' | 'sent' | 'not-running' | SkipReason;

/** What the engine keeps in memory for a bot whose lease it holds. */
export interface BotRun {
  readonly bot: BotRow;
  /** The engine state as this replica last saved it; undefined until read from PostgreSQL. */
  engine?: EngineState;
  /** When the gateway's orders and fills were last read for this bot (persisted as `synced_at`). */
  syncedAt: Date | null;
  /** Read the bot's orders and fills from the gateway before stepping (a lease just taken, a read that failed). */
  needsSync: boolean;
  /**
   * Order events of this bot seen since its last step (core NATS, at most once): the changes they carry
   * are stepped on without asking the gateway; one missed is caught by the read every ENGINE_RESYNC_MS.
   */
  seen: { orders: Map<string, Order>; fills: OrderFill[] };
  /**
   * When this replica reads the gateway for this bot again (epoch ms): a random point between half and
   * all of ENGINE_RESYNC_MS after the last read, so that the reads of a fleet whose leases were taken
   * together spread over the interval instead of coming all at once.
   */
  nextSyncAt: number;
  /**
   * Fills this replica recorded for the bot (`<clientOrderId>/<tradeId>` → when), kept as long as a read
   * of the gateway may list them again: a read that lists only those and new ones steps in one statement.
   */
  applied: Map<string, number>;
  /** Why its last send stopped short (PLATFORM_AWAY: a Garde service not answering); undefined once one went through. */
  away?: string;
}

/**
 * One step of one RUNNING bot (DESIGN §5), run by the replica holding its lease: the market from the
 * gateway's broadcast tickers, the changes its order events carry, the bot's orders and fills read from
 * the gateway when its lease is taken and at least every ENGINE_RESYNC_MS, the strategy's step (pure),
 * then its intents sent to the gateway.
 *
 * Nothing is lost or doubled across a crash: the fills applied, the next strategy state and the intents
 * are saved in one transaction before anything is sent (an outbox; the steps of bots woken together
 * share one statement, each bot's part all or nothing); intents still in the outbox are
 * sent first at the next step, with the same client order ids, which the gateway makes idempotent.
 * A step with nothing new from the gateway runs the strategy on the state in memory first, and writes
 * nothing when that changes nothing: most market ticks cost no database round trip.
 */
@Injectable()
export class RunBotStepUseCase {
  private readonly log: ContextLogger;
  private readonly parsed = new WeakMap<BotRow, ParametersResult<unknown>>();

  constructor(
    private readonly repository: BotRepository,
    private readonly bus: MessageBus,
    @Inject(SERVICE_CONFIG) private readonly config: BotConfig,
    logger: JsonLogger,
  ) {
    this.log = logger.child('bot-engine');
  }

  /**
   * Runs the step on `market`; `mayRun` says whether this replica still holds the bot's lease (checked
   * before anything is sent). Answers what it did and the intents it made. A strategy's failure is
   * thrown (the bot goes to ERROR).
   */
  async execute(run: BotRun, market: MarketSnapshot, mayRun: () => boolean): Promise<{ outcome: StepOutcome; intents: StoredIntent[] }> {
    const bot = run.bot;
    if (!isStrategyName(bot.strategy)) throw new Error(`unknown strategy "${bot.strategy}"`);
    const strategy = STRATEGIES[bot.strategy];
    // A running bot's parameters do not change: parsed once per row.
    let parsed = this.parsed.get(bot);
    if (!parsed) this.parsed.set(bot, (parsed = strategy.parseParameters(bot.parameters)));
    if (!parsed.ok) throw new Error(`invalid ${bot.strategy} parameters: ${parsed.errors.join('; ')}`);
    const engine: EngineState = (run.engine ??= ((await this.repository.engineState(bot.id)) as EngineState | null) ?? {
      strategy: strategy.initialState(bot.id, bot.symbol),
      outbox: [],
      refused: [],
    });
    if (engine.outbox.length > 0) {
      run.engine = await this.flush(run, engine, mayRun);
      return { outcome: run.away ? 'gateway-unavailable' : 'sent', intents: [] };
    }

    const sync = run.needsSync || Date.now() >= run.nextSyncAt;
    let read: { orders: Order[]; fills: OrderFill[] } = { orders: [], fills: [] };
    const readAt = new Date();
    const events = run.seen;
    // Taken before the read: events arriving meanwhile are stepped on next time (applying one twice is
    // harmless). None (most ticks): nothing to take, nothing allocated.
    if (events.orders.size > 0 || events.fills.length > 0) run.seen = { orders: new Map(), fills: [] };
    if (sync) {
      run.needsSync = false;
      const since = new Date((run.syncedAt ?? bot.createdAt).getTime() - RESYNC_MARGIN_MS).toISOString();
      const reply = await this.bus.request(BotOrdersQry, { botId: bot.id, since }, { actor: ENGINE_ACTOR }, this.config.ENGINE_REQUEST_TIMEOUT_MS);
      if (!reply.ok) {
        run.needsSync = true;
        return { outcome: 'gateway-unavailable', intents: [] };
      }
      read = reply.result;
      run.nextSyncAt = readAt.getTime() + this.config.ENGINE_RESYNC_MS * (0.5 + Math.random() / 2);
    } else if (events.fills.length > 0 || [...events.orders.values()].some((o) => isFinal(o.state))) {
      read = { orders: [...events.orders.values()], fills: events.fills };
    } else if (engine.refused.length === 0) {
      // Nothing the strategy reads (most order events: an order accepted, open, partly filled — its fills
      // come as fill events): a step like a tick's, no statement unless the strategy makes something.
      const dry = strategy.step(parsed.params as never, { state: engine.strategy as never, market, fills: [], endedOrders: [] });
      // The same object back: the strategy saw nothing to do (most ticks); else compare what it made.
      if (dry.intents.length === 0 && (dry.state === engine.strategy || JSON.stringify(dry.state) === JSON.stringify(engine.strategy))) {
        return { outcome: 'idle', intents: [] };
      }
    }

    // Fills this replica recorded are not fills to apply: without them, a read of the gateway with nothing
    // new steps like an order event does (one statement, grouped with other bots'), not in a transaction.
    read = { orders: read.orders, fills: read.fills.filter((f) => !run.applied.has(fillKey(f))) };
    const orders = new Map<string, Order>(read.orders.map((o) => [o.clientOrderId, o]));
    let made: StoredIntent[] = [];
    // A step with intents enters the bot's send fence in its statement (one round trip less before the
    // send); let go below once the send is over, or if it never happens.
    let fence: SendFence | undefined;
    try {
      // From the state this replica saved, with fills it has not recorded: usually new, and that state still
      // current, so the step is one statement (`known`); otherwise, again in a transaction.
      const stepped = await this.repository.engineStep(
        bot.id,
        withSide(read.fills, orders),
        sync ? readAt : run.syncedAt,
        (recorded, locked) => {
          // The state as it is now (another step of this bot may have saved one since it was read).
          const current = (locked as EngineState | null) ?? engine;
          const state = current.strategy as never;
          const open = new Set(strategy.openOrders(state));
          const ended = [
            ...[...orders.values()].filter((o) => ENDED_UNFILLED.has(o.state) && open.has(o.clientOrderId)).map((o) => o.clientOrderId),
            ...current.refused,
          ];
          const fills: StrategyFill[] = read.fills
            .filter((f) => recorded.has(fillKey(f)) && orders.has(f.clientOrderId))
            .map((f) => ({
              clientOrderId: f.clientOrderId,
              side: orders.get(f.clientOrderId)!.side,
              price: Decimal.of(f.price),
              quantity: Decimal.of(f.quantity),
              fee: Decimal.of(f.fee),
              feeCurrency: f.feeCurrency,
            }));
          const rejected = [...orders.values()].filter((o) => o.state === 'REJECTED' && open.has(o.clientOrderId));
          const errors = this.recentErrors(
            bot,
            current,
            rejected.map((o) => `order ${o.clientOrderId} rejected by the venue: ${o.lastError ?? 'no reason given'}`),
          );
          const step = strategy.step(parsed.params as never, { state, market, fills, endedOrders: ended });
          made = step.intents.map(stored);
          return { strategy: step.state, outbox: [...current.outbox, ...made], refused: [], errors } satisfies EngineState;
        },
        { engine, sends: (e) => e.outbox.length > 0 && mayRun() },
      );
      // No longer RUNNING (halted, paused or stopped meanwhile): nothing is sent.
      if (!stepped) return { outcome: 'not-running', intents: [] };
      const next = stepped.engine;
      fence = stepped.fence;
      // Every fill of the step is recorded now (by this step, or by one before it).
      this.remember(run, read.fills);
      if (sync) run.syncedAt = readAt;
      run.engine = next.outbox.length > 0 ? await this.flush(run, next, mayRun, fence) : next;
      return { outcome: run.away && run.engine.outbox.length > 0 ? 'gateway-unavailable' : 'stepped', intents: made };
    } finally {
      fence?.leave();
    }
  }

  /** Keeps the fills just recorded, and forgets those no read of the gateway lists any more. */
  private remember(run: BotRun, recorded: OrderFill[]): void {
    const now = Date.now();
    for (const fill of recorded) run.applied.set(fillKey(fill), now);
    // A read lists the orders changed since the previous one (at most ENGINE_RESYNC_MS ago) less RESYNC_MARGIN_MS.
    const horizon = now - this.config.ENGINE_RESYNC_MS - 2 * RESYNC_MARGIN_MS;
    for (const [key, at] of run.applied) {
      if (at >= horizon) break; // in insertion order: the rest is newer
      run.applied.delete(key);
    }
  }

  /**
   * Sends the outbox while this replica holds the lease (else the next owner will) and saves what is
   * left; `fence`: the bot's send fence, when the step entered it already.
   */
  private async flush(run: BotRun, engine: EngineState, mayRun: () => boolean, fence?: SendFence): Promise<EngineState> {
    const bot = run.bot;
    if (!mayRun()) return engine;
    const after = await this.send(run, engine, fence);
    await this.repository.saveEngine(bot.id, after);
    return after;
  }

  /**
   * Sends the outbox in order; answers what is left to send and what the gateway refused for good.
   * Only while the bot is RUNNING, inside its send fence (BotRepository.whileRunning): a stop with
   * --cancel-orders waits for a send in flight before it cancels the bot's orders, and a send after the
   * stop sends nothing (its intents stay in the outbox, unsent: a STOPPED bot never steps again).
   */
  private async send(run: BotRun, engine: EngineState, fence = this.repository.enterFence(run.bot.id)): Promise<EngineState> {
    const bot = run.bot;
    const sent = await this.repository.whileEntered(fence, async () => {
      const outbox: StoredIntent[] = [];
      const refused = [...engine.refused];
      const failures: string[] = [];
      let away: string | undefined;
      for (const [i, intent] of engine.outbox.entries()) {
        // An order's story in the audit trail starts here: the intent, then what risk-service, the gateway
        // and the venue did with it, all under its client order id (a cancel's: the order it cancels). The
        // event is written to the connection now, before the order request, so the stream has it before
        // anything the order causes; its ack is not waited for (a JetStream round trip per intent, inside
        // the send fence, on the order's path) and comes for the intents of a few milliseconds at once.
        const ctx = { actor: ENGINE_ACTOR, correlationId: intent.clientOrderId };
        this.bus.publishNow(BotIntentSentEvt, { botId: bot.id, strategy: bot.strategy, intent }, ctx, (err: unknown) =>
          this.log.warn('the audit event of an intent was not published', { botId: bot.id, clientOrderId: intent.clientOrderId, ...errorFields(err) }),
        );
        const reply =
          intent.kind === 'place'
            ? await this.bus.request(
                OrderSubmitCmd,
                {
                  clientOrderId: intent.clientOrderId,
                  botId: bot.id,
                  exchangeId: bot.exchangeId,
                  symbol: bot.symbol,
                  side: intent.side,
                  type: intent.type,
                  quantity: intent.quantity,
                  ...(intent.price === undefined ? {} : { price: intent.price }),
                  reduceOnly: intent.reduceOnly,
                },
                ctx,
                this.config.ENGINE_REQUEST_TIMEOUT_MS,
              )
            : await this.bus.request(
                OrderCancelCmd,
                { clientOrderId: intent.clientOrderId, reason: `${bot.strategy} strategy of bot ${bot.id}` },
                ctx,
                this.config.ENGINE_REQUEST_TIMEOUT_MS,
              );
        if (reply.ok) continue;
        if (PLATFORM_AWAY.has(reply.error.code)) {
          away = `${reply.error.code}: ${reply.error.message}`;
          outbox.push(...engine.outbox.slice(i));
          break;
        }
        // Not the bot's failures: the gateway's own rate budget (the intent waits for room), a kill switch
        // (the bot is being HALTED, not broken).
        if (!NOT_FAILURES.has(reply.error.code)) failures.push(`${intent.kind} ${intent.clientOrderId}: ${reply.error.code}: ${reply.error.message}`);
        if (intent.kind === 'place') {
          // A place refused for good never became an order: the strategy hears it ended.
          if (NEVER_MADE.has(reply.error.code)) refused.push(intent.clientOrderId);
          else outbox.push(intent);
        } else if (reply.error.code !== 'NOT_FOUND' && reply.error.code !== 'INVALID_TRANSITION') {
          // A cancel of an order already over (or never made) has nothing left to do; any other failure, again.
          outbox.push(intent);
        }
      }
      if (away && !run.away) this.log.warn('orders of a bot wait: the platform does not answer; trying again shortly', { botId: bot.id, cause: away });
      if (!away && run.away) this.log.info('orders of a bot go through again', { botId: bot.id });
      run.away = away;
      return { strategy: engine.strategy, outbox, refused, errors: this.recentErrors(bot, engine, failures) };
    });
    return sent ?? engine;
  }

  /**
   * The errors of the last ENGINE_ERROR_WINDOW_MS with `fresh` added; ENGINE_MAX_ERRORS of them stop the
   * bot (thrown: the engine puts it in ERROR with this cause), so a strategy whose orders the venue keeps
   * rejecting, or a gateway that keeps failing, does not loop.
   */
  private recentErrors(bot: BotRow, engine: EngineState, fresh: string[]): Array<{ at: number; what: string }> {
    const now = Date.now();
    // Errors from before the bot last became RUNNING are over: a bot resumed from ERROR starts afresh.
    const since = Math.max(now - this.config.ENGINE_ERROR_WINDOW_MS, bot.stateSince.getTime());
    const errors = [...(engine.errors ?? []).filter((e) => e.at >= since), ...fresh.map((what) => ({ at: now, what }))];
    if (errors.length >= this.config.ENGINE_MAX_ERRORS) {
      throw new Error(`${errors.length} venue or gateway errors within ${this.config.ENGINE_ERROR_WINDOW_MS / 1000} s (last: ${errors.at(-1)!.what})`);
    }
    return errors;
  }
}

/** The fills as the bot records them: with their order's side (null when the gateway did not list the order), for its position (bot:status). */
function withSide(fills: OrderFill[], orders: ReadonlyMap<string, Order>): RecordedFill[] {
  return fills.map((f) => ({ ...f, side: orders.get(f.clientOrderId)?.side ?? null }));
}

function stored(intent: StrategyIntent): StoredIntent {
  if (intent.kind === 'cancel') return { kind: 'cancel', clientOrderId: intent.clientOrderId };
  return {
    kind: 'place',
    clientOrderId: intent.clientOrderId,
    side: intent.side,
    type: intent.type,
    ...(intent.price === undefined ? {} : { price: intent.price.toString() }),
    quantity: intent.quantity.toString(),
    reduceOnly: intent.reduceOnly,
  };
}
