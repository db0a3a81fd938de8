import { Injectable } from '@nestjs/common';
import type { RiskLimitsList, RiskLimitsQuery } from '@garde/contracts';
import { RiskException } from '../../errors/risk.exception.js';
import { RiskLimitsRepository } from '../../persistence/risk-limits.repository.js';

/** The limits in force per scope (from PostgreSQL, the source of truth), `firm` first; a scope's history on request. */
@Injectable()
export class ShowRiskLimits {
  constructor(private readonly repository: RiskLimitsRepository) {}

  async execute(query: RiskLimitsQuery): Promise<RiskLimitsList> {
    if (query.history && !query.scope) throw new RiskException('INVALID_REQUEST', 'the history is per scope: name the scope');
    const current = await this.repository.current();
    if (!query.scope) return { scopes: current };
    const scopes = current.filter((v) => v.scope === query.scope);
    return query.history ? { scopes, history: await this.repository.history(query.scope) } : { scopes };
  }
}
