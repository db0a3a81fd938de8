import { KvWatchInclude, type KV, type KvEntry } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { errorFields, type ContextLogger } from './logger.js';

export interface BucketFollowerHandlers {
  /** A key's entry, as read or as it changed (in revision order per key; older revisions may come again after a re-read). */
  entry(entry: KvEntry): void;
  /**
   * True once the whole bucket has been read since the last (re)connect; false as soon as the view can
   * no longer be trusted (connection dropped, watch broken, re-read starting), and, with `'stopped'`,
   * when the follower is stopped (the service is shutting down: nothing to warn about).
   */
  synced(synced: boolean, why?: 'stopped'): void;
}

/**
 * Follows a KV bucket the way a process must see shared state (DESIGN §2): the updates are watched
 * first, then every key is read, so nothing written in between is missed. A dropped connection or a
 * broken watch makes the view stale at once (`synced(false)`); the bucket is read again after a
 * reconnect, or shortly after a broken watch.
 */
export class BucketFollower {
  private watch?: { stop(): void };
  private stopped = false;
  private generation = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly open: () => Promise<KV>,
    private readonly handlers: BucketFollowerHandlers,
    private readonly log: ContextLogger,
    /** What the bucket holds, for log lines (e.g. `kill-switch`). */
    private readonly what: string,
  ) {}

  /** Reads the bucket and starts watching; resolves once it has been read in full. */
  async start(): Promise<void> {
    void this.followConnection();
    await this.resync();
  }

  stop(): void {
    this.stopped = true;
    this.watch?.stop();
    this.handlers.synced(false, 'stopped');
  }

  private async resync(): Promise<void> {
    const generation = ++this.generation;
    this.handlers.synced(false);
    this.watch?.stop();
    const kv = await this.open();
    const iter = await kv.watch({ include: KvWatchInclude.UpdatesOnly });
    this.watch = iter;
    void (async () => {
      try {
        for await (const entry of iter) this.handlers.entry(entry);
      } catch (err) {
        this.log.error(`${this.what} watch failed`, errorFields(err));
      }
      // The watch ended: unless we stopped it ourselves, the view can no longer be trusted.
      if (!this.stopped && generation === this.generation) {
        this.handlers.synced(false);
        setTimeout(() => void this.retry(generation), 500);
      }
    })();
    const keys: string[] = [];
    for await (const key of await kv.keys()) keys.push(key);
    for (const key of keys) {
      const entry = await kv.get(key);
      if (entry) this.handlers.entry(entry);
    }
    if (generation === this.generation && !this.stopped) this.handlers.synced(true);
  }

  private async retry(generation: number): Promise<void> {
    if (this.stopped || generation !== this.generation || this.nc.isClosed()) return;
    await this.resync().catch((err: unknown) => {
      this.log.error(`${this.what} resync failed`, errorFields(err));
      setTimeout(() => void this.retry(this.generation), 1000);
    });
  }

  /** A dropped connection makes the view stale at once; a reconnect reads the bucket again. */
  private async followConnection(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (this.stopped) return;
      if (status.type === 'disconnect') {
        this.generation += 1;
        this.handlers.synced(false);
      } else if (status.type === 'reconnect') {
        await this.resync().catch((err: unknown) => {
          this.log.error(`${this.what} resync after reconnect failed`, errorFields(err));
          setTimeout(() => void this.retry(this.generation), 1000);
        });
      }
    }
  }
}
