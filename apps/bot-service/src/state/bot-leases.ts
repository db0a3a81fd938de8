import { createHash } from 'node:crypto';
import type { KV, KvEntry } from '@nats-io/kv';
import { BucketFollower, errorFields, forEachBounded, type ContextLogger, type NatsConnection } from '@garde/platform';

/** What a lease holds in KV: which replica owns the bot, and until when (epoch ms, the owner's clock). */
interface LeaseValue {
  owner: string;
  expiresAt: number;
}

export interface LeaseSettings {
  /** This replica (INSTANCE_ID). */
  instanceId: string;
  ttlMs: number;
  regainTimeoutMs: number;
  /** Added to a lease's end before another replica takes it over (wall clocks of replicas differ a little). */
  clockSkewMs: number;
}

/** What the lease table tells the engine; `lost` and `releasing` must stop the bot before they return. */
export interface LeaseEvents {
  acquired(botId: string): void;
  /** The lease is gone (taken over, or expired unrenewed): stop the bot at once. */
  lost(botId: string, reason: LossReason): void;
  /** About to hand the lease back: resolves once no step of the bot is running. */
  releasing(botId: string): Promise<void>;
  /** A lease this replica lost and nobody got back within the regain timeout (the bot goes to ERROR). */
  unregained(botId: string, cause: string): Promise<void>;
}

export interface LeaseCounters {
  renewed(): void;
  acquired(): void;
  released(): void;
  lost(reason: LossReason): void;
}

export type LossReason = 'taken' | 'expired';

/**
 * Renewals in flight at once: a fleet's 1,000 renewals (and their answers, and the watch's echo of
 * each) sent all together held the replica's event loop for ~100 ms every round, ticks waiting behind
 * them (bench/bot-fleet); a few at a time, they interleave with market data.
 */
const RENEWALS_IN_FLIGHT = 32;

/**
 * One owner per bot (DESIGN §5, issue 4 point 4), through the KV bucket `BOT_LEASES`:
 *
 * - `bot.<id>` = `{ owner, expiresAt }`, written only by compare-and-set (create, or update at the
 *   revision read): two replicas can never both believe they took the same lease.
 * - `replica.<instance>` = `{ expiresAt }`: each replica announces itself, so each knows how many share
 *   the fleet and takes `ceil(running bots / live replicas)` of them, handing back what is over its share.
 * - A held lease counts only until its own end (`validUntil`, measured before the renewal was sent): a
 *   replica that cannot renew stops the bot before the lease can pass to another one.
 *
 * The bucket is watched, so a lease taken over is noticed at once, not at the next renewal. Leases are
 * wall-clock based; `clockSkewMs` is the margin for clocks that differ between replicas.
 */
export class BotLeaseTable {
  private readonly seen = new Map<string, LeaseValue & { revision: number }>();
  private readonly replicas = new Map<string, number>();
  private readonly held = new Map<string, { revision: number; validUntil: number; renewError?: string }>();
  /** Leases lost otherwise than taken over: when, and the last error (for ERROR after the regain timeout). */
  private readonly lostAt = new Map<string, { at: number; cause: string }>();
  private readonly follower: BucketFollower;
  private readonly me: string;

  constructor(
    private readonly kv: KV,
    nc: NatsConnection,
    private readonly settings: LeaseSettings,
    private readonly events: LeaseEvents,
    private readonly counters: LeaseCounters,
    private readonly log: ContextLogger,
  ) {
    this.me = settings.instanceId.replace(/[^-\w]/g, '_');
    // Leases count by their own end (validUntil), not by the view being in sync: nothing to do on `synced`.
    this.follower = new BucketFollower(nc, () => Promise.resolve(kv), { entry: (entry) => this.apply(entry), synced: () => undefined }, log, 'bot-lease');
  }

  /** Follows the bucket (watched, then read in full; read again after a reconnect or a broken watch). */
  start(): Promise<void> {
    return this.follower.start();
  }

  stop(): void {
    this.follower.stop();
  }

