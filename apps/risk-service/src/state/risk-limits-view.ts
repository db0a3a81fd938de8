import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { KvWatchInclude, type KvEntry } from '@nats-io/kv';
import { RiskLimitsVersion, type RiskLimitValues } from '@garde/contracts';
import { Decimal, FIRM_SCOPE, type RiskLimits } from '@garde/domain';
import { JsonLogger, NATS_CONNECTION, errorFields, type ContextLogger, type NatsConnection } from '@garde/platform';
import { RiskLimitsBucket } from './risk-limits.bucket.js';

/** Wire limits (decimal strings) as the checks use them (Decimal). */
export function limitsFromWire(values: RiskLimitValues): RiskLimits {
  const dec = (v: string | null) => (v === null ? null : Decimal.of(v));
  return {
    maxOrderNotional: dec(values.maxOrderNotional),
    maxOrderQuantity: dec(values.maxOrderQuantity),
    maxOpenNotional: dec(values.maxOpenNotional),
    maxMessagesPerSecond: values.maxMessagesPerSecond,
    priceCollarPercent: dec(values.priceCollarPercent),
    maxReferenceAgeMs: values.maxReferenceAgeMs,
  };
}

interface Held {
  version: RiskLimitsVersion;
  limits: RiskLimits;
}

/**
 * This replica's view of the limits in force: the KV bucket `RISK_LIMITS`, read in full and then
 * watched, so that a change made through any replica applies to the next order everywhere, without a
 * restart. Fail-closed like the kill-switch view: `known` is false until the bucket has been read since
 * the last (re)connect and holds the `firm` scope (written at every start from PostgreSQL).
 */
@Injectable()
export class RiskLimitsView implements OnApplicationShutdown {
  private readonly scopes = new Map<string, Held>();
  private readonly log: ContextLogger;
  private watch?: { stop(): void };
  private isKnown = false;
  private snapshotRead = false;
  private stopped = false;
  private generation = 0;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly bucket: RiskLimitsBucket,
    logger: JsonLogger,
  ) {
    this.log = logger.child('risk-limits-view');
  }

  get known(): boolean {
    return this.isKnown;
  }

  /** Reads the bucket and starts watching it. */
  async start(): Promise<void> {
    void this.followConnection();
    await this.resync();
  }

  /** A scope's limits in force; undefined for a scope without limits of its own. */
  readonly lookup = (scope: string): RiskLimits | undefined => this.scopes.get(scope)?.limits;

  /** Every scope's current version. */
  versions(): RiskLimitsVersion[] {
    return [...this.scopes.values()].map((h) => h.version);
  }

  /** Applies a version this replica just wrote (the watch brings it too; the higher version wins). */
  apply(version: RiskLimitsVersion): void {
    const held = this.scopes.get(version.scope);
    if (held && held.version.version >= version.version) return;
    this.scopes.set(version.scope, { version, limits: limitsFromWire(version.limits) });
    if (version.scope === FIRM_SCOPE && this.snapshotRead) this.setKnown(true);
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    this.watch?.stop();
    this.setKnown(false);
  }

  private setKnown(known: boolean): void {
    if (this.isKnown === known) return;
    this.isKnown = known;
    if (known) this.log.info('risk limits known', { scopes: this.scopes.size });
    else this.log.warn('risk limits unknown: denying orders until they are read again');
  }

  /** Watch first, then read every key: nothing written in between is missed. */
  private async resync(): Promise<void> {
    const generation = ++this.generation;
    this.snapshotRead = false;
    this.setKnown(false);
    this.watch?.stop();
    const kv = await this.bucket.open();
    const iter = await kv.watch({ include: KvWatchInclude.UpdatesOnly });
    this.watch = iter;
    void (async () => {
      try {
        for await (const entry of iter) this.entry(entry);
      } catch (err) {
        this.log.error('risk-limits watch failed', errorFields(err));
      }
      if (!this.stopped && generation === this.generation) {
        this.setKnown(false);
        setTimeout(() => void this.retry(generation), 500);
      }
    })();
    const keys: string[] = [];
    for await (const key of await kv.keys()) keys.push(key);
    for (const key of keys) {
      const entry = await kv.get(key);
      if (entry) this.entry(entry);
    }
    if (generation === this.generation && !this.stopped) {
      this.snapshotRead = true;
      this.setKnown(this.scopes.has(FIRM_SCOPE));
    }
  }

  private entry(entry: KvEntry): void {
    if (entry.operation !== 'PUT') return;
    const parsed = RiskLimitsVersion.safeParse(entry.json());
    if (!parsed.success) {
      this.log.error('invalid risk-limits entry ignored', { key: entry.key, revision: entry.revision });
      return;
    }
    this.apply(parsed.data);
  }

  private async retry(generation: number): Promise<void> {
    if (this.stopped || generation !== this.generation || this.nc.isClosed()) return;
    await this.resync().catch((err: unknown) => {
      this.log.error('risk-limits resync failed', errorFields(err));
      setTimeout(() => void this.retry(this.generation), 1000);
    });
  }

  private async followConnection(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (this.stopped) return;
      if (status.type === 'disconnect') {
        this.generation += 1;
        this.snapshotRead = false;
        this.setKnown(false);
      } else if (status.type === 'reconnect') {
        await this.resync().catch((err: unknown) => {
          this.log.error('risk-limits resync after reconnect failed', errorFields(err));
          setTimeout(() => void this.retry(this.generation), 1000);
        });
      }
    }
  }
}
