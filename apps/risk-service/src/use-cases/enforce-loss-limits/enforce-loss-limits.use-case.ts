import { Injectable } from '@nestjs/common';
import type { Actor } from '@garde/contracts';
import { autoHalts, parseScope, type AutoHalt } from '@garde/domain';
import { JsonLogger, errorFields, type ContextLogger } from '@garde/platform';
import { RiskMetrics } from '../../metrics/risk.metrics.js';
import { ExposureFeed } from '../../state/exposure-feed.js';
import { KillSwitchView } from '../../state/kill-switch-view.js';
import { RiskLimitsView } from '../../state/risk-limits-view.js';
import { ChangeKillSwitch } from '../change-kill-switch/change-kill-switch.use-case.js';

/** Who activates a scope automatically: risk-service itself, recorded as a system actor. */
export const AUTOMATIC_ACTOR: Actor = { id: 'risk-service', kind: 'system' };

/**
 * The automatic kill switch (DESIGN §3): judges the loss limits (drawdown from the peak, loss since
 * 00:00 UTC, per bot and firm-wide) and the runaway-bot limits on this replica's ledger and counts,
 * and halts each scope beyond one (`bot:<id>`, or `global` for the firm) through ChangeKillSwitch — the
 * same path as an operator's activation (PostgreSQL, KV, event), with a system actor and a reason
 * naming the trigger and the figures. Never deactivates.
 *
 * Idempotent, and safe with several replicas judging the same events: a scope this replica sees HALTED
 * is left alone, one activation per scope is in flight at a time, and ChangeKillSwitch serialises
 * changes per scope in PostgreSQL and writes nothing (no event either) for a scope already HALTED —
 * the replica that comes second gets `changed: false` and counts nothing. Judges nothing until it
 * knows the order events up to now, the limits and the kill-switch state.
 */
@Injectable()
export class EnforceLossLimits {
  private readonly inFlight = new Set<string>();
  private readonly log: ContextLogger;

  constructor(
    private readonly feed: ExposureFeed,
    private readonly limits: RiskLimitsView,
    private readonly killSwitch: KillSwitchView,
    private readonly change: ChangeKillSwitch,
    private readonly metrics: RiskMetrics,
    logger: JsonLogger,
  ) {
    this.log = logger.child('loss-limits');
  }

  /**
   * Judges the limits at `now`, of the firm and of `bots` (every bot when absent); answers the scopes
   * this replica halted.
   */
  async execute(now: number, bots?: ReadonlySet<string>): Promise<AutoHalt[]> {
    if (!this.feed.known || !this.limits.known || !this.killSwitch.known) return [];
    const halts = autoHalts({ ledger: this.feed.ledger, activity: this.feed.activity, limits: this.limits.lookup, now, ...(bots ? { bots } : {}) });
    const halted: AutoHalt[] = [];
    for (const halt of halts) {
      if (this.killSwitch.get(halt.scope)?.state === 'HALTED' || this.inFlight.has(halt.scope)) continue;
      this.inFlight.add(halt.scope);
      try {
        const change = await this.change.execute(
          { scope: halt.scope, to: 'HALTED', reason: halt.reason },
          { actor: AUTOMATIC_ACTOR, correlationId: `automatic:${halt.trigger}:${halt.scope}:${now}` },
        );
        if (!change.changed) continue;
        const parsed = parseScope(halt.scope);
        this.metrics.autoKillSwitch.inc({ trigger: halt.trigger, scope_kind: 'error' in parsed ? 'unknown' : parsed.kind });
        this.log.warn('kill switch activated automatically', {
          scope: halt.scope,
          trigger: halt.trigger,
          value: halt.value,
          limit: halt.limit,
          reason: halt.reason,
        });
        halted.push(halt);
      } catch (err) {
        this.log.error('automatic kill-switch activation failed: judged again at the next mark, or at once on a fill of its bot', {
          scope: halt.scope,
          trigger: halt.trigger,
          ...errorFields(err),
        });
      } finally {
        this.inFlight.delete(halt.scope);
      }
    }
    return halted;
  }
}
