import { Inject, Injectable } from '@nestjs/common';
import ccxt from 'ccxt';
import { OrderSettledEvt, type Actor, type Order } from '@garde/contracts';
import { isFinal, type OrderState } from '@garde/domain';
import { MessageBus, SERVICE_CONFIG } from '@garde/platform';
import type { GatewayConfig } from '../../config/gateway.config.js';
import { GatewayException } from '../../errors/gateway.exception.js';
import { ExchangeAccountRepository } from '../../persistence/exchange-account.repository.js';
import { VenueOrderRepository, toOrder } from '../../persistence/venue-order.repository.js';
import { describeVenueError } from '../../venues/ccxt-client.js';
import { VenueClients } from '../../venues/venue-clients.js';
import { outcomeOfAnswer } from '../submit-order/venue-outcome.js';

/**
 * Settles one order on an operator's request (RB-005): asks the venue, by client order id, what it
 * is, and records that. Never sends it again. If the venue has no such order, it is LOST.
 */
@Injectable()
export class ResolveOrder {
  constructor(
    private readonly orders: VenueOrderRepository,
    private readonly accounts: ExchangeAccountRepository,
    private readonly clients: VenueClients,
    private readonly bus: MessageBus,
    @Inject(SERVICE_CONFIG) private readonly config: GatewayConfig,
  ) {}

  async execute(clientOrderId: string, actor: Actor): Promise<Order> {
    const row = await this.orders.get(clientOrderId);
    if (!row) throw new GatewayException('NOT_FOUND', `no order ${clientOrderId}`);
    if (isFinal(row.state as OrderState)) return toOrder(row);
    const account = await this.accounts.get(row.accountId);
    if (!account) throw new GatewayException('UNAVAILABLE', `account ${row.accountId} of order ${clientOrderId} no longer exists`);
    let updated;
    try {
      const client = await this.clients.forAccount(account);
      const seen = outcomeOfAnswer(await client.fetchOrder('', row.symbol, { origClientOrderId: clientOrderId }));
      if (seen.kind !== 'answered') throw new Error('no answer');
      updated = await this.orders.update(clientOrderId, {
        state: seen.state,
        venueOrderId: seen.venueOrderId,
        filled: seen.filled,
        venueSeenAt: new Date(),
        nextCheckAt: isFinal(seen.state) ? null : new Date(Date.now() + this.config.ORDER_POLL_MS),
      });
    } catch (err) {
      if (!(err instanceof ccxt.OrderNotFound)) {
        throw new GatewayException('UNAVAILABLE', `could not ask the venue about ${clientOrderId}: ${describeVenueError(err).message}; nothing changed`);
      }
      updated = await this.orders.update(clientOrderId, {
        state: 'LOST',
        nextCheckAt: null,
        lastError: `resolved by ${actor.id}: the venue has no order ${clientOrderId}; it was not re-sent`,
      });
    }
    const order = toOrder(updated);
    await this.bus.publish(OrderSettledEvt, order, { actor, correlationId: row.correlationId });
    return order;
  }
}
