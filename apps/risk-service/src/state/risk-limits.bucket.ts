import { Inject, Injectable } from '@nestjs/common';
import type { KV } from '@nats-io/kv';
import { RiskLimitsVersion, riskLimitsKey } from '@garde/contracts';
import { MessageBus, NATS_CONNECTION, VersionedBucket, type NatsConnection } from '@garde/platform';

/**
 * The KV bucket `RISK_LIMITS`: the limits in force per scope (a RiskLimitsVersion each), what every
 * risk-service replica reads on start-up and watches. Written only by risk-service, after PostgreSQL;
 * an older version never replaces a newer one (VersionedBucket).
 */
@Injectable()
export class RiskLimitsBucket {
  private readonly bucket: VersionedBucket<RiskLimitsVersion>;

  constructor(@Inject(NATS_CONNECTION) nc: NatsConnection, bus: MessageBus) {
    this.bucket = new VersionedBucket(nc, bus.topology.riskLimitsBucket, RiskLimitsVersion);
  }

  open(): Promise<KV> {
    return this.bucket.open();
  }

  put(version: RiskLimitsVersion): Promise<void> {
    return this.bucket.put(riskLimitsKey(version.scope), version);
  }

  get(scope: string): Promise<RiskLimitsVersion | undefined> {
    return this.bucket.get(riskLimitsKey(scope));
  }
}
