import { Inject, Injectable } from '@nestjs/common';
import { BotOrdersQry, MarketSubscribeCmd, OrderCancelCmd, OrderSubmitCmd, TickersQry, type ErrorCode, type Order } from '@garde/contracts';
import { Decimal, STRATEGIES, isStrategyName, type MarketSnapshot, type StrategyFill, type StrategyIntent } from '@garde/domain';
import { MessageBus, SERVICE_CONFIG } from '@garde/platform';
import type { BotConfig } from '../../config/bot.config.js';
import type { BotRow } from '../../persistence/bot.entities.js';
import { BotRepository } from '../../persistence/index.js';
import { ENGINE_ACTOR } from '../fail-bot/fail-bot.use-case.js';

/** An intent as kept in PostgreSQL until the gateway has it (decimals as strings). */
type StoredIntent =
  | { kind: 'place'; clientOrderId: string; side: 'buy' | 'sell'; type: 'limit' | 'market'; price?: string; quantity: string; reduceOnly: boolean }
  | { kind: 'cancel'; clientOrderId: string };

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
const ENDED_UNFILLED = new Set(['CANCELED', 'REJECTED', 'EXPIRED', 'LOST']);
/** Orders changed this long before the last read are read again (clock and commit skew between services). */
const RESYNC_MARGIN_MS = 60_000;

/** Why a step did not run (metric label). */
export type SkipReason = 'no-market-data' | 'stale-market-data' | 'gateway-unavailable';

/**
 * One step of one RUNNING bot (DESIGN §5): market data from the gateway, the bot's orders and fills
 * since its last step, the strategy's step (pure), then its intents sent to the gateway.
 *
 * Nothing is lost or doubled across a crash: the fills applied, the next strategy state and the intents
 * are saved in one transaction before anything is sent (an outbox); intents still in the outbox are
 * sent first at the next step, with the same client order ids, which the gateway makes idempotent.
 */
@Injectable()
export class RunBotStepUseCase {
  private readonly subscribedAt = new Map<string, number>();

  constructor(
    private readonly repository: BotRepository,
    private readonly bus: MessageBus,
    @Inject(SERVICE_CONFIG) private readonly config: BotConfig,
  ) {}

