import { Inject, Injectable } from '@nestjs/common';
import type { KV } from '@nats-io/kv';
import { ScopeState, killSwitchKey } from '@garde/contracts';
import { MessageBus, NATS_CONNECTION, openBucket, type NatsConnection } from '@garde/platform';

/** Compare-and-set attempts of one write before it gives up (each lost to a newer write of another writer). */
const PUT_ATTEMPTS = 10;

/**
 * The KV bucket `KILL_SWITCH`: what every process reads on start-up and watches. Only risk-service
 * writes it. Each value is a ScopeState; its `version` orders writes.
 */
@Injectable()
export class KillSwitchBucket {
  private kv?: KV;
  /** Each key's revision and version as this process last wrote or read them: the compare-and-set's expectation. */
  private readonly known = new Map<string, { revision: number; version: number }>();

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly bus: MessageBus,
  ) {}

  private async open(): Promise<KV> {
    return (this.kv ??= await openBucket(this.nc, this.bus.topology.killSwitchBucket, { history: 16 }));
  }

  /**
   * Writes a scope's state unless the bucket already holds that version or a newer one. Two changes of
   * one scope committed close together (an automatic activation and an operator's deactivation, or two
   * replicas) reach here in either order, and the bucket — what every process acts on — must end with
   * the newer one, as PostgreSQL does. Compare-and-set on the key's revision: one write when this
   * process knows what the key holds (it wrote or read it last), a read first otherwise or after a
   * conflict (another writer was there meanwhile).
   */
  async put(state: ScopeState): Promise<void> {
    const kv = await this.open();
    const key = killSwitchKey(state.scope);
    const value = JSON.stringify(state);
    for (let attempt = 0; attempt < PUT_ATTEMPTS; attempt++) {
      let held = this.known.get(key);
      if (!held) {
        const entry = await kv.get(key);
        const parsed = entry?.operation === 'PUT' ? ScopeState.safeParse(entry.json()) : undefined;
        held = { revision: entry?.revision ?? 0, version: parsed?.success ? parsed.data.version : -1 };
        this.known.set(key, held);
      }
      if (held.version >= state.version) return;
      try {
        this.known.set(key, { revision: await kv.put(key, value, { previousSeq: held.revision }), version: state.version });
        return;
      } catch (err) {
        this.known.delete(key);
        if (!/wrong last sequence|10071/i.test(err instanceof Error ? err.message : String(err))) throw err;
      }
    }
    throw new Error(`${key}: ${PUT_ATTEMPTS} compare-and-set attempts lost to other writes`);
  }

  async get(scope: string): Promise<ScopeState | undefined> {
    const kv = await this.open();
    const entry = await kv.get(killSwitchKey(scope));
    if (!entry || entry.operation !== 'PUT') return undefined;
    const parsed = ScopeState.safeParse(entry.json());
    return parsed.success ? parsed.data : undefined;
  }
}
