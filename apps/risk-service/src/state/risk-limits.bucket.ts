import { Inject, Injectable } from '@nestjs/common';
import type { KV } from '@nats-io/kv';
import { RiskLimitsVersion, riskLimitsKey } from '@garde/contracts';
import { MessageBus, NATS_CONNECTION, openBucket, type NatsConnection } from '@garde/platform';

/**
 * The KV bucket `RISK_LIMITS`: the limits in force per scope (a RiskLimitsVersion each), what every
 * risk-service replica reads on start-up and watches. Written only by risk-service, after PostgreSQL.
 */
@Injectable()
export class RiskLimitsBucket {
  private kv?: KV;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly bus: MessageBus,
  ) {}

  async open(): Promise<KV> {
    return (this.kv ??= await openBucket(this.nc, this.bus.topology.riskLimitsBucket, { history: 16 }));
  }

  async put(version: RiskLimitsVersion): Promise<void> {
    const kv = await this.open();
    await kv.put(riskLimitsKey(version.scope), JSON.stringify(version));
  }

  async get(scope: string): Promise<RiskLimitsVersion | undefined> {
    const kv = await this.open();
    const entry = await kv.get(riskLimitsKey(scope));
    if (!entry || entry.operation !== 'PUT') return undefined;
    const parsed = RiskLimitsVersion.safeParse(entry.json());
    return parsed.success ? parsed.data : undefined;
  }
}
