import { Injectable } from '@nestjs/common';
import { BotStateChangedEvt, type Bot, type BotLifecycleCommand, type BotState, type TypedEnvelope } from '@garde/contracts';
import { transition } from '@garde/domain';
import { MessageBus } from '@garde/platform';
import { BotException } from '../../errors/bot.exception.js';
import { BotMetrics } from '../../metrics/bot.metrics.js';
import { BotRepository, toBot } from '../../persistence/index.js';
import { KillSwitchGate } from '../../state/kill-switch.gate.js';
import { authorizeMutation, contextOf } from '../bot-rules.js';

/** The lifecycle actions an operator asks for (halt and fail are the system's). */
export type OperatorAction = 'start' | 'pause' | 'resume' | 'stop';

/**
 * start, pause, resume or stop one bot: the domain's state machine decides, the row is locked while
 * it does, the transition is persisted with its history row, then published.
 */
@Injectable()
export class ChangeBotStateUseCase {
  constructor(
    private readonly repository: BotRepository,
    private readonly gate: KillSwitchGate,
    private readonly bus: MessageBus,
    private readonly metrics: BotMetrics,
  ) {}

  async execute(action: OperatorAction, command: BotLifecycleCommand, env: TypedEnvelope<unknown>): Promise<Bot> {
    const actor = authorizeMutation(env.actor, `${action} a bot`);
    const ctx = contextOf(env);
    const at = new Date();
    const changed = await this.repository.changeState(command.botId, (current) => {
      const from = current.state as BotState;
      const next = transition(from, action);
      if (!next.ok) throw new BotException('INVALID_TRANSITION', next.message, { botId: current.id, state: from });
      // Checked under the row lock and the kill-switch lock: a halt cannot slip in between.
      if (action === 'start' || action === 'resume') this.gate.assertMayRun({ botId: current.id, exchangeId: current.exchangeId }, action);
      return { to: next.to, reason: command.reason, actor, scope: null, correlationId: ctx.correlationId, at };
    });
    if (!changed) throw new BotException('NOT_FOUND', `no bot with id "${command.botId}"`, { botId: command.botId });
    const from = changed.before.state as BotState;
    const to = changed.after.state as BotState;
    this.metrics.transitions.inc({ from, to });
    try {
      await this.bus.publish(BotStateChangedEvt, { botId: command.botId, from, to, reason: command.reason }, ctx, command.botId);
    } catch (err) {
      throw new BotException('UNAVAILABLE', `bot ${command.botId} is ${to}, but the event could not be published to the audit stream (${String(err)})`, {
        botId: command.botId,
      });
    }
    return toBot(changed.after);
  }
}
