import { Injectable } from '@nestjs/common';
import { BotFailedEvt, type Actor, type BotState } from '@garde/contracts';
import { transition } from '@garde/domain';
import { MessageBus } from '@garde/platform';
import { BotMetrics } from '../../metrics/bot.metrics.js';
import { BotRepository } from '../../persistence/index.js';

/** The strategy engine, acting on its own: what the audit trail names as the actor of a bot's ERROR. */
export const ENGINE_ACTOR: Actor = { id: 'bot-engine', kind: 'system' };

/**
 * Puts a bot in ERROR with its cause (RB-002): persisted with its history row, then published at
 * error level. It never restarts by itself: an operator resumes it, with a reason.
 */
@Injectable()
export class FailBotUseCase {
  constructor(
    private readonly repository: BotRepository,
    private readonly bus: MessageBus,
    private readonly metrics: BotMetrics,
  ) {}

  async execute(botId: string, cause: string): Promise<void> {
    const reason = cause.slice(0, 500);
    const changed = await this.repository.changeState(botId, (current) => {
      const next = transition(current.state as BotState, 'fail');
      if (!next.ok) throw new Error(next.message);
      return { to: next.to, reason, actor: ENGINE_ACTOR, scope: null, correlationId: botId, at: new Date() };
    });
    if (!changed) return;
    const from = changed.before.state as BotState;
    this.metrics.transitions.inc({ from, to: 'ERROR' });
    await this.bus.publish(BotFailedEvt, { botId, from, to: 'ERROR', reason }, { actor: ENGINE_ACTOR, correlationId: botId }, botId);
  }
}
