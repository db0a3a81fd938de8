import 'reflect-metadata';
import type { NextFunction, Request, Response } from 'express';
import { startService, type RunningService } from '@garde/platform';
import { loadGatewayConfig, type GatewayConfig } from './config/gateway.config.js';
import { GatewayModule } from './gateway.module.js';
import { GatewayMetrics } from './metrics/gateway.metrics.js';
import { GATEWAY_SCHEMA, gatewayEntities, gatewayMigrations } from './persistence/index.js';

/** Starts exchange-gateway from an environment (process.env in main.ts, a sandbox's in tests). */
export function startExchangeGateway(
  env?: Record<string, string | undefined>,
  opts: { onFatal?: (err?: Error) => void } = {},
): Promise<RunningService<GatewayConfig>> {
  return startService({
    name: 'exchange-gateway',
    config: loadGatewayConfig(env),
    module: () => GatewayModule,
    persistence: { schema: GATEWAY_SCHEMA, entities: gatewayEntities, migrations: gatewayMigrations },
    configureApp: (app) => {
      const metrics = app.get(GatewayMetrics);
      // Count API requests by route template (bounded labels: never the raw URL with ids).
      app.use((req: Request, res: Response, next: NextFunction) => {
        res.on('finish', () => {
          if (!req.path.startsWith('/api/')) return;
          const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
          metrics.apiRequests.inc({ method: req.method, route, status: String(res.statusCode) });
        });
        next();
      });
    },
    ...opts,
  });
}
