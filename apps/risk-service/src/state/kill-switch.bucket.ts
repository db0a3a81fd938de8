import { Inject, Injectable } from '@nestjs/common';
import { ScopeState, killSwitchKey } from '@garde/contracts';
import { MessageBus, NATS_CONNECTION, VersionedBucket, type NatsConnection } from '@garde/platform';

/**
 * The KV bucket `KILL_SWITCH`: what every process reads on start-up and watches. Only risk-service
 * writes it, after PostgreSQL. Each value is a ScopeState; its `version` orders writes (VersionedBucket:
 * an older state never replaces a newer one).
 */
@Injectable()
export class KillSwitchBucket {
  private readonly bucket: VersionedBucket<ScopeState>;

  constructor(@Inject(NATS_CONNECTION) nc: NatsConnection, bus: MessageBus) {
    this.bucket = new VersionedBucket(nc, bus.topology.killSwitchBucket, ScopeState);
  }

  put(state: ScopeState): Promise<void> {
    return this.bucket.put(killSwitchKey(state.scope), state);
  }

  get(scope: string): Promise<ScopeState | undefined> {
    return this.bucket.get(killSwitchKey(scope));
  }

  /** Every scope's state the bucket holds. */
  async all(): Promise<ScopeState[]> {
    const states = await Promise.all((await this.bucket.keys()).map((key) => this.bucket.get(key)));
    return states.filter((s): s is ScopeState => s !== undefined);
  }
}
