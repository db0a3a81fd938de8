import { Inject, Injectable } from '@nestjs/common';
import type { KV } from '@nats-io/kv';
import { ScopeState, killSwitchKey } from '@garde/contracts';
import { MessageBus, NATS_CONNECTION, openBucket, type NatsConnection } from '@garde/platform';

/**
 * The KV bucket `KILL_SWITCH`: what every process reads on start-up and watches. Only risk-service
 * writes it. Each value is a ScopeState; its `version` orders writes.
 */
@Injectable()
export class KillSwitchBucket {
  private kv?: KV;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly bus: MessageBus,
  ) {}

  private async open(): Promise<KV> {
    return (this.kv ??= await openBucket(this.nc, this.bus.topology.killSwitchBucket, { history: 16 }));
  }

  async put(state: ScopeState): Promise<void> {
    const kv = await this.open();
    await kv.put(killSwitchKey(state.scope), JSON.stringify(state));
  }

  async get(scope: string): Promise<ScopeState | undefined> {
    const kv = await this.open();
    const entry = await kv.get(killSwitchKey(scope));
    if (!entry || entry.operation !== 'PUT') return undefined;
    const parsed = ScopeState.safeParse(entry.json());
    return parsed.success ? parsed.data : undefined;
  }
}
