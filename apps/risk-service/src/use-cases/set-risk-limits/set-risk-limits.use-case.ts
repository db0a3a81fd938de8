import { Injectable } from '@nestjs/common';
import { RiskLimitsChangedEvt, type Actor, type RiskLimitValues, type RiskLimitsChange, type SetRiskLimits } from '@garde/contracts';
import { LIMIT_NAMES, limitProblems, parseLimitScope } from '@garde/domain';
import { MessageBus, type MessageContext } from '@garde/platform';
import { RiskException } from '../../errors/risk.exception.js';
import { RiskMetrics } from '../../metrics/risk.metrics.js';
import { RiskLimitsRepository } from '../../persistence/risk-limits.repository.js';
import { RiskLimitsBucket } from '../../state/risk-limits.bucket.js';
import { RiskLimitsView, limitsFromWire } from '../../state/risk-limits-view.js';

/** A scope never set has no limit of its own. */
const UNSET = Object.fromEntries(LIMIT_NAMES.map((name) => [name, null])) as unknown as RiskLimitValues;

/**
 * Changes a scope's limits (risk or admin role only): a new version in PostgreSQL (never an update),
 * then the KV bucket every replica watches (applied to their next order, without restart), then the
 * event for the audit trail, then the reply. The limits not named keep their value.
 */
@Injectable()
export class SetRiskLimitsUseCase {
  constructor(
    private readonly repository: RiskLimitsRepository,
    private readonly bucket: RiskLimitsBucket,
    private readonly view: RiskLimitsView,
    private readonly bus: MessageBus,
    private readonly metrics: RiskMetrics,
  ) {}

  async execute(input: SetRiskLimits, ctx: MessageContext & { correlationId: string }): Promise<RiskLimitsChange> {
    const actor = ctx.actor;
    if (!actor) throw new RiskException('UNAUTHENTICATED', 'changing risk limits needs an identified actor');
    authorize(actor);
    const scope = parseLimitScope(input.scope);
    if ('error' in scope) throw new RiskException('INVALID_REQUEST', scope.error);

    const change = await this.repository.append({
      scope: input.scope,
      actor,
      reason: input.reason,
      correlationId: ctx.correlationId,
      at: new Date(),
      next: (previous) => {
        const limits = { ...(previous?.limits ?? UNSET), ...input.changes };
        const problems = limitProblems(scope.kind, limitsFromWire(limits));
        if (problems.length) throw new RiskException('INVALID_REQUEST', `limits of ${input.scope} refused: ${problems.join('; ')}`, { problems });
        return limits;
      },
    });
    try {
      await this.bucket.put(change.current);
    } catch (err) {
      throw new RiskException(
        'UNAVAILABLE',
        `version ${change.current.version} of the limits of ${input.scope} is recorded but could not be written to the KV bucket (${String(err)}); risk-service re-publishes it on its next start, or set it again`,
      );
    }
    this.view.apply(change.current);
    await this.bus.publish(RiskLimitsChangedEvt, change, ctx);
    this.metrics.limitChanges.inc({ scope_kind: scope.kind });
    return change;
  }
}

/** Limits are the risk function's: only the risk or admin role changes them, never a service on its own. */
function authorize(actor: Actor): void {
  if (actor.kind === 'operator' && (actor.role === 'risk' || actor.role === 'admin')) return;
  throw new RiskException(
    'FORBIDDEN',
    actor.kind === 'operator'
      ? `role ${actor.role ?? 'none'} may not change risk limits (needs risk or admin)`
      : 'risk limits are changed by a person with the risk or admin role',
  );
}