  /** Whether this replica may run the bot now. */
  holds(botId: string): boolean {
    const lease = this.held.get(botId);
    return lease !== undefined && lease.validUntil > Date.now();
  }

  heldIds(): string[] {
    return [...this.held.keys()];
  }

  /** The replicas seen alive, this one included. */
  liveReplicas(now = Date.now()): number {
    let live = 1;
    for (const [id, until] of this.replicas) if (id !== this.me && until > now) live++;
    return live;
  }

  /**
   * One round: renew what is held (handing back bots no longer RUNNING), announce this replica, take or
   * hand back bots to match its share of `running`, and give up on leases lost for too long.
   */
  async cycle(running: ReadonlySet<string>): Promise<void> {
    const failures = await forEachBounded(this.heldIds(), RENEWALS_IN_FLIGHT, (botId) => (running.has(botId) ? this.renew(botId) : this.release(botId)));
    if (failures[0]) throw failures[0].error;
    for (const [botId, lease] of this.held) {
      if (lease.validUntil <= Date.now()) this.drop(botId, 'expired', `not renewed before it ended: ${lease.renewError ?? 'the renewal came too late'}`);
    }
    const now = Date.now();
    try {
      await this.kv.put(replicaKey(this.me), JSON.stringify({ expiresAt: now + this.settings.ttlMs }));
      this.replicas.set(this.me, now + this.settings.ttlMs);
    } catch (err) {
      // KV unreachable: nothing can be taken this round, but leases lost for too long must still be given up on.
      this.log.warn('could not announce this replica in the lease bucket', errorFields(err));
      return this.giveUpOnLost(running, now);
    }

    const share = Math.ceil(running.size / this.liveReplicas(now));
    if (this.held.size > share) {
      const extra = this.heldIds()
        .sort((a, b) => rank(this.me, b) - rank(this.me, a))
        .slice(share);
      await Promise.all(extra.map((botId) => this.release(botId)));
    } else if (this.held.size < share) {
      const free = [...running].filter((botId) => !this.held.has(botId) && this.isFree(botId, now)).sort((a, b) => rank(this.me, b) - rank(this.me, a));
      await Promise.all(free.slice(0, share - this.held.size).map((botId) => this.acquire(botId)));
    }
    await this.giveUpOnLost(running, now);
  }

  /** Hands every lease back (shutdown): the other replicas take the bots at once, not after the TTL. */
  async releaseAll(): Promise<void> {
    await Promise.all(this.heldIds().map((botId) => this.release(botId)));
    await this.kv.delete(replicaKey(this.me)).catch(() => undefined);
  }

  private isFree(botId: string, now: number): boolean {
    const lease = this.seen.get(botId);
    return lease === undefined || lease.expiresAt + this.settings.clockSkewMs < now;
  }

  private async acquire(botId: string): Promise<void> {
    const before = Date.now();
    const value = JSON.stringify({ owner: this.me, expiresAt: before + this.settings.ttlMs } satisfies LeaseValue);
    const current = this.seen.get(botId);
    try {
      const revision = current ? await this.kv.update(botKey(botId), value, current.revision) : await this.kv.create(botKey(botId), value);
      this.held.set(botId, { revision, validUntil: before + this.settings.ttlMs });
      this.lostAt.delete(botId);
      this.counters.acquired();
      this.events.acquired(botId);
    } catch (err) {
      // Another replica was first (compare-and-set): it runs the bot. Anything else: tried again next round.
      if (!isConflict(err)) this.log.warn('could not take a bot lease', { botId, ...errorFields(err) });
    }
  }

  private async renew(botId: string): Promise<void> {
    const lease = this.held.get(botId);
    if (!lease) return;
    const before = Date.now();
    try {
      const revision = await this.kv.update(
        botKey(botId),
        JSON.stringify({ owner: this.me, expiresAt: before + this.settings.ttlMs } satisfies LeaseValue),
        lease.revision,
      );
      if (this.held.get(botId) !== lease) return;
      lease.revision = revision;
      lease.validUntil = before + this.settings.ttlMs;
      delete lease.renewError;
      this.counters.renewed();
    } catch (err) {
      if (isConflict(err)) return this.drop(botId, 'taken', 'another replica holds it');
      lease.renewError = err instanceof Error ? err.message : String(err);
      this.log.warn('bot lease renewal failed; the bot stops when the lease ends', { botId, ...errorFields(err) });
    }
  }

