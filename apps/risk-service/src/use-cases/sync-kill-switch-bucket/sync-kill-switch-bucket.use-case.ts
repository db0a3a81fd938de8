import { Injectable } from '@nestjs/common';
import { JsonLogger } from '@garde/platform';
import { RiskMetrics } from '../../metrics/risk.metrics.js';
import { KillSwitchRepository } from '../../persistence/kill-switch.repository.js';
import { KillSwitchBucket } from '../../state/kill-switch.bucket.js';

/**
 * PostgreSQL is the source of truth: at start-up, every scope whose KV entry is missing or older is
 * written again (a crash between the database commit and the KV write must not leave trading on).
 */
@Injectable()
export class SyncKillSwitchBucket {
  constructor(
    private readonly repository: KillSwitchRepository,
    private readonly bucket: KillSwitchBucket,
    private readonly metrics: RiskMetrics,
    private readonly logger: JsonLogger,
  ) {}

  async execute(): Promise<number> {
    const scopes = await this.repository.list();
    let repaired = 0;
    for (const state of scopes) {
      const inBucket = await this.bucket.get(state.scope);
      if (!inBucket || inBucket.version < state.version) {
        await this.bucket.put(state);
        repaired += 1;
      }
    }
    this.metrics.observeScopes(scopes);
    if (repaired) this.logger.child('kill-switch').warn('re-published kill-switch states missing from the KV bucket', { repaired });
    return repaired;
  }
}
