import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * A suite's own world on the shared servers: a fresh database (dropped at the end) and a fresh bus
 * namespace (subjects `<ns>.…`, streams and buckets `<ns>_…`, deleted at the end).
 */
export interface TestSandbox {
  /** Connection string of the suite's own database. */
  databaseUrl: string;
  natsUrl: string;
  /** Bus namespace for GARDE_NAMESPACE. */
  namespace: string;
  /** Environment for a service of this sandbox (HTTP on a free port). */
  env(extra?: Record<string, string>): Record<string, string>;
  /** Runs SQL as the superuser on the suite's database (to look behind a service's back). */
  sql<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  dispose(): Promise<void>;
}

export async function createSandbox(label: string): Promise<TestSandbox> {
  const baseUrl = process.env.DATABASE_URL;
  const natsUrl = process.env.NATS_URL;
  if (!baseUrl || !natsUrl) throw new Error('DATABASE_URL and NATS_URL are unset: run the tests through jest (globalSetup resolves them)');
  const suffix = randomBytes(4).toString('hex');
  const slug = label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .slice(0, 20);
  const dbName = `test_${slug}_${suffix}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${dbName}"`);
  await admin.end();
  const url = new URL(baseUrl);
  url.pathname = `/${dbName}`;
  const databaseUrl = url.toString();
  const namespace = `t${suffix}`;
  const masterKey = randomBytes(32).toString('base64');
  const auditSigningKey = randomBytes(32).toString('base64');
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  return {
    databaseUrl,
    natsUrl,
    namespace,
    env: (extra = {}) => ({
      DATABASE_URL: databaseUrl,
      NATS_URL: natsUrl,
      GARDE_NAMESPACE: namespace,
      HTTP_PORT: '0',
      LOG_LEVEL: process.env.GARDE_TEST_LOG_LEVEL ?? 'error',
      // The gateway's key for exchange credentials at rest (a fresh one per sandbox).
      GARDE_MASTER_KEY: masterKey,
      // The audit-service's Ed25519 key for checkpoints and export manifests (a fresh one per sandbox).
      AUDIT_SIGNING_KEY: auditSigningKey,
      ...extra,
    }),
    sql: async <T>(text: string, params: unknown[] = []) => (await pool.query(text, params)).rows as T[],
    dispose: async () => {
      await pool.end();
      await deleteNamespace(natsUrl, namespace);
      const again = new pg.Client({ connectionString: baseUrl });
      await again.connect();
      await again.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
      await again.end();
    },
  };
}

/** Deletes the namespace's streams (KV buckets are streams `KV_<bucket>`). */
async function deleteNamespace(natsUrl: string, namespace: string): Promise<void> {
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const nc = await connect({ servers: natsUrl.split(',') });
  try {
    const jsm = await jetstreamManager(nc);
    for await (const name of jsm.streams.names()) {
      if (name.startsWith(`${namespace}_`) || name.startsWith(`KV_${namespace}_`)) await jsm.streams.delete(name);
    }
  } finally {
    await nc.close();
  }
}
