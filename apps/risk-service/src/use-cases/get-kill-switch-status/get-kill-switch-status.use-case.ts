import { Injectable } from '@nestjs/common';
import type { KillSwitchStatus, ScopeState } from '@garde/contracts';
import { unreachableCause } from '@garde/platform';
import { KillSwitchRepository, neverSet } from '../../persistence/kill-switch.repository.js';
import { KillSwitchBucket } from '../../state/kill-switch.bucket.js';

/**
 * Every scope with a recorded state, `global` first (always present, ACTIVE when never set). When the
 * database cannot be reached, the KV bucket's states (what the gateway and the bots enforce), with a note.
 */
@Injectable()
export class GetKillSwitchStatus {
  constructor(
    private readonly repository: KillSwitchRepository,
    private readonly bucket: KillSwitchBucket,
  ) {}

  async execute(query: { scope?: string | undefined }): Promise<KillSwitchStatus> {
    try {
      if (query.scope) return { scopes: [await this.repository.get(query.scope)] };
      return { scopes: globalFirst(await this.repository.list()) };
    } catch (err) {
      const unreachable = unreachableCause(err);
      if (!unreachable) throw err;
      const note = `risk-service could not reach its database (${unreachable}): these are the states in force in the KV bucket`;
      if (query.scope) return { scopes: [(await this.bucket.get(query.scope)) ?? neverSet(query.scope)], note };
      return { scopes: globalFirst(await this.bucket.all()), note };
    }
  }
}

function globalFirst(scopes: ScopeState[]): ScopeState[] {
  const sorted = [...scopes].sort((a, b) => a.scope.localeCompare(b.scope));
  return [sorted.find((s) => s.scope === 'global') ?? neverSet('global'), ...sorted.filter((s) => s.scope !== 'global')];
}
