import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { BotCreateCmd, BotGetQry, BotListQry, BotPauseCmd, BotResumeCmd, BotStartCmd, BotStopCmd } from '@garde/contracts';
import { MessageBus } from '@garde/platform';
import { ChangeBotStateUseCase } from '../use-cases/change-bot-state/change-bot-state.use-case.js';
import { CreateBotUseCase } from '../use-cases/create-bot/create-bot.use-case.js';
import { GetBotUseCase } from '../use-cases/get-bot/get-bot.use-case.js';
import { ListBotsUseCase } from '../use-cases/list-bots/list-bots.use-case.js';
import { KillSwitchListener } from './kill-switch.listener.js';

/** The NATS boundary of the bots: contract-checked by the bus, one use case per message. */
@Injectable()
export class BotHandlers implements OnApplicationBootstrap {
  constructor(
    private readonly bus: MessageBus,
    private readonly killSwitch: KillSwitchListener,
    private readonly create: CreateBotUseCase,
    private readonly change: ChangeBotStateUseCase,
    private readonly get: GetBotUseCase,
    private readonly list: ListBotsUseCase,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // The kill-switch state is read, and applied to the bots, before the first request is answered.
    await this.killSwitch.start();
    const queue = this.bus.topology.queueGroup('bot-service');
    this.bus.serve(BotCreateCmd, queue, (p, env) => this.create.execute(p, env));
    this.bus.serve(BotStartCmd, queue, (p, env) => this.change.execute('start', p, env));
    this.bus.serve(BotPauseCmd, queue, (p, env) => this.change.execute('pause', p, env));
    this.bus.serve(BotResumeCmd, queue, (p, env) => this.change.execute('resume', p, env));
    this.bus.serve(BotStopCmd, queue, (p, env) => this.change.stop(p, env));
    this.bus.serve(BotGetQry, queue, (p) => this.get.execute(p));
    this.bus.serve(BotListQry, queue, (p) => this.list.execute(p));
  }
}
