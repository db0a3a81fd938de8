import { Controller, Get, Global, Inject, Module, Res, type DynamicModule, type INestApplication, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Response } from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NatsConnection } from '@nats-io/transport-node';
import { Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { BUS_SERVICES, busIdentity, busTopology, type BusService } from '@garde/contracts';
import { MessageBus } from './bus.js';
import { maskSecrets, type ServiceEnv } from './config.js';
import { ensureJetStreamResources } from './jetstream-setup.js';
import { JsonLogger, errorFields } from './logger.js';
import { createMetricsRegistry, registerNatsMetrics } from './metrics.js';
import { connectNats, drainNats } from './nats.js';
import { openDatabase, type PersistenceOptions } from './persistence.js';

function isBusService(name: string): name is BusService {
  return (BUS_SERVICES as readonly string[]).includes(name);
}

/** Injection tokens for what is not a class. */
export const NATS_CONNECTION = Symbol('NATS_CONNECTION');
export const SERVICE_CONFIG = Symbol('SERVICE_CONFIG');

/** What the platform opened for a service before Nest starts: config, logs, NATS, database, metrics. */
export interface ServiceRuntime<C extends ServiceEnv = ServiceEnv> {
  name: string;
  config: C;
  logger: JsonLogger;
  nc: NatsConnection;
  bus: MessageBus;
  dataSource: DataSource | undefined;
  metrics: Registry;
}

/** Holder so that the health check works with or without a database. */
export class HealthDeps {
  constructor(readonly dataSource: DataSource | undefined) {}
}

@Controller('health')
class HealthController {
  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly moduleRef: HealthDeps,
  ) {}

  /** The process is up (Kubernetes liveness). */
  @Get('live')
  live(): { status: string } {
    return { status: 'ok' };
  }

  /**
   * Kubernetes readiness: NATS answers. PostgreSQL is checked and reported (`degraded` when it does not
   * answer) but does not make the service unready: a database outage must not take the operators' edge
   * (the gateway's Service) away, nor the kill switch, which works without it. A pod reaches its database
   * before it first listens (migrations), so a rollout still waits for a new pod's database.
   */
  @Get('ready')
  async ready(@Res() res: Response): Promise<void> {
    const checks: Record<string, string> = {};
    checks.nats = await withTimeout(
      this.nc.rtt().then(() => 'ok'),
      1000,
    ).catch((e: unknown) => `down: ${String(e)}`);
    const ds = this.moduleRef.dataSource;
    if (ds)
      checks.database = await withTimeout(
        ds.query('SELECT 1').then(() => 'ok'),
        1000,
      ).catch((e: unknown) => `down: ${String(e)}`);
    const ok = checks.nats === 'ok';
    const status = !ok ? 'unavailable' : Object.values(checks).every((v) => v === 'ok') ? 'ok' : 'degraded';
    res.status(ok ? 200 : 503).json({ status, checks });
  }
}

@Controller('metrics')
class MetricsController {
  constructor(private readonly registry: Registry) {}

  @Get()
  async metrics(@Res() res: Response): Promise<void> {
    res.setHeader('Content-Type', this.registry.contentType);
    res.send(await this.registry.metrics());
  }
}

/** Global module exposing the runtime's parts to the service's providers. */
@Global()
@Module({})
export class PlatformModule {
  static forRuntime(runtime: ServiceRuntime): DynamicModule {
    const providers = [
      { provide: SERVICE_CONFIG, useValue: runtime.config },
      { provide: JsonLogger, useValue: runtime.logger },
      { provide: NATS_CONNECTION, useValue: runtime.nc },
      { provide: MessageBus, useValue: runtime.bus },
      { provide: Registry, useValue: runtime.metrics },
      { provide: HealthDeps, useValue: new HealthDeps(runtime.dataSource) },
      ...(runtime.dataSource ? [{ provide: DataSource, useValue: runtime.dataSource }] : []),
    ];
    return {
      module: PlatformModule,
      controllers: [HealthController, MetricsController],
      providers,
      exports: providers.map((p) => p.provide),
    };
  }
}

