import { Injectable } from '@nestjs/common';
import type { Order } from '@garde/contracts';
import { GatewayException } from '../../errors/gateway.exception.js';
import { ExchangeAccountRepository } from '../../persistence/exchange-account.repository.js';
import { VenueOrderRepository, toOrder } from '../../persistence/venue-order.repository.js';

/**
 * The orders of one exchange account that are not final in the gateway's books (being sent, open,
 * partly filled, unknown, being cancelled): what Garde believes may be open at the venue, for
 * risk-service's reconciliation against the venue's own open orders (RB-003).
 */
@Injectable()
export class ListLiveOrders {
  constructor(
    private readonly accounts: ExchangeAccountRepository,
    private readonly orders: VenueOrderRepository,
  ) {}

  async execute(accountId: string): Promise<{ orders: Order[] }> {
    const account = await this.accounts.get(accountId);
    if (!account) throw new GatewayException('NOT_FOUND', `no exchange account ${accountId}`);
    const rows = await this.orders.liveInScope({ kind: 'exchange', id: account.exchangeId });
    return { orders: rows.filter((r) => r.accountId === accountId).map(toOrder) };
  }
}