  private async release(botId: string): Promise<void> {
    const lease = this.held.get(botId);
    if (!lease) return;
    await this.events.releasing(botId);
    this.held.delete(botId);
    this.lostAt.delete(botId);
    this.counters.released();
    await this.kv.delete(botKey(botId), { previousSeq: lease.revision }).catch((err: unknown) => {
      // Already taken over or unreachable: either way the lease ends by itself at its expiry.
      if (!isConflict(err)) this.log.warn('could not hand a bot lease back', { botId, ...errorFields(err) });
    });
  }

  private drop(botId: string, reason: LossReason, cause: string): void {
    if (!this.held.delete(botId)) return;
    this.counters.lost(reason);
    this.log.warn('bot lease lost: the bot stopped in this replica', { botId, reason, cause });
    this.events.lost(botId, reason);
    if (reason === 'expired') this.lostAt.set(botId, { at: this.lostAt.get(botId)?.at ?? Date.now(), cause });
  }

  private async giveUpOnLost(running: ReadonlySet<string>, now: number): Promise<void> {
    for (const [botId, lost] of [...this.lostAt]) {
      const lease = this.seen.get(botId);
      const elsewhere = lease !== undefined && lease.owner !== this.me && lease.expiresAt > now;
      if (!running.has(botId) || this.held.has(botId) || elsewhere) {
        this.lostAt.delete(botId);
        continue;
      }
      if (now - lost.at < this.settings.regainTimeoutMs) continue;
      this.lostAt.delete(botId);
      const cause = `its lease was lost ${Math.round((now - lost.at) / 1000)} s ago and could not be regained (${lost.cause})`;
      await this.events
        .unregained(botId, cause)
        .catch((err: unknown) => this.log.error('could not put a bot with a lost lease in ERROR', { botId, ...errorFields(err) }));
    }
  }

  private apply(entry: KvEntry): void {
    const [kind, ...rest] = entry.key.split('.');
    const id = rest.join('.');
    if (kind === 'replica') {
      if (entry.operation === 'PUT') this.replicas.set(id, parse(entry)?.expiresAt ?? 0);
      else this.replicas.delete(id);
      return;
    }
    if (kind !== 'bot') return;
    const known = this.seen.get(id);
    if (known && known.revision >= entry.revision) return;
    const value = entry.operation === 'PUT' ? parse(entry) : undefined;
    if (value) this.seen.set(id, { ...value, revision: entry.revision });
    else this.seen.delete(id);
    // Written by someone else while this replica believes it holds it: taken over; stop at once.
    const mine = this.held.get(id);
    if (mine && entry.revision > mine.revision && value?.owner !== this.me) this.drop(id, 'taken', `now held by ${value?.owner ?? 'nobody'}`);
  }
}

const botKey = (botId: string): string => `bot.${botId}`;
const replicaKey = (replicaId: string): string => `replica.${replicaId}`;

function parse(entry: KvEntry): LeaseValue | undefined {
  try {
    const value = entry.json<Partial<LeaseValue>>();
    return { owner: String(value.owner ?? ''), expiresAt: Number(value.expiresAt ?? 0) };
  } catch {
    return undefined;
  }
}

/** A compare-and-set that lost: the key was written (or created) by someone else since it was read. */
function isConflict(err: unknown): boolean {
  return /wrong last sequence|key exists|10071/i.test(err instanceof Error ? err.message : String(err));
}

/** A stable pseudo-random order per replica, so replicas starting together reach for different bots. */
function rank(instanceId: string, botId: string): number {
  return createHash('sha1').update(`${instanceId}/${botId}`).digest().readUInt32BE(0);
}
