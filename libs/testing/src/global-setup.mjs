// Plain JavaScript: jest loads globalSetup outside its module mapping.
import net from 'node:net';

/**
 * Where the tests find PostgreSQL and NATS. In order:
 *  1. DATABASE_URL and NATS_URL from the environment;
 *  2. the local defaults when they answer (postgres://postgres@127.0.0.1:5432/test, nats://127.0.0.1:4222);
 *  3. containers started with testcontainers when a Docker engine answers;
 *  4. otherwise a clear error naming what to set.
 * The database name must contain `test`: the suites create and drop databases beside it.
 */

const LOCAL_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';
const LOCAL_NATS_URL = 'nats://127.0.0.1:4222';

export async function resolveTestInfrastructure(env = process.env) {
  let databaseUrl = env.DATABASE_URL;
  let natsUrl = env.NATS_URL;
  if (!databaseUrl && (await answers(LOCAL_DATABASE_URL))) databaseUrl = LOCAL_DATABASE_URL;
  if (!natsUrl && (await answers(LOCAL_NATS_URL))) natsUrl = LOCAL_NATS_URL;
  const stops = [];
  if (!databaseUrl || !natsUrl) {
    const docker = await dockerAnswers();
    if (!docker) {
      throw new Error(
        [
          'The tests need a real PostgreSQL and a real NATS server with JetStream.',
          !databaseUrl ? '  - set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test; the database name must contain "test")' : '',
          !natsUrl ? '  - set NATS_URL (e.g. nats://127.0.0.1:4222; start one with `nats-server -js`, Debian package nats-server)' : '',
          'or start a Docker engine, and the tests will start containers themselves.',
        ]
          .filter(Boolean)
          .join('\n'),
      );
    }
    const { GenericContainer, Wait } = await import('testcontainers');
    if (!databaseUrl) {
      const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
      const pg = await new PostgreSqlContainer('postgres:16-alpine').withDatabase('test').withUsername('postgres').withPassword('postgres').start();
      stops.push(() => pg.stop());
      databaseUrl = pg.getConnectionUri();
    }
    if (!natsUrl) {
      const nats = await new GenericContainer('nats:2.10-alpine')
        .withCommand(['-js'])
        .withExposedPorts(4222)
        .withWaitStrategy(Wait.forLogMessage(/Server is ready/))
        .start();
      stops.push(() => nats.stop());
      natsUrl = `nats://${nats.getHost()}:${nats.getMappedPort(4222)}`;
    }
  }
  const dbName = new URL(databaseUrl).pathname.slice(1);
  if (!dbName.includes('test')) {
    throw new Error(`refusing to run tests against database "${dbName}": its name must contain "test"`);
  }
  return {
    databaseUrl,
    natsUrl,
    stop: async () => {
      for (const stop of stops) await stop();
    },
  };
}

async function answers(url) {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: u.hostname, port: Number(u.port), timeout: 500 });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

async function dockerAnswers() {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

/** jest globalSetup: resolves PostgreSQL and NATS once; workers inherit the URLs through the environment. */
export default async function globalSetup() {
  const infra = await resolveTestInfrastructure();
  process.env.DATABASE_URL = infra.databaseUrl;
  process.env.NATS_URL = infra.natsUrl;
  globalThis.__GARDE_INFRA__ = infra;
}
