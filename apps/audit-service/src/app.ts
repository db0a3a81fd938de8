import 'reflect-metadata';
import { startService, type RunningService } from '@garde/platform';
import { AuditModule } from './audit.module.js';
import { loadAuditConfig, type AuditConfig } from './config/audit.config.js';
import { AUDIT_SCHEMA, auditEntities, auditMigrations } from './persistence/index.js';

/** Starts audit-service from an environment (process.env in main.ts, a sandbox's in tests). */
export function startAuditService(
  env?: Record<string, string | undefined>,
  opts: { onFatal?: (err?: Error) => void } = {},
): Promise<RunningService<AuditConfig>> {
  return startService({
    name: 'audit-service',
    config: loadAuditConfig(env),
    module: () => AuditModule,
    persistence: { schema: AUDIT_SCHEMA, entities: auditEntities, migrations: auditMigrations },
    ...opts,
  });
}
