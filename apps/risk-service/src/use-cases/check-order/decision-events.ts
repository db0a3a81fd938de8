import { Injectable } from '@nestjs/common';
import { OrderApprovedEvt, OrderDeniedEvt, type OrderCheckDecision, type SubmitOrder } from '@garde/contracts';
import type { Decimal } from '@garde/domain';
import { JsonLogger, MessageBus, errorFields, type ContextLogger, type MessageContext } from '@garde/platform';
import { RiskMetrics } from '../../metrics/risk.metrics.js';

export type Denied = Extract<OrderCheckDecision, { decision: 'DENIED' }>;

/** What a pre-trade decision tells the world: metrics, and its event in the audit trail. */
@Injectable()
export class DecisionEvents {
  private readonly log: ContextLogger;

  constructor(
    private readonly bus: MessageBus,
    private readonly metrics: RiskMetrics,
    logger: JsonLogger,
  ) {
    this.log = logger.child('order-check');
  }

  /**
   * An approval, for the audit trail (JetStream) and for the other risk-service replicas, which see it
   * on the bus as it is published and count the order's exposure from it. Published at the end of the
   * turn with the reply (MessageBus.publishSoon), its ack not awaited on the order's path. What a lost
   * approval would cost: until the gateway's own event of that order (accepted, rejected, refused; in the
   * stream) arrives, the other replicas do not count it — the same gap as their normal lag; this replica
   * counts it already, and the book takes the approval and the gateway's events in either order. A
   * failed ack is logged and counted (alert GardeRiskApprovalUnrecorded).
   */
  approved(order: SubmitOrder, referencePrice: Decimal, notional: Decimal, ctx: MessageContext): void {
    this.bus.publishSoon(OrderApprovedEvt, { order, referencePrice: referencePrice.toString(), notional: notional.toString() }, ctx, (err) => {
      this.metrics.approvalsUnrecorded.inc();
      this.log.error('could not record an approval in the AUDIT stream: the other replicas count the order only from its gateway events', {
        clientOrderId: order.clientOrderId,
        ...errorFields(err),
      });
    });
  }

  /** A denial: published without keeping the gateway waiting (the audit trail keeps every one). */
  denied(order: SubmitOrder, denial: Denied, ctx: MessageContext): void {
    const payload = { order, reason: denial.reason, message: denial.message, ...(denial.scope ? { scope: denial.scope } : {}), context: denial.context ?? {} };
    this.bus.publishSoon(OrderDeniedEvt, payload, ctx, (err) =>
      this.log.error('could not publish an order denial', { clientOrderId: order.clientOrderId, reason: denial.reason, ...errorFields(err) }),
    );
  }

  /** Counted by decision and reason, timed from `started` (process.hrtime.bigint()). */
  decided(decision: OrderCheckDecision, started: bigint): void {
    this.metrics.orderChecks.inc({ decision: decision.decision, reason: decision.decision === 'DENIED' ? decision.reason : 'none' });
    this.metrics.checkDuration.observe({ decision: decision.decision }, Number(process.hrtime.bigint() - started) / 1e9);
  }
}
