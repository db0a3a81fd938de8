import { Injectable } from '@nestjs/common';
import type { Exchange } from 'ccxt';
import { OrderFilledEvt } from '@garde/contracts';
import { JsonLogger, MessageBus, errorFields } from '@garde/platform';
import type { VenueOrderRow } from '../../persistence/venue-order.entity.js';
import { VenueOrderRepository, toOrder } from '../../persistence/venue-order.repository.js';
import { toDecimalString } from '../submit-order/venue-outcome.js';

/**
 * Records an order's executions from the venue's trade list, once each (account + trade id), and
 * publishes one `order.filled` per new execution with its price, quantity and fee.
 */
@Injectable()
export class OrderFills {
  constructor(
    private readonly orders: VenueOrderRepository,
    private readonly bus: MessageBus,
    private readonly logger: JsonLogger,
  ) {}

  async record(order: VenueOrderRow, client: Exchange): Promise<number> {
    if (!order.venueOrderId) return 0;
    try {
      const trades = await client.fetchMyTrades(order.symbol, undefined, undefined, { orderId: order.venueOrderId });
      const rows = trades
        .filter((t) => String(t.order) === order.venueOrderId && t.id !== undefined && t.price !== undefined && t.amount !== undefined)
        .map((t) => ({
          accountId: order.accountId,
          tradeId: String(t.id),
          clientOrderId: order.clientOrderId,
          price: toDecimalString(t.price ?? 0),
          quantity: toDecimalString(t.amount ?? 0),
          fee: toDecimalString(t.fee?.cost ?? 0),
          feeCurrency: t.fee?.currency ?? null,
          executedAt: new Date(t.timestamp ?? Date.now()),
        }));
      const fresh = await this.orders.insertFills(rows);
      await this.orders.fillsRecorded(order.clientOrderId);
      for (const fill of fresh) {
        await this.bus.publish(
          OrderFilledEvt,
          {
            order: toOrder(order),
            fill: {
              tradeId: fill.tradeId,
              price: fill.price,
              quantity: fill.quantity,
              fee: fill.fee,
              feeCurrency: fill.feeCurrency,
              at: fill.executedAt.toISOString(),
            },
          },
          { correlationId: order.correlationId },
        );
      }
      return fresh.length;
    } catch (err) {
      // The order state is right; its fills are still owed and will be read again (TrackOpenOrders).
      this.logger.child('order-fills').warn('could not read the fills of an order', { clientOrderId: order.clientOrderId, ...errorFields(err) });
      return 0;
    }
  }
}
