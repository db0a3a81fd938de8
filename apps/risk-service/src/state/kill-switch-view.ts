import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { JsonLogger, KillSwitchWatcher, MessageBus, NATS_CONNECTION, type NatsConnection } from '@garde/platform';

/** risk-service's in-memory view of the KILL_SWITCH bucket it writes, for fast pre-trade checks. */
@Injectable()
export class KillSwitchView extends KillSwitchWatcher implements OnApplicationShutdown {
  constructor(@Inject(NATS_CONNECTION) nc: NatsConnection, bus: MessageBus, logger: JsonLogger) {
    super(nc, bus.topology, logger.child('kill-switch-view'), { announcements: true });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.stop();
  }
}
