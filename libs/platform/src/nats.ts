import { connect, type NatsConnection } from '@nats-io/transport-node';
import { maskSecrets } from './config.js';
import type { ContextLogger } from './logger.js';

export type { NatsConnection };

const intentionallyClosed = new WeakSet<NatsConnection>();
const violations = new WeakMap<NatsConnection, { count: number }>();
/** When each connection (opened by connectNats) lost its server, while it reconnects. */
const disconnected = new WeakMap<NatsConnection, number>();

/** Since when (epoch ms) the connection has been without its server, reconnecting; undefined while connected. */
export function disconnectedSince(nc: NatsConnection): number | undefined {
  return disconnected.get(nc);
}

/**
 * The prefix of the connection's reply inboxes (nats.js keeps its options on the connection; its
 * public interface does not show them). A service's NATS user may subscribe only under its own.
 */
export function inboxPrefixOf(nc: NatsConnection): string | undefined {
  return (nc as NatsConnection & { options?: { inboxPrefix?: string } }).options?.inboxPrefix;
}

/** Permission violations the server reported on this connection since it opened. */
export function permissionViolations(nc: NatsConnection): number {
  return violations.get(nc)?.count ?? 0;
}

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
export async function connectNats(opts: {
  servers: string;
  name: string;
  /** The service's NATS user (its permissions, see @garde/contracts `busPermissions`); none on an open server. */
  credentials?: { user: string; password: string };
  /** Where its reply inboxes live (`busIdentity`): its user may subscribe nowhere else. */
  inboxPrefix?: string;
  log: ContextLogger;
  onClosed: (err?: Error) => void;
}): Promise<NatsConnection> {
  const nc = await connect({
    servers: opts.servers.split(',').map((s) => s.trim()),
    name: opts.name,
    ...(opts.credentials ? { user: opts.credentials.user, pass: opts.credentials.password } : {}),
    ...(opts.inboxPrefix ? { inboxPrefix: opts.inboxPrefix } : {}),
    maxReconnectAttempts: -1,
    waitOnFirstConnect: true,
    reconnectTimeWait: 250,
    pingInterval: 10_000,
    // nats.js otherwise builds two Error objects (stack traces) per request, ahead of a timeout that
    // rarely comes: measured at a third of bot-service's CPU with 1,000 bots (bench/bot-fleet).
    noAsyncTraces: true,
  }).catch((err: unknown) => {
    // Credentials refused: retrying cannot help, and nats.js's own error does not say whose they were.
    if (err instanceof Error && err.name === 'AuthorizationError') {
      const message = `NATS at ${String(maskSecrets(opts.servers))} refused the credentials of user "${opts.credentials?.user ?? '(none)'}" (${err.message}): check NATS_PASSWORD and the server's users (npm run nats:authorization)`;
      opts.log.fatal(message);
      throw new Error(message, { cause: err });
    }
    throw err;
  });
  opts.log.info('connected to NATS', { server: nc.getServer(), user: opts.credentials?.user });
  const seen = { count: 0 };
  violations.set(nc, seen);
  void nc.closed().then((err) => {
    if (intentionallyClosed.has(nc)) return;
    opts.log.fatal('NATS connection closed for good', { error: err instanceof Error ? err.message : undefined });
    opts.onClosed(err instanceof Error ? err : undefined);
  });
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnect') opts.log.warn(`NATS ${s.type}`, { server: 'server' in s ? s.server : undefined });
      if (s.type === 'disconnect' && !disconnected.has(nc)) disconnected.set(nc, Date.now());
      if (s.type === 'reconnect') disconnected.delete(nc);
      if (s.type === 'error') {
        // Publishing where the user may not does not throw: the server answers asynchronously, here.
        const err = s.error as Error & { operation?: string; subject?: string };
        if (err.name === 'PermissionViolationError') seen.count += 1;
        opts.log.error(`NATS error: ${err.message}`, { operation: err.operation, subject: err.subject });
      }
    }
  })();
  return nc;
}
