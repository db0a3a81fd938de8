import { z } from 'zod';
import { BaseServiceEnv, loadConfig } from '@garde/platform';

export const BotConfigSchema = BaseServiceEnv.extend({
  HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(3102),
  /** How many BotStateChangedEvt a kill-switch halt publishes at once (after the commit). */
  HALT_EVENT_CONCURRENCY: z.coerce.number().int().min(1).max(1024).default(64),
  /** How often the strategy of each RUNNING bot takes a step. */
  BOT_TICK_MS: z.coerce.number().int().positive().default(1000),
  /** How long the engine waits for the gateway's answers. */
  ENGINE_REQUEST_TIMEOUT_MS: z.coerce.number().int().positive().default(5000),
  /** Orders rejected by the venue, or failed sends, within ENGINE_ERROR_WINDOW_MS that put a bot in ERROR (RB-002). */
  ENGINE_MAX_ERRORS: z.coerce.number().int().positive().default(5),
  ENGINE_ERROR_WINDOW_MS: z.coerce.number().int().positive().default(60_000),
  /** How long a market-data subscription lasts (renewed at a third of it). */
  ENGINE_SUBSCRIPTION_TTL_MS: z.coerce.number().int().min(3000).default(60_000),
});
export type BotConfig = z.infer<typeof BotConfigSchema>;

export const loadBotConfig = (env?: Record<string, string | undefined>): BotConfig => loadConfig('bot-service', BotConfigSchema, env);
