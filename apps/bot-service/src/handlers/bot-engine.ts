import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import {
  BotStateChangedEvt,
  MarketSubscribeCmd,
  OrderAcceptedEvt,
  OrderCanceledEvt,
  OrderFilledEvt,
  OrderLostEvt,
  OrderRejectedEvt,
  OrderSettledEvt,
  OrderUnknownEvt,
  type Order,
  type OrderFill,
} from '@garde/contracts';
import { isFinal } from '@garde/domain';
import {
  JsonLogger,
  MessageBus,
  SERVICE_CONFIG,
  errorFields,
  openBucket,
  runEvery,
  unreachableCause,
  type ContextLogger,
  type PeriodicTask,
} from '@garde/platform';
import type { BotConfig } from '../config/bot.config.js';
import { BotMetrics } from '../metrics/bot.metrics.js';
import type { BotRow } from '../persistence/bot.entities.js';
import { BotRepository } from '../persistence/index.js';
import { BotLeaseTable } from '../state/bot-leases.js';
import { MarketCache, marketKey } from '../state/market-cache.js';
import { ENGINE_ACTOR, FailBotUseCase } from '../use-cases/fail-bot/fail-bot.use-case.js';
import { RunBotStepUseCase, type BotRun } from '../use-cases/run-bot-step/run-bot-step.use-case.js';

/** Leases are taken over this long after their end at the earliest (replicas' clocks differ a little). */
const CLOCK_SKEW_MS = 1000;

interface Runner extends BotRun {
  /** The step running now, if any (steps of one bot never overlap). */
  running?: Promise<void>;
  /** Something happened during the running step: step again when it ends. */
  again: boolean;
  /** When the ticker (gateway's receipt) or the fill (venue's execution) that woke this step happened (epoch ms): tick→intent latency. */
  tickAt?: number;
  lastStepAt: number;
  retryAt: number;
}

/**
 * The strategy engine (DESIGN §5): runs the RUNNING bots whose lease this replica holds.
 *
 * - Leases (KV `BOT_LEASES`, see BotLeaseTable): every LEASE_RENEW_MS the replica renews its leases and
 *   takes or hands back bots to hold its share of the fleet; a bot whose lease is lost stops here at once.
 * - A bot steps when its market ticks (the gateway's broadcast tickers), when one of its orders fills or
 *   ends (order events, seen on core NATS: the step uses what they carry), and at least every BOT_TICK_MS
 *   (DCA intervals, sends to retry); its orders and fills are read from the gateway when its lease is
 *   taken and every ENGINE_RESYNC_MS (an event missed is late, never lost).
 * - Steps of different bots run ENGINE_CONCURRENCY at a time; steps of one bot never overlap.
 * - A strategy that throws, too many venue errors, or a lease lost and not regained put the bot in
 *   ERROR with the cause (RB-002). PAUSED, HALTED, ERROR and STOPPED bots take no step.
 */
