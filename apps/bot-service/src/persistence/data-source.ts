import 'reflect-metadata';
import { buildDataSource } from '@garde/platform';
import { loadBotConfig } from '../config/bot.config.js';
import { BOTS_SCHEMA, botEntities, botMigrations } from './index.js';

/**
 * For the TypeORM CLI (migration:show, migration:run, migration:revert), from the service's own
 * config loader: `node --import ./tools/register.mjs node_modules/typeorm/cli.js migration:show -d apps/bot-service/src/persistence/data-source.ts`.
 * The service also runs pending migrations itself at start-up.
 */
export default buildDataSource({ url: loadBotConfig().DATABASE_URL, schema: BOTS_SCHEMA, entities: botEntities, migrations: botMigrations });
