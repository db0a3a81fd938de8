import { Injectable } from '@nestjs/common';
import type { OrderCheckDecision, SubmitOrder } from '@garde/contracts';
import { orderAllowed } from '@garde/domain';
import { RiskMetrics } from '../../metrics/risk.metrics.js';
import { KillSwitchView } from '../../state/kill-switch-view.js';

/**
 * The pre-trade check (DESIGN §4, §6). Today: the scope's trading state, fail-closed. Limits,
 * collars and exposure come with the risk issue. A denial is data with a closed reason, not an error.
 */
@Injectable()
export class CheckOrder {
  constructor(
    private readonly view: KillSwitchView,
    private readonly metrics: RiskMetrics,
  ) {}

  execute(order: SubmitOrder): OrderCheckDecision {
    const decision = this.decide(order);
    this.metrics.orderChecks.inc({ decision: decision.decision, reason: decision.decision === 'DENIED' ? decision.reason : 'none' });
    return decision;
  }

  private decide(order: SubmitOrder): OrderCheckDecision {
    if (!this.view.known) {
      return { decision: 'DENIED', reason: 'RISK_STATE_UNKNOWN', message: 'risk-service has not read the kill-switch state since it (re)connected' };
    }
    const { state, imposedBy } = this.view.effective({ exchangeId: order.exchangeId, botId: order.botId });
    if (orderAllowed(state, order.reduceOnly) || !imposedBy) return { decision: 'APPROVED' };
    return {
      decision: 'DENIED',
      reason: state === 'HALTED' ? 'KILL_SWITCH_HALTED' : 'KILL_SWITCH_REDUCING',
      message: `kill switch ${imposedBy.scope} is ${state}: ${imposedBy.reason}`,
      scope: imposedBy.scope,
    };
  }
}
