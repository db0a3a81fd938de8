import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { KvEntry } from '@nats-io/kv';
import { RiskLimitsVersion, type RiskLimitValues } from '@garde/contracts';
import { Decimal, FIRM_SCOPE, type RiskLimits } from '@garde/domain';
import { BucketFollower, JsonLogger, NATS_CONNECTION, type ContextLogger, type NatsConnection } from '@garde/platform';
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
    maxDrawdown: dec(values.maxDrawdown),
    maxDailyLoss: dec(values.maxDailyLoss),
    maxDenialsPerMinute: values.maxDenialsPerMinute,
    maxFillsPerMinute: values.maxFillsPerMinute,
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
  private readonly follower: BucketFollower;
  private isKnown = false;
  private snapshotRead = false;

  constructor(@Inject(NATS_CONNECTION) nc: NatsConnection, bucket: RiskLimitsBucket, logger: JsonLogger) {
    this.log = logger.child('risk-limits-view');
    this.follower = new BucketFollower(
      nc,
      () => bucket.open(),
      { entry: (entry) => this.entry(entry), synced: (synced, why) => this.synced(synced, why) },
      this.log,
      'risk-limits',
    );
  }

  get known(): boolean {
    return this.isKnown;
  }

  /** Reads the bucket and starts watching it. */
  start(): Promise<void> {
    return this.follower.start();
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
    this.follower.stop();
  }

  private setKnown(known: boolean, why?: 'stopped'): void {
    if (this.isKnown === known) return;
    this.isKnown = known;
    if (known) this.log.info('risk limits known', { scopes: this.scopes.size });
    else if (why === 'stopped') this.log.info('risk limits no longer followed: stopping');
    else this.log.warn('risk limits unknown: denying orders until they are read again');
  }

  /** Fail-closed: known only once the bucket has been read since the last (re)connect and holds `firm`. */
  private synced(synced: boolean, why?: 'stopped'): void {
    this.snapshotRead = synced;
    this.setKnown(synced && this.scopes.has(FIRM_SCOPE), why);
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
}
