import 'reflect-metadata';
import { startService, type RunningService } from '@garde/platform';
import { BotModule } from './bot.module.js';
import { loadBotConfig, type BotConfig } from './config/bot.config.js';
import { BOTS_SCHEMA, botEntities, botMigrations } from './persistence/index.js';

/** Starts bot-service from an environment (process.env in main.ts, a sandbox's in tests). */
export function startBotService(env?: Record<string, string | undefined>, opts: { onFatal?: (err?: Error) => void } = {}): Promise<RunningService<BotConfig>> {
  const config = loadBotConfig(env);
  return startService({
    name: 'bot-service',
    config,
    module: () => BotModule,
    persistence: { schema: BOTS_SCHEMA, entities: botEntities, migrations: botMigrations, poolSize: config.DB_POOL_SIZE },
    ...opts,
  });
}
