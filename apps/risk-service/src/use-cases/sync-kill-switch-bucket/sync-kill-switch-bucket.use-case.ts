import { Injectable } from '@nestjs/common';
import { JsonLogger, type ContextLogger } from '@garde/platform';
import { KillSwitchRepository, neverSet } from '../../persistence/kill-switch.repository.js';
import { KillSwitchBucket } from '../../state/kill-switch.bucket.js';

/**
 * Brings PostgreSQL and the KV bucket back into agreement, at start-up and after an activation made
 * while the database was unreachable (ChangeKillSwitch):
 *
 * - a state the bucket holds in a newer version than the database (such an activation) is recorded in
 *   the database as it is, version included (only the latest, when there were several: the audit trail
 *   holds each event);
 * - every scope whose KV entry is missing or older is written again (a crash between the database commit
 *   and the KV write must not leave trading on). The `global` scope is always written, even when never
 *   set: its presence tells every reader that risk-service has published its state (an empty bucket is
 *   "unknown", not "all clear").
 */
@Injectable()
export class SyncKillSwitchBucket {
  private readonly log: ContextLogger;

  constructor(
    private readonly repository: KillSwitchRepository,
    private readonly bucket: KillSwitchBucket,
    logger: JsonLogger,
  ) {
    this.log = logger.child('kill-switch');
  }

  async execute(): Promise<{ recorded: number; repaired: number }> {
    const inDatabase = new Map((await this.repository.list()).map((s) => [s.scope, s]));
    let recorded = 0;
    for (const state of await this.bucket.all()) {
      if (state.version <= (inDatabase.get(state.scope)?.version ?? 0)) continue;
      if (await this.repository.recordFromBucket(state, `kill-switch:${state.scope}:v${state.version}`)) {
        this.log.warn('recorded a kill-switch change made while PostgreSQL was unreachable', {
          scope: state.scope,
          state: state.state,
          version: state.version,
        });
        recorded += 1;
      }
    }
    const scopes = recorded ? await this.repository.list() : [...inDatabase.values()];
    if (!scopes.some((s) => s.scope === 'global')) scopes.unshift(neverSet('global'));
    let repaired = 0;
    for (const state of scopes) {
      const inBucket = await this.bucket.get(state.scope);
      if (!inBucket || inBucket.version < state.version) {
        await this.bucket.put(state);
        repaired += 1;
      }
    }
    if (repaired) this.log.info('published kill-switch states missing or stale in the KV bucket', { repaired });
    return { recorded, repaired };
  }
}
