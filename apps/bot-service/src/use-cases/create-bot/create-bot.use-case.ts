import { Injectable } from '@nestjs/common';
import { BotCreatedEvt, type Bot, type CreateBot, type ScopeState, type TypedEnvelope } from '@garde/contracts';
import { parseStrategyParameters } from '@garde/domain';
import { MessageBus } from '@garde/platform';
import { BotException } from '../../errors/bot.exception.js';
import { BotRepository, toBot } from '../../persistence/index.js';
import { KillSwitchGate } from '../../state/kill-switch.gate.js';
import { authorizeMutation, contextOf, haltReason, newBotId } from '../bot-rules.js';

/**
 * Records a new bot, once its strategy and parameters are valid (every problem is named). In a HALTED scope it is created HALTED: no bot of a halted scope is ever
 * CREATED, RUNNING or PAUSED.
 */
@Injectable()
export class CreateBotUseCase {
  constructor(
    private readonly repository: BotRepository,
    private readonly gate: KillSwitchGate,
    private readonly bus: MessageBus,
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
}
