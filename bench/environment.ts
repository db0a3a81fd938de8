import { createHash, randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';

export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

/** A benchmark's own world on the machine's PostgreSQL and NATS: a fresh database and bus namespace. */
export interface BenchEnvironment {
  /** Random hex shared by the database, the namespace and whatever else the bench names. */
  suffix: string;
  namespace: string;
  /** The bench database's URL. */
  databaseUrl: string;
  /** An admin bearer token for the gateway's API (its hash is in `env`). */
  token: string;
  /** What every service process of the bench gets. */
  env: Record<string, string>;
  /** Drops the database, and the namespace's streams when given a NATS connection. */
  dispose(nc?: NatsConnection): Promise<void>;
}

export async function createBenchEnvironment(): Promise<BenchEnvironment> {
  const suffix = randomBytes(4).toString('hex');
  const dbName = `garde_bench_${suffix}`;
  const namespace = `bench${suffix}`;
  const token = `bench-${randomBytes(16).toString('hex')}`;
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${dbName}"`);
  const dbUrl = new URL(DATABASE_URL);
  dbUrl.pathname = `/${dbName}`;
  return {
    suffix,
    namespace,
    databaseUrl: dbUrl.toString(),
    token,
    env: {
      DATABASE_URL: dbUrl.toString(),
      NATS_URL,
      GARDE_NAMESPACE: namespace,
      LOG_LEVEL: 'warn',
      GARDE_MASTER_KEY: randomBytes(32).toString('base64'),
      AUDIT_SIGNING_KEY: randomBytes(32).toString('base64'),
      GARDE_API_TOKENS: `bench:admin:${createHash('sha256').update(token).digest('hex')}`,
    },
    async dispose(nc) {
      if (nc) await deleteNamespace(nc, namespace).catch((err: unknown) => console.error(`could not delete the bench's streams: ${String(err)}`));
      await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
      await admin.end();
    },
  };
}

/** Deletes the bench namespace's streams (the AUDIT stream and the KV buckets the services created). */
async function deleteNamespace(nc: NatsConnection, namespace: string): Promise<void> {
  const jsm = await jetstreamManager(nc);
  for await (const name of jsm.streams.names()) {
    if (name.startsWith(`${namespace}_`) || name.startsWith(`KV_${namespace}_`)) await jsm.streams.delete(name);
  }
}
