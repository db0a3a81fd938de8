import { jetstreamManager, RetentionPolicy, StorageType, type StreamConfig } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { BusTopology } from '@garde/contracts';

/**
 * Creates, if missing, what every service relies on: the AUDIT stream (every `*.evt.>` of the
 * namespace) and the KV buckets. Idempotent; any service may call it at start-up.
 */
export async function ensureJetStreamResources(nc: NatsConnection, topology: BusTopology): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const config: Partial<StreamConfig> & { name: string } = {
    name: topology.auditStream,
    subjects: topology.auditSubjects,
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    // De-duplication window for Nats-Msg-Id: a re-publish within it is stored once.
    duplicate_window: 2 * 60 * 1_000_000_000,
    num_replicas: 1,
  };
  try {
    await jsm.streams.info(topology.auditStream);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    try {
      await jsm.streams.add(config);
    } catch (addErr) {
      if (!/already in use|exists/i.test(String(addErr))) throw addErr;
    }
  }
  await openBucket(nc, topology.killSwitchBucket, { history: 16 });
  await openBucket(nc, topology.botLeasesBucket, { history: 1 });
}

/** Opens a KV bucket, creating it when missing. */
export async function openBucket(nc: NatsConnection, bucket: string, opts: { history?: number } = {}): Promise<KV> {
  const kvm = new Kvm(nc);
  return kvm.create(bucket, { history: opts.history ?? 1 });
}

function isNotFound(err: unknown): boolean {
  return /not found/i.test(String(err instanceof Error ? err.message : err));
}
