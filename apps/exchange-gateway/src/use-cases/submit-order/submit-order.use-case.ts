import { Injectable } from '@nestjs/common';
import { OrderRefusedEvt, type SubmitOrder } from '@garde/contracts';
import { orderAllowed } from '@garde/domain';
import { JsonLogger, MessageBus, errorFields, type MessageContext } from '@garde/platform';
import { GatewayException } from '../../errors/gateway.exception.js';
import { GatewayMetrics } from '../../metrics/gateway.metrics.js';
import { KillSwitchGate } from '../../state/kill-switch-gate.js';

/**
 * The choke point every order goes through (DESIGN §4). In this version: the kill-switch gate
 * (fail-closed), then an honest refusal, as no venue connectivity exists yet.
 */
@Injectable()
export class SubmitOrderUseCase {
  constructor(
    private readonly gate: KillSwitchGate,
    private readonly bus: MessageBus,
    private readonly metrics: GatewayMetrics,
    private readonly logger: JsonLogger,
  ) {}

  execute(order: SubmitOrder, ctx: MessageContext): Promise<never> {
    const started = process.hrtime.bigint();
    let refusal: GatewayException;
    if (!this.gate.known) {
      refusal = new GatewayException(
        'RISK_STATE_UNKNOWN',
        'order refused: the gateway has not read the kill-switch state since it (re)connected (fail-closed)',
      );
    } else {
      const { state, imposedBy } = this.gate.effective({ exchangeId: order.exchangeId, botId: order.botId });
      if (!orderAllowed(state, order.reduceOnly) && imposedBy) {
        refusal = new GatewayException('KILL_SWITCH_ACTIVE', `order refused: kill switch ${imposedBy.scope} is ${state}: ${imposedBy.reason}`, {
          scope: imposedBy.scope,
          state,
          reason: imposedBy.reason,
          actor: imposedBy.actor.id,
          since: imposedBy.since,
        });
      } else {
        refusal = new GatewayException('NO_VENUE_CONFIGURED', `order refused: no venue connectivity is configured for exchange ${order.exchangeId} yet`, {
          exchangeId: order.exchangeId,
        });
      }
    }
    this.metrics.gateDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
    this.metrics.orders.inc({ result: refusal.code });
    // The refusal goes to the audit trail, but the caller is not kept waiting for the stream's ack.
    void this.bus
      .publish(
        OrderRefusedEvt,
        {
          clientOrderId: order.clientOrderId,
          botId: order.botId,
          exchangeId: order.exchangeId,
          symbol: order.symbol,
          side: order.side,
          error: refusal.toBody(),
        },
        ctx,
      )
      .catch((err: unknown) =>
        this.logger.child('orders').error('could not publish an order refusal', { clientOrderId: order.clientOrderId, ...errorFields(err) }),
      );
    return Promise.reject(refusal);
  }
}