  /** Runs the step; answers why it did not, if it did not. A strategy's failure is thrown (the bot goes to ERROR). */
  async execute(bot: BotRow, saved: EngineState | null, syncedAt: Date | null): Promise<SkipReason | undefined> {
    if (!isStrategyName(bot.strategy)) throw new Error(`unknown strategy "${bot.strategy}"`);
    const strategy = STRATEGIES[bot.strategy];
    const parsed = strategy.parseParameters(bot.parameters);
    if (!parsed.ok) throw new Error(`invalid ${bot.strategy} parameters: ${parsed.errors.join('; ')}`);
    const engine: EngineState = saved ?? { strategy: strategy.initialState(bot.id, bot.symbol), outbox: [], refused: [] };
    if (engine.outbox.length > 0) {
      await this.repository.saveEngine(bot.id, await this.send(bot, engine));
      return undefined;
    }
    const market = await this.market(bot);
    if (typeof market === 'string') return market;
    const since = new Date((syncedAt ?? bot.createdAt).getTime() - RESYNC_MARGIN_MS).toISOString();
    const read = await this.bus.request(BotOrdersQry, { botId: bot.id, since }, { actor: ENGINE_ACTOR }, this.config.ENGINE_REQUEST_TIMEOUT_MS);
    if (!read.ok) return 'gateway-unavailable';
    const orders = new Map<string, Order>(read.result.orders.map((o) => [o.clientOrderId, o]));
    const next = await this.repository.engineStep(bot.id, read.result.fills, new Date(), (fresh, locked) => {
      // The state as it is now (another step of this bot may have saved one since it was read).
      const current = (locked as EngineState | null) ?? engine;
      const state = current.strategy as never;
      const open = new Set(strategy.openOrders(state));
      const ended = [
        ...[...orders.values()].filter((o) => ENDED_UNFILLED.has(o.state) && open.has(o.clientOrderId)).map((o) => o.clientOrderId),
        ...current.refused,
      ];
      const fills: StrategyFill[] = read.result.fills
        .filter((f) => fresh.has(`${f.clientOrderId}/${f.tradeId}`) && orders.has(f.clientOrderId))
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
        current,
        rejected.map((o) => `order ${o.clientOrderId} rejected by the venue: ${o.lastError ?? 'no reason given'}`),
      );
      const step = strategy.step(parsed.params as never, { state, market, fills, endedOrders: ended });
      return { strategy: step.state, outbox: [...current.outbox, ...step.intents.map(stored)], refused: [], errors } satisfies EngineState;
    });
    // No longer RUNNING (halted, paused or stopped meanwhile): nothing is sent.
    if (next && next.outbox.length > 0) await this.repository.saveEngine(bot.id, await this.send(bot, next));
    return undefined;
  }

  /** The bot's market now, subscribing to its ticker (renewed before its TTL ends). */
  private async market(bot: BotRow): Promise<MarketSnapshot | SkipReason> {
    const key = `${bot.exchangeId}/${bot.symbol}`;
    if (Date.now() - (this.subscribedAt.get(key) ?? 0) > this.config.ENGINE_SUBSCRIPTION_TTL_MS / 3) {
      const subscribed = await this.bus.request(
        MarketSubscribeCmd,
        { exchangeId: bot.exchangeId, symbol: bot.symbol, ttlMs: this.config.ENGINE_SUBSCRIPTION_TTL_MS },
        { actor: ENGINE_ACTOR },
        this.config.ENGINE_REQUEST_TIMEOUT_MS,
      );
      if (!subscribed.ok) return 'no-market-data';
      this.subscribedAt.set(key, Date.now());
    }
    const reply = await this.bus.request(
      TickersQry,
      { exchangeId: bot.exchangeId, symbol: bot.symbol },
      { actor: ENGINE_ACTOR },
      this.config.ENGINE_REQUEST_TIMEOUT_MS,
    );
    const ticker = reply.ok ? reply.result.tickers[0] : undefined;
    if (!ticker?.bid || !ticker.ask || !ticker.last) return 'no-market-data';
    if (ticker.stale) return 'stale-market-data';
    return {
      symbol: bot.symbol,
      bid: Decimal.of(ticker.bid),
      ask: Decimal.of(ticker.ask),
      last: Decimal.of(ticker.last),
      at: Date.now(),
      ...(ticker.tickSize ? { tickSize: Decimal.of(ticker.tickSize) } : {}),
      ...(ticker.stepSize ? { stepSize: Decimal.of(ticker.stepSize) } : {}),
    };
  }

  /** Sends the outbox in order; answers what is left to send and what the gateway refused for good. */
  private async send(bot: BotRow, engine: EngineState): Promise<EngineState> {
    const outbox: StoredIntent[] = [];
    const refused = [...engine.refused];
    const failures: string[] = [];
    const ctx = { actor: ENGINE_ACTOR, correlationId: bot.id };
    for (const intent of engine.outbox) {
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
      failures.push(`${intent.kind} ${intent.clientOrderId}: ${reply.error.code}: ${reply.error.message}`);
      if (intent.kind === 'place') {
        // A place refused for good never became an order: the strategy hears it ended.
        if (NEVER_MADE.has(reply.error.code)) refused.push(intent.clientOrderId);
        else outbox.push(intent);
      } else if (reply.error.code !== 'NOT_FOUND' && reply.error.code !== 'INVALID_TRANSITION') {
        // A cancel of an order already over (or never made) has nothing left to do; any other failure, again.
        outbox.push(intent);
      }
    }
    return { strategy: engine.strategy, outbox, refused, errors: this.recentErrors(engine, failures) };
  }

  /**
   * The errors of the last ENGINE_ERROR_WINDOW_MS with `fresh` added; ENGINE_MAX_ERRORS of them stop the
   * bot (thrown: the engine puts it in ERROR with this cause), so a strategy whose orders the venue keeps
   * rejecting, or a gateway that keeps failing, does not loop.
   */
  private recentErrors(engine: EngineState, fresh: string[]): Array<{ at: number; what: string }> {
    const now = Date.now();
    const errors = [...(engine.errors ?? []).filter((e) => now - e.at < this.config.ENGINE_ERROR_WINDOW_MS), ...fresh.map((what) => ({ at: now, what }))];
    if (errors.length >= this.config.ENGINE_MAX_ERRORS) {
      throw new Error(`${errors.length} venue or gateway errors within ${this.config.ENGINE_ERROR_WINDOW_MS / 1000} s (last: ${errors.at(-1)!.what})`);
    }
    return errors;
  }
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
