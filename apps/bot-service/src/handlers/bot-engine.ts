import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { JsonLogger, SERVICE_CONFIG, errorFields, runEvery, type ContextLogger, type PeriodicTask } from '@garde/platform';
import type { BotConfig } from '../config/bot.config.js';
import { BotMetrics } from '../metrics/bot.metrics.js';
import { BotRepository } from '../persistence/index.js';
import { FailBotUseCase } from '../use-cases/fail-bot/fail-bot.use-case.js';
import { RunBotStepUseCase, type EngineState } from '../use-cases/run-bot-step/run-bot-step.use-case.js';

const RETRY_AFTER_SKIP_MS = 5000;

/**
 * The strategy engine: every BOT_TICK_MS, one step for each RUNNING bot. A strategy that throws puts
 * its bot in ERROR with the cause (RB-002); a step that cannot run (no fresh price, gateway away) is
 * skipped and counted. PAUSED, HALTED, ERROR and STOPPED bots take no step.
 */
@Injectable()
export class BotEngine implements OnApplicationBootstrap, OnApplicationShutdown {
  private task: PeriodicTask | undefined;
  /** A bot whose market cannot be had (no venue, gateway away) is tried again after a while, not every tick. */
  private readonly retryAt = new Map<string, number>();
  private readonly log: ContextLogger;

  constructor(
    private readonly repository: BotRepository,
    private readonly step: RunBotStepUseCase,
    private readonly fail: FailBotUseCase,
    private readonly metrics: BotMetrics,
    @Inject(SERVICE_CONFIG) private readonly config: BotConfig,
    logger: JsonLogger,
  ) {
    this.log = logger.child('bot-engine');
  }

  onApplicationBootstrap(): void {
    this.task = runEvery(
      this.config.BOT_TICK_MS,
      () => this.tick(),
      (err) => this.log.error('a strategy engine pass failed', errorFields(err)),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.task?.stop();
  }

  async tick(): Promise<void> {
    const now = Date.now();
    for (const { bot, engine, syncedAt } of await this.repository.runningForEngine()) {
      if ((this.retryAt.get(bot.id) ?? 0) > now) continue;
      try {
        const skipped = await this.step.execute(bot, engine as EngineState | null, syncedAt);
        this.metrics.engineSteps.inc({ strategy: bot.strategy, outcome: skipped ?? 'stepped' });
        if (skipped === 'no-market-data' || skipped === 'gateway-unavailable') this.retryAt.set(bot.id, now + RETRY_AFTER_SKIP_MS);
        else this.retryAt.delete(bot.id);
      } catch (err) {
        this.metrics.engineSteps.inc({ strategy: bot.strategy, outcome: 'failed' });
        const cause = `strategy ${bot.strategy} failed: ${err instanceof Error ? err.message : String(err)}`;
        this.log.error('bot in ERROR: its strategy failed (RB-002)', { botId: bot.id, ...errorFields(err) });
        await this.fail.execute(bot.id, cause);
      }
    }
  }
}