@Injectable()
export class BotEngine implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly runners = new Map<string, Runner>();
  private readonly byMarket = new Map<string, Set<string>>();
  /** The RUNNING bots as last listed (to start a runner when a lease is taken). */
  private listed = new Map<string, { bot: BotRow; syncedAt: Date | null }>();
  private readonly queue = new Set<string>();
  private active = 0;
  private readonly subscribedAt = new Map<string, number>();
  private readonly tasks: PeriodicTask[] = [];
  private leases?: BotLeaseTable;
  private round?: Promise<void>;
  private roundAgain?: Promise<void>;
  private market?: MarketCache;
  private stopping = false;
  private readonly log: ContextLogger;
  private readonly leaseLog: ContextLogger;

  constructor(
    private readonly repository: BotRepository,
    private readonly step: RunBotStepUseCase,
    private readonly fail: FailBotUseCase,
    private readonly metrics: BotMetrics,
    private readonly bus: MessageBus,
    @Inject(SERVICE_CONFIG) private readonly config: BotConfig,
    logger: JsonLogger,
  ) {
    this.log = logger.child('bot-engine');
    this.leaseLog = logger.child('bot-leases');
  }

  async onApplicationBootstrap(): Promise<void> {
    const market = (this.market = new MarketCache(this.bus, this.config.ENGINE_MAX_TICKER_AGE_MS));
    market.onTicker((exchangeId, symbol, receivedAt) => {
      for (const botId of this.byMarket.get(marketKey(exchangeId, symbol)) ?? []) this.wake(botId, receivedAt);
    });
    // Order events carry the changes a step needs; a fill is a market event like a tick (latency counted from it).
    // Only a fill or an order over wakes the bot: the others (an order accepted, open, unknown) change
    // nothing a strategy reads, and are kept for the next step (a tick's, at the latest).
    const seen = (order: Order, fill?: OrderFill) => {
      const runner = order.botId === null ? undefined : this.runners.get(order.botId);
      if (!runner) return;
      const known = runner.seen.orders.get(order.clientOrderId);
      if (!known || known.updatedAt <= order.updatedAt) runner.seen.orders.set(order.clientOrderId, order);
      if (fill) runner.seen.fills.push(fill);
      if (fill || isFinal(order.state)) this.wake(runner.bot.id, fill ? Date.parse(fill.at) : undefined);
    };
    this.bus.observe(OrderFilledEvt, (p) => seen(p.order, { ...p.fill, clientOrderId: p.order.clientOrderId }));
    this.bus.observe(OrderCanceledEvt, (p) => seen(p.order));
    for (const def of [OrderAcceptedEvt, OrderRejectedEvt, OrderUnknownEvt, OrderSettledEvt, OrderLostEvt] as const) this.bus.observe(def, (p) => seen(p));

    // A bot just started or resumed is taken at once, not at the next lease round.
    this.bus.observe(
      BotStateChangedEvt,
      (p) => p.to === 'RUNNING' && void this.leaseRound().catch((err: unknown) => this.log.warn('lease round failed', errorFields(err))),
      '>',
    );

    const kv = await openBucket(this.bus.nc, this.bus.topology.botLeasesBucket, { history: 1 });
    const counted = (event: string) => () => this.metrics.leaseEvents.inc({ event });
    this.leases = new BotLeaseTable(
      kv,
      this.bus.nc,
      {
        instanceId: this.config.INSTANCE_ID,
        ttlMs: this.config.LEASE_TTL_MS,
        regainTimeoutMs: this.config.LEASE_REGAIN_TIMEOUT_MS,
        clockSkewMs: CLOCK_SKEW_MS,
      },
      {
        acquired: (botId) => this.startRunner(botId),
        lost: (botId) => void this.detach(botId),
        releasing: (botId) => this.stopRunner(botId),
        unregained: (botId, cause) => this.failBot(botId, 'lease-lost', cause),
      },
      {
        acquired: counted('acquired'),
        renewed: counted('renewed'),
        released: counted('released'),
        lost: (reason) => this.metrics.leaseEvents.inc({ event: `lost-${reason}` }),
      },
      this.leaseLog,
    );
    await this.leases.start();
    await this.leaseRound().catch((err: unknown) => this.log.error('first lease round failed', errorFields(err)));
    const onError = (what: string) => (err: unknown) => this.log.error(what, errorFields(err));
    this.tasks.push(runEvery(this.config.LEASE_RENEW_MS, () => this.leaseRound(), onError('a lease round failed')));
    this.tasks.push(runEvery(this.config.BOT_TICK_MS, () => this.tickAll(), onError('a strategy engine pass failed')));
  }

  /** Stops stepping, waits for steps in flight, and hands the leases back so other replicas take the bots at once. */
  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.tasks.splice(0).map((t) => t.stop()));
    this.queue.clear();
    await this.leases?.releaseAll().catch((err: unknown) => this.log.warn('could not hand the leases back', errorFields(err)));
    this.leases?.stop();
  }

  /** Bots this replica runs now. */
  runningHere(): string[] {
    return [...this.runners.keys()];
  }

  /**
   * One lease round at a time: rounds asked for while one runs make one more round after it (a burst of
   * 1,000 bots started is one or two rounds, not 1,000).
   */
  private leaseRound(): Promise<void> {
    if (this.round) {
      this.roundAgain ??= this.round
        .catch(() => undefined)
        .then(() => {
          this.roundAgain = undefined;
          return this.leaseRound();
        });
      return this.roundAgain;
    }
    this.round = this.doLeaseRound().finally(() => (this.round = undefined));
    return this.round;
  }

  private async doLeaseRound(): Promise<void> {
    if (this.stopping || !this.leases) return;
    this.listed = new Map((await this.repository.runningForEngine()).map((r) => [r.bot.id, r]));
    await this.leases.cycle(new Set(this.listed.keys()));
    this.metrics.leasesHeld.set(this.runners.size);
    await this.subscribeMarkets();
  }

  /** Keeps the gateway polling the markets of the bots run here (a subscription is renewed at a third of its TTL). */
  private async subscribeMarkets(): Promise<void> {
    const ttl = this.config.ENGINE_SUBSCRIPTION_TTL_MS;
    const due = [...this.byMarket.keys()].filter((key) => Date.now() - (this.subscribedAt.get(key) ?? 0) > ttl / 3);
    await Promise.all(
      due.map(async (key) => {
        const [exchangeId, symbol] = [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)];
        const reply = await this.bus.request(
          MarketSubscribeCmd,
          { exchangeId, symbol, ttlMs: ttl },
          { actor: ENGINE_ACTOR },
          this.config.ENGINE_REQUEST_TIMEOUT_MS,
        );
        if (reply.ok) this.subscribedAt.set(key, Date.now());
        else this.log.warn('market subscription refused', { exchangeId, symbol, code: reply.error.code, message: reply.error.message });
      }),
    );
  }

  private startRunner(botId: string): void {
    const listed = this.listed.get(botId);
    if (!listed || this.runners.has(botId)) return;
    const runner: Runner = {
      bot: listed.bot,
      syncedAt: listed.syncedAt,
      needsSync: true,
      seen: { orders: new Map(), fills: [] },
      nextSyncAt: 0,
      applied: new Map(),
      again: false,
      lastStepAt: 0,
      retryAt: 0,
    };
    this.runners.set(botId, runner);
    const key = marketKey(listed.bot.exchangeId, listed.bot.symbol);
    this.byMarket.set(key, (this.byMarket.get(key) ?? new Set()).add(botId));
    if (!this.subscribedAt.has(key)) void this.subscribeMarkets();
    this.wake(botId);
  }

  /** Stops running a bot here at once (no new step starts); resolves when its step in flight has ended. */
  private async stopRunner(botId: string): Promise<void> {
    await this.detach(botId)?.running;
  }

  /** Forgets a bot's runner: no step of it starts any more. */
  private detach(botId: string): Runner | undefined {
    const runner = this.runners.get(botId);
    if (!runner) return undefined;
    this.runners.delete(botId);
    this.queue.delete(botId);
    const key = marketKey(runner.bot.exchangeId, runner.bot.symbol);
    const bots = this.byMarket.get(key);
    bots?.delete(botId);
    if (bots?.size === 0) this.byMarket.delete(key);
    this.metrics.leasesHeld.set(this.runners.size);
    return runner;
  }

  /** Every BOT_TICK_MS, the bots that have not stepped for that long step (a market that does not tick, DCA timing, sends to retry). */
  private tickAll(): Promise<void> {
    const now = Date.now();
    for (const runner of this.runners.values()) if (now - runner.lastStepAt >= this.config.BOT_TICK_MS) this.wake(runner.bot.id);
    return Promise.resolve();
  }

  /** Asks for a step of the bot: queued, or again after its step in flight. */
  private wake(botId: string, tickAt?: number): void {
    const runner = this.runners.get(botId);
    if (!runner || this.stopping) return;
    // The earliest event not yet stepped on: latency is counted from it (the pessimistic reading).
    if (tickAt !== undefined) runner.tickAt = Math.min(runner.tickAt ?? tickAt, tickAt);
    if (runner.running) {
      runner.again = true;
      return;
    }
    this.queue.add(botId);
    this.drain();
  }

  private drain(): void {
    while (this.active < this.config.ENGINE_CONCURRENCY && this.queue.size > 0) {
      const botId = this.queue.values().next().value as string;
      this.queue.delete(botId);
      const runner = this.runners.get(botId);
      if (!runner || runner.running) continue;
      this.active++;
      runner.running = this.run(runner).finally(() => {
        this.active--;
        runner.running = undefined;
        if (runner.again && this.runners.get(botId) === runner) {
          runner.again = false;
          this.queue.add(botId);
        }
        this.drain();
      });
    }
  }

  private async run(runner: Runner): Promise<void> {
    const bot = runner.bot;
    const now = Date.now();
    if (runner.retryAt > now || !this.leases?.holds(bot.id)) return;
    runner.lastStepAt = now;
    const tickAt = runner.tickAt;
    runner.tickAt = undefined;
    const market = this.market!.snapshot(bot.exchangeId, bot.symbol, now);
    if (typeof market === 'string') {
      this.metrics.engineSteps.inc({ strategy: bot.strategy, outcome: market });
      return;
    }
    try {
      const { outcome, intents } = await this.step.execute(runner, market, () => this.leases?.holds(bot.id) === true && this.runners.get(bot.id) === runner);
      this.metrics.engineSteps.inc({ strategy: bot.strategy, outcome });
      // The gateway's reads or the bot's sends unanswered (the platform away): again after a pause, not at every tick.
      if (outcome === 'gateway-unavailable') runner.retryAt = Date.now() + this.config.ENGINE_RETRY_AFTER_MS;
      // Paused, halted or stopped meanwhile: the next lease round hands its lease back.
      if (outcome === 'not-running') this.detach(bot.id);
      for (const intent of intents) this.metrics.intents.inc({ strategy: bot.strategy, kind: intent.kind });
      if (intents.length > 0 && tickAt !== undefined) this.metrics.tickToIntent.observe((Date.now() - tickAt) / 1000);
    } catch (err) {
      const unreachable = unreachableCause(err);
      if (unreachable) {
        // PostgreSQL away (restarting, a connection cut): not the strategy's failure. The step wrote all or
        // nothing; it runs again after a pause, from what the database holds.
        this.metrics.engineSteps.inc({ strategy: bot.strategy, outcome: 'database-unavailable' });
        this.log.warn('a bot step could not reach the database; trying again shortly', { botId: bot.id, cause: unreachable });
        runner.engine = undefined;
        // Order events it had taken are read again from the gateway.
        runner.needsSync = true;
        runner.retryAt = Date.now() + this.config.ENGINE_RETRY_AFTER_MS;
        return;
      }
      this.metrics.engineSteps.inc({ strategy: bot.strategy, outcome: 'failed' });
      const cause = `strategy ${bot.strategy} failed: ${err instanceof Error ? err.message : String(err)}`;
      this.log.error('bot in ERROR: its strategy failed (RB-002)', { botId: bot.id, ...errorFields(err) });
      this.detach(bot.id);
      await this.failBot(bot.id, /venue or gateway errors/.test(cause) ? 'venue-errors' : 'exception', cause, bot.strategy);
    }
  }

  private async failBot(botId: string, cause: 'exception' | 'venue-errors' | 'lease-lost', reason: string, strategy?: string): Promise<void> {
    this.metrics.strategyErrors.inc({ strategy: strategy ?? this.listed.get(botId)?.bot.strategy ?? 'unknown', cause });
    await this.fail.execute(botId, reason);
  }
}
