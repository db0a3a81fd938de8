import { Inject, Injectable } from '@nestjs/common';
import ccxt from 'ccxt';
import { OrderLostEvt, OrderSettledEvt } from '@garde/contracts';
import { isFinal } from '@garde/domain';
import { JsonLogger, MessageBus, SERVICE_CONFIG, errorFields, type ContextLogger } from '@garde/platform';
import type { GatewayConfig } from '../../config/gateway.config.js';
import { GatewayMetrics } from '../../metrics/gateway.metrics.js';
import { ExchangeAccountRepository } from '../../persistence/exchange-account.repository.js';
import type { VenueOrderRow } from '../../persistence/venue-order.entity.js';
import { VenueOrderRepository, toOrder } from '../../persistence/venue-order.repository.js';
import { VenueClients } from '../../venues/venue-clients.js';
import { outcomeOfAnswer } from '../submit-order/venue-outcome.js';

/**
 * Settles UNKNOWN orders (DESIGN §4): each is looked up at the venue by its client order id — never
 * sent again — first UNKNOWN_FIRST_LOOKUP_MS after the submit, then every UNKNOWN_LOOKUP_INTERVAL_MS.
 * Found: it takes the venue's state. Not found after UNKNOWN_MAX_LOOKUPS: LOST, with a critical event.
 * A lookup that itself fails (venue down) is tried again and does not count as "not found". An order
 * left PENDING_SUBMIT by a gateway that died while sending it becomes UNKNOWN first.
 */
@Injectable()
export class SettleUnknownOrders {
  private readonly log: ContextLogger;

  constructor(
    private readonly orders: VenueOrderRepository,
    private readonly accounts: ExchangeAccountRepository,
    private readonly clients: VenueClients,
    private readonly bus: MessageBus,
    private readonly metrics: GatewayMetrics,
    logger: JsonLogger,
    @Inject(SERVICE_CONFIG) private readonly config: GatewayConfig,
  ) {
    this.log = logger.child('order-settle');
  }

  /** One pass over the orders due; returns how many were looked up. */
  async execute(now = new Date(), accountId?: string): Promise<number> {
    const abandoned = await this.orders.abandonedSubmits(new Date(Date.now() - this.config.VENUE_TIMEOUT_MS - 2000), new Date());
    if (abandoned.length) this.log.warn('orders left PENDING_SUBMIT by a stopped gateway are now UNKNOWN', { clientOrderIds: abandoned });
    const due = await this.orders.dueUnknown(now, 50, accountId);
    for (const order of due) await this.lookUp(order);
    return due.length;
  }

  private async lookUp(order: VenueOrderRow): Promise<void> {
    const account = await this.accounts.get(order.accountId);
    const lookups = order.lookups + 1;
    const later = new Date(Date.now() + this.config.UNKNOWN_LOOKUP_INTERVAL_MS);
    if (!account) {
      await this.orders.update(order.clientOrderId, {
        lookups,
        nextCheckAt: later,
        lastError: `account ${order.accountId} no longer exists: cannot look the order up`,
      });
      return;
    }
    try {
      const client = await this.clients.forAccount(account);
      const found = await client.fetchOrder('', order.symbol, { origClientOrderId: order.clientOrderId });
      const outcome = outcomeOfAnswer(found);
      if (outcome.kind !== 'answered') return;
      const settled = await this.orders.update(order.clientOrderId, {
        state: outcome.state,
        venueOrderId: outcome.venueOrderId,
        filled: outcome.filled,
        lookups,
        nextCheckAt: isFinal(outcome.state) ? null : new Date(Date.now() + this.config.ORDER_POLL_MS),
        venueSeenAt: new Date(),
      });
      this.metrics.settledOrders.inc({ result: settled.state });
      this.log.warn('UNKNOWN order settled from the venue', { clientOrderId: order.clientOrderId, state: settled.state, lookups });
      await this.bus.publish(OrderSettledEvt, toOrder(settled), { correlationId: order.correlationId });
    } catch (err) {
      if (err instanceof ccxt.OrderNotFound) {
        if (lookups >= this.config.UNKNOWN_MAX_LOOKUPS) {
          const lost = await this.orders.update(order.clientOrderId, {
            state: 'LOST',
            lookups,
            nextCheckAt: null,
            lastError: `the venue has no order ${order.clientOrderId} after ${lookups} lookups; it was not re-sent`,
          });
          this.metrics.settledOrders.inc({ result: 'LOST' });
          this.log.error('order LOST: the venue never heard of it', { clientOrderId: order.clientOrderId, accountId: order.accountId, lookups });
          await this.bus.publish(OrderLostEvt, toOrder(lost), { correlationId: order.correlationId });
          return;
        }
        await this.orders.update(order.clientOrderId, { lookups, nextCheckAt: later });
        return;
      }
      // The lookup itself failed (venue unreachable, 5xx): not evidence either way; try again later.
      this.log.warn('lookup of an UNKNOWN order failed; will retry', { clientOrderId: order.clientOrderId, ...errorFields(err) });
      await this.orders.update(order.clientOrderId, { nextCheckAt: later });
    }
  }
}
