import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { JsonLogger, KillSwitchWatcher, MessageBus, NATS_CONNECTION, type NatsConnection } from '@garde/platform';
import { GatewayMetrics } from '../metrics/gateway.metrics.js';

/** The gateway's view of the kill switch (KV bucket KILL_SWITCH), read before the first order. */
@Injectable()
export class KillSwitchGate extends KillSwitchWatcher implements OnModuleInit, OnApplicationShutdown {
  constructor(@Inject(NATS_CONNECTION) nc: NatsConnection, bus: MessageBus, logger: JsonLogger, metrics: GatewayMetrics) {
    super(nc, bus.topology, logger.child('kill-switch'));
    this.onKnownChange((known) => metrics.killSwitchStateKnown.set(known ? 1 : 0));
    this.onChange(({ state }) => {
      // Only live changes: entries read at start-up may be days old.
      if (this.known) metrics.killSwitchPropagation.observe(Math.max(0, Date.now() - Date.parse(state.since)) / 1000);
    });
  }

  async onModuleInit(): Promise<void> {
    await this.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.stop();
  }
}
