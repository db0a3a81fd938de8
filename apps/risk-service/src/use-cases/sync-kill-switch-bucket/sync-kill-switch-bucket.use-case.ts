import { Injectable } from '@nestjs/common';
import { JsonLogger } from '@garde/platform';
import { KillSwitchRepository, neverSet } from '../../persistence/kill-switch.repository.js';
import { KillSwitchBucket } from '../../state/kill-switch.bucket.js';

/**
 * PostgreSQL is the source of truth: at start-up, every scope whose KV entry is missing or older is
 * written again (a crash between the database commit and the KV write must not leave trading on).
 * The `global` scope is always written, even when never set: its presence tells every reader that
 * risk-service has published its state (an empty bucket is "unknown", not "all clear").
 */
@Injectable()
export class SyncKillSwitchBucket {
  constructor(
    private readonly repository: KillSwitchRepository,
    private readonly bucket: KillSwitchBucket,
    private readonly logger: JsonLogger,
  ) {}

  async execute(): Promise<number> {
    const scopes = await this.repository.list();
    if (!scopes.some((s) => s.scope === 'global')) scopes.unshift(neverSet('global'));
    let repaired = 0;
    for (const state of scopes) {
      const inBucket = await this.bucket.get(state.scope);
      if (!inBucket || inBucket.version < state.version) {
        await this.bucket.put(state);
        repaired += 1;
      }
    }
    if (repaired) this.logger.child('kill-switch').info('published kill-switch states missing or stale in the KV bucket', { repaired });
    return repaired;
  }
}
