import 'reflect-metadata';
import { buildDataSource } from '@garde/platform';
import { loadAuditConfig } from '../config/audit.config.js';
import { AUDIT_SCHEMA, auditEntities, auditMigrations } from './index.js';

/**
 * For the TypeORM CLI (migration:show, migration:run, migration:revert), from the service's own
 * config loader: `node --import ./tools/register.mjs node_modules/typeorm/cli.js migration:show -d apps/audit-service/src/persistence/data-source.ts`.
 * The service also runs pending migrations itself at start-up.
 */
export default buildDataSource({ url: loadAuditConfig().DATABASE_URL, schema: AUDIT_SCHEMA, entities: auditEntities, migrations: auditMigrations });
