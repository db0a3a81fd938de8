import { Inject, Injectable } from '@nestjs/common';
import {
  BotStateChangedEvt,
  OrdersCancelForBotCmd,
  type Bot,
  type BotLifecycleCommand,
  type BotOrdersCancellation,
  type BotState,
  type BotStopCommand,
  type BotStopResult,
  type TypedEnvelope,
} from '@garde/contracts';
import { transition } from '@garde/domain';
import { MessageBus, SERVICE_CONFIG } from '@garde/platform';
import type { BotConfig } from '../../config/bot.config.js';
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
    @Inject(SERVICE_CONFIG) private readonly config: BotConfig,
  ) {}

  /**
   * `bot:stop`. With `cancelOrders`: the bot goes to STOPPED (persisted, published), then the stop waits
   * until no order send of it is in flight (its send fence: none starts after STOPPED), then asks the
   * gateway to cancel all its orders and confirm with the venues, as the operator, in the stop's story.
   * Asked of a bot already STOPPED, only the cancellation runs again. When the orders are not all
   * cancelled (a send still in flight, the gateway or a venue unreachable, orders open or unsettled), the
   * answer is an error that says the bot IS stopped and, in its details, which orders are left.
   */
  async stop(command: BotStopCommand, env: TypedEnvelope<unknown>): Promise<BotStopResult> {
    if (!command.cancelOrders) return this.execute('stop', command, env);
    authorizeMutation(env.actor, 'stop a bot');
    const current = await this.repository.get(command.botId);
    if (!current) throw new BotException('NOT_FOUND', `no bot with id "${command.botId}"`, { botId: command.botId });
    const bot = current.state === 'STOPPED' ? toBot(current) : await this.execute('stop', command, env);
    const again = `run bot:stop ${bot.id} --reason="…" --cancel-orders again`;
    if (!(await this.repository.awaitSends(bot.id, this.config.STOP_FENCE_TIMEOUT_MS))) {
      throw new BotException(
        'UNAVAILABLE',
        `bot ${bot.id} is STOPPED, but an order send of it was still in flight after ${this.config.STOP_FENCE_TIMEOUT_MS} ms: its orders were not cancelled; ${again}`,
        { botId: bot.id, state: bot.state },
      );
    }
    const reply = await this.bus.request(OrdersCancelForBotCmd, { botId: bot.id, reason: command.reason }, contextOf(env), this.config.STOP_CANCEL_TIMEOUT_MS);
    if (!reply.ok) {
      throw new BotException(
        reply.error.code === 'TIMEOUT' ? 'TIMEOUT' : 'UNAVAILABLE',
        `bot ${bot.id} is STOPPED, but the gateway did not cancel its orders (${reply.error.code}: ${reply.error.message}): they may still be open at the venue; ${again}`,
        { botId: bot.id, state: bot.state },
      );
    }
    const cancellation = reply.result;
    if (!cancellation.flat) {
      throw new BotException('UNAVAILABLE', `bot ${bot.id} is STOPPED, but ${leftOver(cancellation)}; ${again}`, {
        botId: bot.id,
        state: bot.state,
        cancellation,
      });
    }
    return { ...bot, cancellation };
  }

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

/** What a cancel-all left behind, in one sentence. */
function leftOver(c: BotOrdersCancellation): string {
  const parts: string[] = [];
  if (c.stillOpen.length)
    parts.push(`${c.stillOpen.length} order(s) still open at the venue or not confirmed cancelled (${c.stillOpen.map((o) => o.clientOrderId).join(', ')})`);
  if (c.unsettled.length)
    parts.push(`${c.unsettled.length} order(s) with an outcome not known yet (${c.unsettled.map((o) => `${o.clientOrderId} ${o.state}`).join(', ')})`);
  if (c.unreachable.length) parts.push(`venue account(s) not reachable: ${c.unreachable.join(', ')}`);
  return parts.length ? parts.join('; ') : 'the venues did not confirm that none of its orders is open';
}
