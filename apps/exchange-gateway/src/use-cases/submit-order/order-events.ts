import { Injectable } from '@nestjs/common';
import { OrderAcceptedEvt, OrderRefusedEvt, OrderRejectedEvt, OrderUnknownEvt, type Order, type SubmitOrder } from '@garde/contracts';
import { JsonLogger, MessageBus, errorFields, type ContextLogger, type MessageContext } from '@garde/platform';
import type { GatewayException } from '../../errors/gateway.exception.js';
import { GatewayMetrics } from '../../metrics/gateway.metrics.js';
import type { VenueOutcome } from './venue-outcome.js';

/** The `exchange` label of an order refused before it was routed to an account. */
export const NOT_ROUTED = 'not-routed';

/** What an order submit tells the world: metrics, and its event in the audit trail. */
@Injectable()
export class OrderEvents {
  private readonly log: ContextLogger;

  constructor(
    private readonly bus: MessageBus,
    private readonly metrics: GatewayMetrics,
    logger: JsonLogger,
  ) {
    this.log = logger.child('orders');
  }

  /**
   * A refusal before the venue: counted, and published without keeping the caller waiting. `exchange` is
   * the venue's exchange id once the order was routed to one of its accounts (a metric label must stay
   * bounded: an exchange id the caller made up is never one).
   */
  refused(order: SubmitOrder, refusal: GatewayException, ctx: MessageContext, exchange?: string): void {
    this.metrics.orders.inc({ exchange: exchange ?? NOT_ROUTED, result: refusal.code });
    const payload = {
      clientOrderId: order.clientOrderId,
      botId: order.botId,
      exchangeId: order.exchangeId,
      symbol: order.symbol,
      side: order.side,
      error: refusal.toBody(),
    };
    this.bus.publishSoon(OrderRefusedEvt, payload, ctx, (err) =>
      this.log.error('could not publish an order refusal', { clientOrderId: order.clientOrderId, ...errorFields(err) }),
    );
  }

  /**
   * The venue's answer (or its absence), recorded: accepted, rejected or unknown. Published just after the
   * caller's reply, with the other events of that turn (MessageBus.publishSoon), without waiting for the
   * stream's ack: the order is already in PostgreSQL, and a failed publish is logged either way.
   */
  sent(order: Order, outcome: VenueOutcome, ctx: MessageContext, startedAt: bigint): void {
    this.metrics.orders.inc({ exchange: order.exchangeId, result: order.state });
    this.metrics.submitDuration.observe({ outcome: outcome.kind }, Number(process.hrtime.bigint() - startedAt) / 1e9);
    const def = outcome.kind === 'answered' ? OrderAcceptedEvt : outcome.kind === 'rejected' ? OrderRejectedEvt : OrderUnknownEvt;
    this.bus.publishSoon(def, order, ctx, (err) =>
      this.log.error('could not publish an order event', { clientOrderId: order.clientOrderId, ...errorFields(err) }),
    );
  }
}
