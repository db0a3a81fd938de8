import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';

/** Environment every service reads. Apps extend it with their own keys. */
export const ServiceEnv = z.object({
  /** NATS server(s), comma-separated. */
  NATS_URL: z.string().min(1).default('nats://127.0.0.1:4222'),
  /**
   * Password of the service's own NATS user (named after the service, with the namespace's prefix):
   * its permissions are what @garde/contracts `busPermissions` lists. Unset on a server without
   * authorization (a developer's NATS).
   */
  NATS_PASSWORD: z.string().min(1).optional(),
  /** Isolates a deployment or a test suite on a shared NATS server (empty in production). */
  GARDE_NAMESPACE: z
    .string()
    .regex(/^([a-z0-9][a-z0-9_-]{0,31})?$/i)
    .default(''),
  /** Port of /health/* and /metrics (and of the API on the gateway); 0 picks a free one. */
  HTTP_PORT: z.coerce.number().int().min(0).max(65535),
  /** Address the HTTP server binds to. */
  HTTP_HOST: z.string().default('127.0.0.1'),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  /**
   * Instance name for logs, message producers and bot leases (the pod name in Kubernetes). Unique per
   * running service: replicas tell their own messages and leases from their peers' by it. The default
   * (host name, process id and a random suffix drawn at each start) is.
   */
  INSTANCE_ID: z
    .string()
    .min(1)
    .default(() => `${hostname()}-${process.pid}-${randomBytes(2).toString('hex')}`),
});
export type ServiceEnv = z.infer<typeof ServiceEnv>;

/** ServiceEnv plus the service's PostgreSQL database. */
export const BaseServiceEnv = ServiceEnv.extend({
  /** PostgreSQL connection string. */
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'expected postgres://user[:password]@host:port/database'),
});
export type BaseServiceEnv = z.infer<typeof BaseServiceEnv>;

export class ConfigError extends Error {
  constructor(
    readonly service: string,
    readonly problems: string[],
  ) {
    super(`invalid configuration for ${service}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses the environment once against the app's schema and reports every problem at once.
 * Values are never echoed in errors (they may be secrets).
 */
export function loadConfig<S extends z.ZodType>(service: string, schema: S, env: Record<string, string | undefined> = process.env): z.infer<S> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    service,
    parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
  );
}

const SECRET_KEY = /(secret|password|passwd|token|key|credential|private)/i;

/** A copy of a config for logs: secret-looking keys masked, passwords in URLs masked. */
export function maskSecrets(value: unknown, key = ''): unknown {
  if (typeof value === 'string') {
    if (key && SECRET_KEY.test(key)) return value.length ? '***' : '';
    return value.replace(/(\/\/[^:/@\s]+:)[^@/\s]+@/g, '$1***@');
  }
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v, key));
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), maskSecrets(v, String(k))]));
  // A value object (a Decimal, a Date) is logged as it serializes itself, not as its inner fields.
  if (value && typeof (value as { toJSON?: unknown }).toJSON === 'function') return maskSecrets((value as { toJSON(): unknown }).toJSON(), key);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, maskSecrets(v, k)]));
  }
  return value;
}
