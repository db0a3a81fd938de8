import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { ContextLogger } from './logger.js';

export type { NatsConnection };

const intentionallyClosed = new WeakSet<NatsConnection>();

/** Drains and closes a connection on shutdown (not a fatal close). */
export async function drainNats(nc: NatsConnection): Promise<void> {
  if (nc.isClosed()) return;
  intentionallyClosed.add(nc);
  await nc.drain().catch(() => nc.close());
}

/**
 * Connects to NATS and keeps reconnecting forever (nats.js stops after 10 attempts by default and the
 * service would stay up but deaf). If the connection is ever closed for good, `onClosed` runs: services
 * exit so that their supervisor restarts them.
 */
export async function connectNats(opts: { servers: string; name: string; log: ContextLogger; onClosed: (err?: Error) => void }): Promise<NatsConnection> {
  const nc = await connect({
    servers: opts.servers.split(',').map((s) => s.trim()),
    name: opts.name,
    maxReconnectAttempts: -1,
    waitOnFirstConnect: true,
    reconnectTimeWait: 250,
    pingInterval: 10_000,
    // nats.js otherwise builds two Error objects (stack traces) per request, ahead of a timeout that
    // rarely comes: measured at a third of bot-service's CPU with 1,000 bots (bench/bot-fleet).
    noAsyncTraces: true,
  });
  opts.log.info('connected to NATS', { server: nc.getServer() });
  void nc.closed().then((err) => {
    if (intentionallyClosed.has(nc)) return;
    opts.log.fatal('NATS connection closed for good', { error: err instanceof Error ? err.message : undefined });
    opts.onClosed(err instanceof Error ? err : undefined);
  });
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnect') opts.log.warn(`NATS ${s.type}`, { server: 'server' in s ? s.server : undefined });
    }
  })();
  return nc;
}
