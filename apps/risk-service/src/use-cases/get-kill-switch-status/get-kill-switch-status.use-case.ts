import { Injectable } from '@nestjs/common';
import type { KillSwitchStatus } from '@garde/contracts';
import { KillSwitchRepository } from '../../persistence/kill-switch.repository.js';

/** Every scope with a recorded state, `global` first (always present, ACTIVE when never set). */
@Injectable()
export class GetKillSwitchStatus {
  constructor(private readonly repository: KillSwitchRepository) {}

  async execute(query: { scope?: string | undefined }): Promise<KillSwitchStatus> {
    if (query.scope) return { scopes: [await this.repository.get(query.scope)] };
    const scopes = await this.repository.list();
    const global = scopes.find((s) => s.scope === 'global') ?? (await this.repository.get('global'));
    return { scopes: [global, ...scopes.filter((s) => s.scope !== 'global')] };
  }
}
