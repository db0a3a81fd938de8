import type { KV, KvEntry } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { z } from 'zod';
import { openBucket } from './jetstream-setup.js';

/** Compare-and-set attempts of one write before it gives up (each lost to a newer write of another writer). */
const PUT_ATTEMPTS = 10;

/**
 * A KV bucket whose values carry a `version` (+1 per change, from PostgreSQL): the kill-switch state
 * or the risk limits of each scope, what every process reads and acts on. A write never replaces a
 * newer version with an older one: two changes of one scope committed close together (an automatic
 * activation and an operator's deactivation, or two replicas) reach the bucket in either order, and it
 * must end with the newer one, as the database does. Each write is a compare-and-set on the key's
 * revision: one write when this process knows what the key holds (it wrote or read it last), a read
 * first otherwise or after a conflict (another writer was there meanwhile).
 */
export class VersionedBucket<T extends { version: number }> {
  private opening?: Promise<KV>;
  /** Each key's revision and version as this process last wrote or read them. */
  private readonly known = new Map<string, { revision: number; version: number }>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly name: string,
    private readonly schema: z.ZodType<T>,
  ) {}

  /** The bucket, created if missing (once; tried again after a failure). */
  open(): Promise<KV> {
    this.opening ??= openBucket(this.nc, this.name, { history: 16 }).catch((err: unknown) => {
      this.opening = undefined;
      throw err;
    });
    return this.opening;
  }

  /** Writes `value` under `key` unless the bucket already holds its version or a newer one. */
  async put(key: string, value: T): Promise<void> {
    const kv = await this.open();
    const data = JSON.stringify(value);
    for (let attempt = 0; attempt < PUT_ATTEMPTS; attempt++) {
      let held = this.known.get(key);
      if (!held) {
        const entry = await kv.get(key);
        held = { revision: entry?.revision ?? 0, version: this.valueOf(entry)?.version ?? -1 };
        this.known.set(key, held);
      }
      if (held.version >= value.version) return;
      try {
        this.known.set(key, { revision: await kv.put(key, data, { previousSeq: held.revision }), version: value.version });
        return;
      } catch (err) {
        this.known.delete(key);
        if (!/wrong last sequence|10071/i.test(err instanceof Error ? err.message : String(err))) throw err;
      }
    }
    throw new Error(`${this.name} ${key}: ${PUT_ATTEMPTS} compare-and-set attempts lost to other writes`);
  }

  /** The value under `key` now; undefined when absent, deleted or not a valid value. */
  async get(key: string): Promise<T | undefined> {
    const kv = await this.open();
    return this.valueOf(await kv.get(key));
  }

  /** Every key the bucket holds a value under now. */
  async keys(): Promise<string[]> {
    const kv = await this.open();
    const keys: string[] = [];
    for await (const key of await kv.keys()) keys.push(key);
    return keys;
  }

  /** What an entry holds: undefined when there is none, it is a deletion, or not a valid value. */
  private valueOf(entry: KvEntry | null): T | undefined {
    if (entry?.operation !== 'PUT') return undefined;
    const parsed = this.schema.safeParse(entry.json());
    return parsed.success ? parsed.data : undefined;
  }
}
