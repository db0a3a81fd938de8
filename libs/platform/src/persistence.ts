import { DataSource, type MixedList, type EntitySchema, type QueryRunner } from 'typeorm';

export interface PersistenceOptions {
  /** PostgreSQL connection string. */
  url: string;
  /** The service's own schema (`risk`, `bots`, `gateway`, `audit`): it reads and writes nothing else. */
  schema: string;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  entities: MixedList<Function | string | EntitySchema>;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  migrations: MixedList<Function | string>;
  /** Pool size. */
  poolSize?: number;
  applicationName?: string;
}

/** TypeORM data source for one service schema; `synchronize` is always off: schema changes are migrations. */
export function buildDataSource(opts: PersistenceOptions): DataSource {
  return new DataSource({
    type: 'postgres',
    url: opts.url,
    schema: opts.schema,
    entities: opts.entities,
    migrations: opts.migrations,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    uuidExtension: 'pgcrypto',
    applicationName: opts.applicationName ?? `garde-${opts.schema}`,
    // A server that does not answer (a network partition) fails a connection attempt instead of hanging it:
    // the caller hears UNAVAILABLE, and the kill switch's sweep turns to the venues.
    connectTimeoutMS: 5000,
    // Raw SQL (migrations, triggers) lands in the service's schema too.
    extra: { max: opts.poolSize ?? 10, options: `-c search_path=${opts.schema}` },
  });
}

/**
 * Connects, creates the schema if missing and runs pending migrations, under an advisory lock so
 * that replicas starting together migrate once.
 */
export async function openDatabase(opts: PersistenceOptions): Promise<DataSource> {
  const ds = buildDataSource(opts);
  await ds.initialize();
  const runner = ds.createQueryRunner();
  try {
    await runner.connect();
    await runner.query('SELECT pg_advisory_lock(hashtext($1))', [`garde-migrations:${opts.schema}`]);
    try {
      await runner.query(`CREATE SCHEMA IF NOT EXISTS "${opts.schema.replace(/"/g, '')}"`);
      await ds.runMigrations({ transaction: 'each' });
    } finally {
      await runner.query('SELECT pg_advisory_unlock(hashtext($1))', [`garde-migrations:${opts.schema}`]);
    }
  } catch (err) {
    await runner.release();
    await ds.destroy();
    throw err;
  }
  await runner.release();
  return ds;
}

/**
 * The `SET search_path = "<schema>", pg_temp` clause of a function a migration creates in its service's
 * schema: the function finds that schema's tables whatever its caller's search_path.
 */
export async function functionSearchPath(q: QueryRunner): Promise<string> {
  const [{ schema }] = (await q.query('SELECT current_schema() AS schema')) as [{ schema: string }];
  return `SET search_path = "${schema.replace(/"/g, '')}", pg_temp`;
}
