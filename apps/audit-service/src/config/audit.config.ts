import { z } from 'zod';
import { BaseServiceEnv, loadConfig } from '@garde/platform';

export const AuditConfigSchema = BaseServiceEnv.extend({
  HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(3104),
  /** Most events appended in one transaction (one pull of the durable consumer). */
  AUDIT_BATCH_SIZE: z.coerce.number().int().min(1).max(1000).default(100),
  /**
   * Deliveries of one event before JetStream gives up on it. A failed database write does not count
   * (the consumer retries in place); only a crash or a stop before the ack does.
   */
  AUDIT_MAX_DELIVER: z.coerce.number().int().min(2).max(10_000).default(1000),
  /** Time JetStream waits for an ack before redelivering (a crashed replica's events go to another). */
  AUDIT_ACK_WAIT_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
  /** First delay before retrying a failed database write; doubles per try, capped at a minute. */
  AUDIT_RETRY_DELAY_MS: z.coerce.number().int().min(10).max(60_000).default(1000),
});
export type AuditConfig = z.infer<typeof AuditConfigSchema>;

export const loadAuditConfig = (env?: Record<string, string | undefined>): AuditConfig => loadConfig('audit-service', AuditConfigSchema, env);
