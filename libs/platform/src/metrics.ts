import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import { permissionViolations, type NatsConnection } from './nats.js';

/** One registry per service instance (several services can share a process in tests). */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: 'garde_' });
  return registry;
}

/**
 * `garde_nats_permission_violations_total`: what the NATS server refused this service (a publish or a
 * subscription its user may not make). Any is a defect or an intrusion: alert GardeNatsPermissionViolation.
 */
export function registerNatsMetrics(registry: Registry, nc: NatsConnection): void {
  let reported = 0;
  new Counter({
    name: 'garde_nats_permission_violations_total',
    help: 'Publishes and subscriptions the NATS server refused this service (its user lacks the permission)',
    registers: [registry],
    collect() {
      const now = permissionViolations(nc);
      this.inc(now - reported);
      reported = now;
    },
  });
}
