import { z } from 'zod';
import { BaseServiceEnv, loadConfig } from '@garde/platform';

export const BotConfigSchema = BaseServiceEnv.extend({
  HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(3102),
  /** How many BotStateChangedEvt a kill-switch halt publishes at once (after the commit). */
  HALT_EVENT_CONCURRENCY: z.coerce.number().int().min(1).max(1024).default(64),
});
export type BotConfig = z.infer<typeof BotConfigSchema>;

export const loadBotConfig = (env?: Record<string, string | undefined>): BotConfig => loadConfig('bot-service', BotConfigSchema, env);
