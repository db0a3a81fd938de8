import 'reflect-metadata';
import { startService, type RunningService } from '@garde/platform';
import { loadRiskConfig, type RiskConfig } from './config/risk.config.js';
import { RISK_SCHEMA, riskEntities, riskMigrations } from './persistence/index.js';
import { RiskModule } from './risk.module.js';

/** Starts risk-service from an environment (process.env in main.ts, a sandbox's in tests). */
export function startRiskService(
  env?: Record<string, string | undefined>,
  opts: { onFatal?: (err?: Error) => void } = {},
): Promise<RunningService<RiskConfig>> {
  return startService({
    name: 'risk-service',
    config: loadRiskConfig(env),
    module: () => RiskModule,
    persistence: { schema: RISK_SCHEMA, entities: riskEntities, migrations: riskMigrations },
    ...opts,
  });
}
