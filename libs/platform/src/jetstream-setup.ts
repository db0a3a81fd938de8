import { AckPolicy, DeliverPolicy, jetstreamManager, RetentionPolicy, StorageType, type ConsumerConfig, type StreamConfig } from '@nats-io/jetstream';
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

/**
 * Creates a durable consumer of `stream` with explicit acks from the stream's start, when missing; an
 * existing one (another replica's, or this one's from before a restart) is used as it is, and two
 * replicas creating it together both go on. `config` adds the consumer's own settings.
 */
export async function ensureDurableConsumer(
  nc: NatsConnection,
  stream: string,
  name: string,
  config: Partial<Pick<ConsumerConfig, 'filter_subject' | 'ack_wait' | 'max_ack_pending' | 'max_deliver'>>,
): Promise<void> {
  const jsm = await jetstreamManager(nc);
  try {
    await jsm.consumers.info(stream, name);
    return;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  try {
    await jsm.consumers.add(stream, { durable_name: name, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, ...config });
  } catch (err) {
    if (!/already in use|exists/i.test(String(err))) throw err;
  }
}

/** Opens a KV bucket, creating it when missing. */
export async function openBucket(nc: NatsConnection, bucket: string, opts: { history?: number } = {}): Promise<KV> {
  const kvm = new Kvm(nc);
  return kvm.create(bucket, { history: opts.history ?? 1 });
}

function isNotFound(err: unknown): boolean {
  return /not found/i.test(String(err instanceof Error ? err.message : err));
}
