import 'reflect-metadata';
import { buildDataSource } from '@garde/platform';
import { loadRiskConfig } from '../config/risk.config.js';
import { RISK_SCHEMA, riskEntities, riskMigrations } from './index.js';

/**
 * For the TypeORM CLI (migration:show, migration:run, migration:revert), from the service's own
 * config loader: `node --import ./tools/register.mjs node_modules/typeorm/cli.js migration:show -d apps/risk-service/src/persistence/data-source.ts`.
 * The service also runs pending migrations itself at start-up.
 */
export default buildDataSource({ url: loadRiskConfig().DATABASE_URL, schema: RISK_SCHEMA, entities: riskEntities, migrations: riskMigrations });
