import { Inject, Injectable } from '@nestjs/common';
import { Decimal, isFinal, type OrderState } from '@garde/domain';
import { JsonLogger, SERVICE_CONFIG, errorFields, type ContextLogger } from '@garde/platform';
import type { GatewayConfig } from '../../config/gateway.config.js';
import { ExchangeAccountRepository } from '../../persistence/exchange-account.repository.js';
import type { VenueOrderRow } from '../../persistence/venue-order.entity.js';
import { VenueOrderRepository } from '../../persistence/venue-order.repository.js';
import { VenueClients } from '../../venues/venue-clients.js';
import { outcomeOfAnswer } from '../submit-order/venue-outcome.js';
import { OrderFills } from './order-fills.js';

/**
 * Follows open orders until they are final (DESIGN §4): each is polled every ORDER_POLL_MS; a change of
 * state or of filled quantity is recorded, and new executions are read and published as fills, also for
 * orders whose fills are still owed.
 */
@Injectable()
export class TrackOpenOrders {
  private readonly log: ContextLogger;

  constructor(
    private readonly orders: VenueOrderRepository,
    private readonly accounts: ExchangeAccountRepository,
    private readonly clients: VenueClients,
    private readonly fills: OrderFills,
    @Inject(SERVICE_CONFIG) private readonly config: GatewayConfig,
    logger: JsonLogger,
  ) {
    this.log = logger.child('order-tracking');
  }

  async execute(now = new Date(), accountId?: string): Promise<number> {
    const due = await this.orders.duePoll(now, 100, accountId);
    for (const order of due) await this.poll(order);
    await this.catchUpFills(now);
    return due.length;
  }

  /**
   * Fills still owed: an order settled FILLED by a lookup, or whose fills could not be read (the venue
   * failed, the process died) — read again, at most every ORDER_POLL_MS per order.
   */
  private async catchUpFills(now: Date): Promise<void> {
    for (const order of await this.orders.fillsOwed(new Date(now.getTime() - this.config.ORDER_POLL_MS), 50)) {
      const account = await this.accounts.get(order.accountId);
      if (!account) continue;
      try {
        await this.fills.record(order, await this.clients.forAccount(account));
      } catch (err) {
        this.log.warn('could not read the fills owed of an order; will retry', { clientOrderId: order.clientOrderId, ...errorFields(err) });
      }
    }
  }

  private async poll(order: VenueOrderRow): Promise<void> {
    const later = new Date(Date.now() + this.config.ORDER_POLL_MS);
    const account = await this.accounts.get(order.accountId);
    if (!account || !order.venueOrderId) {
      await this.orders.update(order.clientOrderId, { nextCheckAt: later });
      return;
    }
    try {
      const client = await this.clients.forAccount(account);
      const seen = outcomeOfAnswer(await client.fetchOrder(order.venueOrderId, order.symbol));
      if (seen.kind !== 'answered') return;
      // A PENDING_CANCEL order the venue still reports open stays PENDING_CANCEL until the cancel lands.
      const state: OrderState = order.state === 'PENDING_CANCEL' && !isFinal(seen.state) ? 'PENDING_CANCEL' : seen.state;
      const moreFilled = Decimal.of(seen.filled).gt(order.filled);
      const updated = await this.orders.update(order.clientOrderId, {
        state,
        filled: seen.filled,
        venueSeenAt: new Date(),
        nextCheckAt: isFinal(state) ? null : later,
      });
      if (moreFilled) await this.fills.record(updated, client);
    } catch (err) {
      this.log.warn('could not poll an open order; will retry', { clientOrderId: order.clientOrderId, ...errorFields(err) });
      await this.orders.update(order.clientOrderId, { nextCheckAt: later });
    }
  }
}
