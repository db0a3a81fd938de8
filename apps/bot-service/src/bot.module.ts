import { Module } from '@nestjs/common';
import { JsonLogger, KillSwitchWatcher, MessageBus, NATS_CONNECTION, type NatsConnection } from '@garde/platform';
import { BotHandlers } from './handlers/bot.handlers.js';
import { KillSwitchListener } from './handlers/kill-switch.listener.js';
import { BotMetrics } from './metrics/bot.metrics.js';
import { BotRepository } from './persistence/bot.repository.js';
import { KillSwitchGate } from './state/kill-switch.gate.js';
import { ChangeBotStateUseCase } from './use-cases/change-bot-state/change-bot-state.use-case.js';
import { CreateBotUseCase } from './use-cases/create-bot/create-bot.use-case.js';
import { GetBotUseCase } from './use-cases/get-bot/get-bot.use-case.js';
import { HaltBotsInScopeUseCase } from './use-cases/halt-bots-in-scope/halt-bots-in-scope.use-case.js';
import { ListBotsUseCase } from './use-cases/list-bots/list-bots.use-case.js';
import { BotStatusReader } from './use-cases/bot-status/bot-status.reader.js';
import { BotEngine } from './handlers/bot-engine.js';
import { FailBotUseCase } from './use-cases/fail-bot/fail-bot.use-case.js';
import { RunBotStepUseCase } from './use-cases/run-bot-step/run-bot-step.use-case.js';

@Module({
  providers: [
    {
      provide: KillSwitchWatcher,
      useFactory: (nc: NatsConnection, bus: MessageBus, logger: JsonLogger) => new KillSwitchWatcher(nc, bus.topology, logger.child('kill-switch-watcher')),
      inject: [NATS_CONNECTION, MessageBus, JsonLogger],
    },
    BotRepository,
    BotMetrics,
    KillSwitchGate,
    CreateBotUseCase,
    ChangeBotStateUseCase,
    GetBotUseCase,
    ListBotsUseCase,
    BotStatusReader,
    HaltBotsInScopeUseCase,
    KillSwitchListener,
    BotHandlers,
    FailBotUseCase,
    RunBotStepUseCase,
    BotEngine,
  ],
})
export class BotModule {}
