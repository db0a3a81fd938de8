import { Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per service instance (several services can share a process in tests). */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: 'garde_' });
  return registry;
}