export interface StartOptions<C extends ServiceEnv> {
  name: string;
  config: C;
  /** The service's root module, given the runtime. */
  module: (runtime: ServiceRuntime<C>) => Type | DynamicModule;
  persistence?: Omit<PersistenceOptions, 'url'>;
  /** Called when NATS closes for good; default: exit(1) so the supervisor restarts the process. */
  onFatal?: (err?: Error) => void;
  /** Extra set-up of the Nest app before it listens (e.g. a global prefix, body limits). */
  configureApp?: (app: INestApplication) => void;
}

export interface RunningService<C extends ServiceEnv = ServiceEnv> {
  runtime: ServiceRuntime<C>;
  app: INestApplication;
  /** Base URL of its HTTP server. */
  url: string;
  /** Graceful stop: HTTP, request handlers, watchers, NATS drained, database closed. */
  close(): Promise<void>;
}

/** Opens NATS, JetStream resources and the database, then starts the Nest app (HTTP + bus handlers). */
export async function startService<C extends ServiceEnv>(opts: StartOptions<C>): Promise<RunningService<C>> {
  const logger = new JsonLogger(opts.name, opts.config.LOG_LEVEL);
  const log = logger.child('bootstrap');
  log.info('starting', { config: maskSecrets(opts.config) });
  const producer = `${opts.name}/${opts.config.INSTANCE_ID}`;
  const topology = busTopology(opts.config.GARDE_NAMESPACE);
  const identity = isBusService(opts.name) ? busIdentity(topology, opts.name) : undefined;
  if (opts.config.NATS_PASSWORD && !identity) throw new Error(`${opts.name} has no NATS user: NATS_PASSWORD is for ${BUS_SERVICES.join(', ')}`);
  const nc = await connectNats({
    servers: opts.config.NATS_URL,
    name: producer,
    ...(identity && opts.config.NATS_PASSWORD ? { credentials: { user: identity.user, password: opts.config.NATS_PASSWORD } } : {}),
    ...(identity ? { inboxPrefix: identity.inboxPrefix } : {}),
    log: logger.child('nats'),
    onClosed: opts.onFatal ?? (() => process.exit(1)),
  });
  let dataSource: DataSource | undefined;
  try {
    await ensureJetStreamResources(nc, topology);
    if (opts.persistence) {
      const url = (opts.config as { DATABASE_URL?: string }).DATABASE_URL;
      if (!url) throw new Error(`${opts.name} needs DATABASE_URL`);
      dataSource = await openDatabase({ ...opts.persistence, url, applicationName: producer });
    }
    const metrics = createMetricsRegistry(opts.name);
    registerNatsMetrics(metrics, nc);
    const runtime: ServiceRuntime<C> = {
      name: opts.name,
      config: opts.config,
      logger,
      nc,
      bus: new MessageBus(nc, topology, producer, logger.child('bus')),
      dataSource,
      metrics,
    };
    @Module({ imports: [PlatformModule.forRuntime(runtime), opts.module(runtime)] })
    class RootModule {}
    const app = await NestFactory.create(RootModule, { logger, abortOnError: false });
    opts.configureApp?.(app);
    await app.listen(opts.config.HTTP_PORT, opts.config.HTTP_HOST);
    const address = (app.getHttpServer() as Server).address() as AddressInfo;
    const url = `http://${opts.config.HTTP_HOST}:${address.port}`;
    log.info('ready', { url });
    let closing: Promise<void> | undefined;
    return {
      runtime,
      app,
      url,
      close: () =>
        (closing ??= (async () => {
          log.info('stopping');
          await runtime.bus.stop();
          await app.close();
          await runtime.bus.settle();
          await drainNats(nc);
          await dataSource?.destroy();
          log.info('stopped');
        })()),
    };
  } catch (err) {
    log.error('start-up failed', errorFields(err));
    await drainNats(nc);
    await dataSource?.destroy();
    throw err;
  }
}

/**
 * SIGTERM / SIGINT → graceful stop, then exit. The handlers run once: a second signal gets Node's
 * default action and ends the process at once.
 */
export function stopOnSignals(service: RunningService): void {
  const stop = (signal: string) => {
    service.runtime.logger.emit('info', `received ${signal}`);
    service.close().then(
      () => process.exit(0),
      (err: unknown) => {
        service.runtime.logger.emit('error', 'shutdown failed', errorFields(err));
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timeout after ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e: unknown) => (clearTimeout(t), reject(e instanceof Error ? e : new Error(String(e)))),
    );
  });
}
