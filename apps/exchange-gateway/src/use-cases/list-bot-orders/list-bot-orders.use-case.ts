import { Injectable } from '@nestjs/common';
import type { Order, OrderFill } from '@garde/contracts';
import { VenueOrderRepository, plain, toOrder } from '../../persistence/venue-order.repository.js';

/** A bot's orders not final (and those changed since a time), with their recorded fills; and how many each bot of a fleet has. */
@Injectable()
export class ListBotOrders {
  constructor(private readonly orders: VenueOrderRepository) {}

  async execute(botId: string, since?: Date): Promise<{ orders: Order[]; fills: OrderFill[] }> {
    const rows = await this.orders.forBot(botId, since);
    const fills = await this.orders.fillsOf(rows.map((r) => r.clientOrderId));
    return {
      orders: rows.map(toOrder),
      fills: fills.map((f) => ({
        clientOrderId: f.clientOrderId,
        tradeId: f.tradeId,
        price: plain(f.price),
        quantity: plain(f.quantity),
        fee: plain(f.fee),
        feeCurrency: f.feeCurrency,
        at: f.executedAt.toISOString(),
      })),
    };
  }

  /** Per bot of `botIds`, its orders not final (what may be open at the venues; bots without any are absent). */
  liveCounts(botIds: string[]): Promise<Record<string, number>> {
    return this.orders.countLiveByBot(botIds);
  }
}
