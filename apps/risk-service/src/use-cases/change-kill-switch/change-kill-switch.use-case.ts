import { Injectable } from '@nestjs/common';
import {
  KillSwitchActivatedEvt,
  KillSwitchActivatingSig,
  KillSwitchDeactivatedEvt,
  type Actor,
  type KillSwitchChange,
  type TradingState,
} from '@garde/contracts';
import { parseScope } from '@garde/domain';
import { MessageBus, type MessageContext } from '@garde/platform';
import { RiskException } from '../../errors/risk.exception.js';
import { RiskMetrics } from '../../metrics/risk.metrics.js';
import { KillSwitchRepository } from '../../persistence/kill-switch.repository.js';
import { KillSwitchBucket } from '../../state/kill-switch.bucket.js';

export interface ChangeKillSwitchInput {
  scope: string;
  /** HALTED or REDUCING to activate, ACTIVE to deactivate. */
  to: TradingState;
  reason: string;
}

/**
 * Activates or deactivates one kill-switch scope, in the order of DESIGN §3: PostgreSQL, then the KV
 * bucket (what the gateway and the bots act on), then the event for the audit trail, then the reply.
 * An activation is announced first (KillSwitchActivatingSig), as soon as it is accepted: the gateway
 * refuses orders from then on, without waiting for the commit; the bucket's write confirms it.
 */
@Injectable()
export class ChangeKillSwitch {
  constructor(
    private readonly repository: KillSwitchRepository,
    private readonly bucket: KillSwitchBucket,
    private readonly bus: MessageBus,
    private readonly metrics: RiskMetrics,
  ) {}

  async execute(input: ChangeKillSwitchInput, ctx: MessageContext & { correlationId: string }): Promise<KillSwitchChange> {
    const started = process.hrtime.bigint();
    const action = input.to === 'ACTIVE' ? 'deactivate' : 'activate';
    const actor = ctx.actor;
    if (!actor) throw new RiskException('UNAUTHENTICATED', `${action} needs an identified actor`);
    authorize(action, actor);
    const parsed = parseScope(input.scope);
    if ('error' in parsed) throw new RiskException('INVALID_REQUEST', parsed.error);

    const at = new Date();
    if (input.to !== 'ACTIVE') {
      this.bus.signal(KillSwitchActivatingSig, { scope: input.scope, state: input.to, reason: input.reason, actor, requestedAt: at.toISOString() }, ctx);
    }
    const change = await this.repository.changeState({ ...input, actor, correlationId: ctx.correlationId, at });
    if (change.changed) {
      try {
        await this.bucket.put(change.current);
      } catch (err) {
        throw new RiskException(
          'UNAVAILABLE',
          `the ${action} of ${input.scope} is recorded but could not be written to the KV bucket (${String(err)}); risk-service re-publishes it on its next start, retry the command to re-publish now`,
        );
      }
      await this.bus.publish(action === 'activate' ? KillSwitchActivatedEvt : KillSwitchDeactivatedEvt, change, ctx);
      this.metrics.killSwitchChanges.inc({ action, scope_kind: parsed.kind });
    } else {
      // Already in that state: make sure the bucket agrees (it may have missed an earlier write).
      if (change.current.version > 0) await this.bucket.put(change.current).catch(() => undefined);
    }
    this.metrics.changeDuration.observe({ action }, Number(process.hrtime.bigint() - started) / 1e9);
    return change;
  }
}

/** Any operator role but viewer may stop trading; only risk or admin may restart it, never automatically. */
function authorize(action: 'activate' | 'deactivate', actor: Actor): void {
  if (action === 'activate') {
    if (actor.kind !== 'operator') return;
    if (actor.role === 'operator' || actor.role === 'risk' || actor.role === 'admin') return;
    throw new RiskException('FORBIDDEN', `role ${actor.role ?? 'none'} may not activate the kill switch (needs operator, risk or admin)`);
  }
  if (actor.kind === 'operator' && (actor.role === 'risk' || actor.role === 'admin')) return;
  throw new RiskException(
    'FORBIDDEN',
    actor.kind === 'operator'
      ? `role ${actor.role ?? 'none'} may not deactivate the kill switch (needs risk or admin)`
      : 'a kill switch is only deactivated by a person with the risk or admin role, never automatically',
  );
}
