import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { JsonLogger, KillSwitchWatcher, MessageBus, NATS_CONNECTION, type NatsConnection } from '@garde/platform';
import { GatewayMetrics } from '../metrics/gateway.metrics.js';

/**
 * The gateway's view of the kill switch (KV bucket KILL_SWITCH, and the activations risk-service
 * announces before recording them), read before the first order.
 */
@Injectable()
export class KillSwitchGate extends KillSwitchWatcher implements OnModuleInit, OnApplicationShutdown {
  constructor(@Inject(NATS_CONNECTION) nc: NatsConnection, bus: MessageBus, logger: JsonLogger, metrics: GatewayMetrics) {
    super(nc, bus.topology, logger.child('kill-switch'), { announcements: true });
    this.onKnownChange((known) => metrics.killSwitchStateKnown.set(known ? 1 : 0));
    const sinceDecided = (since: string) => Math.max(0, Date.now() - Date.parse(since)) / 1000;
    this.onChange(({ state }) => {
      // Only live changes: entries read at start-up may be days old.
      if (this.known) metrics.killSwitchPropagation.observe({ via: 'recorded' }, sinceDecided(state.since));
    });
    this.onPending((what, { state }) => {
      if (what === 'announced') metrics.killSwitchPropagation.observe({ via: 'announced' }, sinceDecided(state.since));
      else metrics.killSwitchUnrecorded.inc();
    });
  }

  async onModuleInit(): Promise<void> {
    await this.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.stop();
  }
}
