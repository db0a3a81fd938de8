import { z } from 'zod';
import { BaseServiceEnv, loadConfig } from '@garde/platform';

export const RiskConfigSchema = BaseServiceEnv.extend({
  HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(3101),
});
export type RiskConfig = z.infer<typeof RiskConfigSchema>;

export const loadRiskConfig = (env?: Record<string, string | undefined>): RiskConfig => loadConfig('risk-service', RiskConfigSchema, env);
