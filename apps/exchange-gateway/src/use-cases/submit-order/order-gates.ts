import { Inject, Injectable } from '@nestjs/common';
import { OrderCheckQry, type SubmitOrder } from '@garde/contracts';
import { MessageBus, SERVICE_CONFIG, type MessageContext } from '@garde/platform';
import type { GatewayConfig } from '../../config/gateway.config.js';
import { orderAllowed } from '@garde/domain';
import { GatewayException } from '../../errors/gateway.exception.js';
import type { ExchangeAccountRow } from '../../persistence/exchange-account.entity.js';
import { KillSwitchGate } from '../../state/kill-switch-gate.js';
import { RateLimits } from '../../state/rate-limits.js';
import { VenueHealthMonitor } from '../../state/venue-health.js';
import { tooPrecise } from './venue-outcome.js';

/** The gates an order passes before it is sent: the kill switch, its venue's health, risk-service's decision, its account's rate limit. */
@Injectable()
export class OrderGates {
  constructor(
    private readonly gate: KillSwitchGate,
    private readonly health: VenueHealthMonitor,
    private readonly rateLimits: RateLimits,
    private readonly bus: MessageBus,
    @Inject(SERVICE_CONFIG) private readonly config: GatewayConfig,
  ) {}

  /** The kill switch (fail closed) and amounts a JS number carries exactly: checked before anything else. */
  beforeVenue(order: SubmitOrder): void {
    if (!this.gate.known) {
      throw new GatewayException('RISK_STATE_UNKNOWN', 'order refused: the gateway has not read the kill-switch state since it (re)connected (fail-closed)');
    }
    const { state, imposedBy } = this.gate.effective({ exchangeId: order.exchangeId, botId: order.botId });
    if (!orderAllowed(state, order.reduceOnly) && imposedBy) {
      throw new GatewayException('KILL_SWITCH_ACTIVE', `order refused: kill switch ${imposedBy.scope} is ${state}: ${imposedBy.reason}`, {
        scope: imposedBy.scope,
        state,
        reason: imposedBy.reason,
        actor: imposedBy.actor.id,
        since: imposedBy.since,
      });
    }
    for (const [field, value] of [
      ['quantity', order.quantity],
      ['price', order.price],
    ] as const) {
      if (value !== undefined && tooPrecise(value))
        throw new GatewayException('INVALID_REQUEST', `order refused: ${field} ${value} has more than 15 significant digits`);
    }
  }

  /** A DISCONNECTED venue, or one being reconciled after a reconnect, takes no new order. */
  venueUsable(account: ExchangeAccountRow): void {
    this.health.assertUsable(account);
  }

  /** risk-service's decision on the order routed to its account; no answer in time is a refusal (fail closed). */
  async checkRisk(order: SubmitOrder, ctx: MessageContext): Promise<void> {
    const reply = await this.bus.request(OrderCheckQry, order, ctx, this.config.RISK_CHECK_TIMEOUT_MS);
    if (!reply.ok)
      throw new GatewayException(
        reply.error.code === 'TIMEOUT' ? 'TIMEOUT' : 'UNAVAILABLE',
        `order refused: no pre-trade decision from risk-service (${reply.error.message})`,
      );
    if (reply.result.decision === 'DENIED') {
      throw new GatewayException('RISK_DENIED', `order refused by risk-service: ${reply.result.message}`, {
        ...reply.result.context,
        reason: reply.result.reason,
        ...(reply.result.scope ? { scope: reply.result.scope } : {}),
      });
    }
  }

  /** Room for the order in its account's rate-limit budget (RB-004), taken before it is persisted. */
  takeRateLimitToken(account: ExchangeAccountRow): Promise<void> {
    return this.rateLimits.takeOrderToken(account);
  }

  /** A send that failed the way a dead venue fails counts against its health. */
  venueCallFailed(account: ExchangeAccountRow, reason: string): Promise<void> {
    return this.health.callFailed(account, reason);
  }
}
