import { Injectable } from '@nestjs/common';
import { JsonLogger } from '@garde/platform';
import { RiskLimitsRepository } from '../../persistence/risk-limits.repository.js';
import { RiskLimitsBucket } from '../../state/risk-limits.bucket.js';

/**
 * PostgreSQL is the source of truth: at start-up, every scope whose KV entry is missing or older is
 * written again (a crash between the commit and the KV write must not leave an old limit in force).
 * The `firm` scope is always there (seeded by the migration): its presence tells the replicas that the
 * limits are published.
 */
@Injectable()
export class SyncRiskLimitsBucket {
  constructor(
    private readonly repository: RiskLimitsRepository,
    private readonly bucket: RiskLimitsBucket,
    private readonly logger: JsonLogger,
  ) {}

  async execute(): Promise<number> {
    let repaired = 0;
    for (const version of await this.repository.current()) {
      const inBucket = await this.bucket.get(version.scope);
      if (!inBucket || inBucket.version < version.version) {
        await this.bucket.put(version);
        repaired += 1;
      }
    }
    if (repaired) this.logger.child('risk-limits').info('published risk limits missing or stale in the KV bucket', { repaired });
    return repaired;
  }
}
