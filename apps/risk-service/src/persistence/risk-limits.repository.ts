import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { RiskLimitValues, type Actor, type RiskLimitsChange, type RiskLimitsVersion } from '@garde/contracts';
import { RiskLimitVersionRow } from './risk-limits.entities.js';

/** PostgreSQL side of the risk limits: an append-only history of versions per scope. */
@Injectable()
export class RiskLimitsRepository {
  constructor(private readonly ds: DataSource) {}

  /**
   * Appends the next version of a scope, serialised per scope: `next` gets the current version (null for
   * a scope never set) and answers the complete new limits, or throws to write nothing.
   */
  append(input: {
    scope: string;
    next: (previous: RiskLimitsVersion | null) => RiskLimitValues;
    actor: Actor;
    reason: string;
    correlationId: string;
    at: Date;
  }): Promise<RiskLimitsChange> {
    return this.ds.transaction(async (em) => {
      await em.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`risk-limits:${input.scope}`]);
      const previous = await this.latest(em, input.scope);
      const limits = input.next(previous);
      const row = em.getRepository(RiskLimitVersionRow).create({
        scope: input.scope,
        version: (previous?.version ?? 0) + 1,
        limits,
        actor: input.actor,
        reason: input.reason,
        changedAt: input.at,
        correlationId: input.correlationId,
      });
      await em.getRepository(RiskLimitVersionRow).insert(row);
      return { current: toVersion(row), previous };
    });
  }

  /** The current version of every scope ever set, `firm` first. */
  async current(): Promise<RiskLimitsVersion[]> {
    const rows = await this.ds
      .getRepository(RiskLimitVersionRow)
      .createQueryBuilder('v')
      .distinctOn(['v.scope'])
      .orderBy('v.scope', 'ASC')
      .addOrderBy('v.version', 'DESC')
      .getMany();
    return rows.map(toVersion).sort((a, b) => (a.scope === 'firm' ? -1 : b.scope === 'firm' ? 1 : a.scope.localeCompare(b.scope)));
  }

  /** Every version of one scope, newest first. */
  async history(scope: string): Promise<RiskLimitsVersion[]> {
    const rows = await this.ds.getRepository(RiskLimitVersionRow).find({ where: { scope }, order: { version: 'DESC' } });
    return rows.map(toVersion);
  }

  private async latest(em: EntityManager, scope: string): Promise<RiskLimitsVersion | null> {
    const row = await em.getRepository(RiskLimitVersionRow).findOne({ where: { scope }, order: { version: 'DESC' } });
    return row ? toVersion(row) : null;
  }
}

function toVersion(row: RiskLimitVersionRow): RiskLimitsVersion {
  return {
    scope: row.scope,
    version: row.version,
    // A version written before a limit existed holds no value for it: read as null (the schema's default).
    limits: RiskLimitValues.parse(row.limits),
    actor: row.actor,
    reason: row.reason,
    changedAt: row.changedAt.toISOString(),
  };
}
