import { Inject, Injectable } from '@nestjs/common';
import { BotCreatedEvt, MarketInfoQry, type Bot, type CreateBot, type MarketInfo, type ScopeState, type TypedEnvelope } from '@garde/contracts';
import { parseStrategyParameters } from '@garde/domain';
import { MessageBus, SERVICE_CONFIG, type MessageContext } from '@garde/platform';
import type { BotConfig } from '../../config/bot.config.js';
import { BotException } from '../../errors/bot.exception.js';
import { BotRepository, toBot } from '../../persistence/index.js';
import { KillSwitchGate } from '../../state/kill-switch.gate.js';
import { authorizeMutation, contextOf, haltReason, newBotId } from '../bot-rules.js';
import { describeMarket, marketRefusal, withVenueSteps } from './market-check.js';

/**
 * Records a new bot, once its definition is valid; otherwise nothing is written and the refusal says what
 * was wrong:
 * - its strategy and parameters (every problem is named): INVALID_REQUEST;
 * - its market, as the gateway knows it (MarketInfoQry, the gateway being the only process
 *   that knows exchange accounts and venue markets): no account for the exchange (NO_VENUE_CONFIGURED), a
 *   symbol the venue does not list (UNKNOWN_SYMBOL), venue markets that could not be loaded
 *   (EXCHANGE_UNAVAILABLE), or no answer within CREATE_MARKET_CHECK_TIMEOUT_MS (UNAVAILABLE);
 * - its parameters against the venue's price and quantity steps, which a running strategy trades with
 *   (the strategies' own checks: e.g. a grid whose orderSize is below one lot, or whose levels are closer
 *   than one tick): INVALID_REQUEST.
 * Not checked here: the venue's minimum quantity and notional (the strategies have no such check; an
 * order below them is rejected by the venue, and repeated rejections put the bot in ERROR, RB-002), and
 * DCA's quoteAmount against the quantity step (it depends on the price at each buy: UNTRADABLE then).
 *
 * In a HALTED scope the bot is created HALTED: no bot of a halted scope is ever CREATED, RUNNING or PAUSED.
 */
@Injectable()
export class CreateBotUseCase {
  constructor(
    private readonly repository: BotRepository,
    private readonly gate: KillSwitchGate,
    private readonly bus: MessageBus,
    @Inject(SERVICE_CONFIG) private readonly config: BotConfig,
  ) {}

  async execute(input: CreateBot, env: TypedEnvelope<unknown>): Promise<Bot> {
    const actor = authorizeMutation(env.actor, 'create a bot');
    const parsed = parseStrategyParameters(input.strategy, input.parameters);
    if (!parsed.ok) {
      throw new BotException('INVALID_REQUEST', `bot not created: ${input.strategy} parameters: ${parsed.errors.join('; ')}`, {
        strategy: input.strategy,
        errors: parsed.errors,
      });
    }
    const ctx = contextOf(env);
    const market = await this.marketOf(input, ctx);
    const fitted = parseStrategyParameters(input.strategy, withVenueSteps(input.parameters, market));
    if (!fitted.ok) {
      throw new BotException(
        'INVALID_REQUEST',
        `bot not created: ${input.strategy} parameters do not fit ${describeMarket(market)}: ${fitted.errors.join('; ')}`,
        {
          strategy: input.strategy,
          errors: fitted.errors,
          exchangeId: market.exchangeId,
          symbol: market.symbol,
          tickSize: market.tickSize,
          stepSize: market.stepSize,
        },
      );
    }
    const id = input.id ?? newBotId();
    const at = new Date();
    const result = await this.repository.insert(() => {
      const halting: ScopeState | undefined = this.gate.haltingScope({ botId: id, exchangeId: input.exchangeId });
      const reason = halting ? haltReason(halting) : 'created';
      return {
        bot: {
          id,
          name: input.name,
          strategy: input.strategy,
          parameters: input.parameters,
          exchangeId: input.exchangeId,
          symbol: input.symbol,
          state: halting ? 'HALTED' : 'CREATED',
          stateReason: reason,
        },
        record: { reason, actor, scope: halting?.scope ?? null, correlationId: ctx.correlationId, at },
      };
    });
    if (!result.ok) {
      throw result.duplicate === 'id'
        ? new BotException('ALREADY_EXISTS', `a bot with id "${id}" already exists`, { id })
        : new BotException('ALREADY_EXISTS', `a bot named "${input.name}" already exists`, { name: input.name });
    }
    const bot = toBot(result.row);
    try {
      await this.bus.publish(BotCreatedEvt, bot, ctx, bot.id);
    } catch (err) {
      throw new BotException('UNAVAILABLE', `bot ${bot.id} is created, but its event could not be published to the audit stream (${String(err)})`, {
        botId: bot.id,
      });
    }
    return bot;
  }

  /** The bot's market as the gateway knows it, or the refusal that says why there is none (nothing is written). */
  private async marketOf(input: CreateBot, ctx: MessageContext): Promise<MarketInfo> {
    const timeoutMs = this.config.CREATE_MARKET_CHECK_TIMEOUT_MS;
    const reply = await this.bus.request(MarketInfoQry, { exchangeId: input.exchangeId, symbol: input.symbol }, ctx, timeoutMs);
    if (!reply.ok) throw marketRefusal(input, reply.error, timeoutMs);
    return reply.result;
  }
}
