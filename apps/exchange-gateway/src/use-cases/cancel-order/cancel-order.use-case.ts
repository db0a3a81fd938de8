import { Injectable } from '@nestjs/common';
import ccxt from 'ccxt';
import { OrderCanceledEvt, type Actor, type Order } from '@garde/contracts';
import { isFinal, orderTransition, type OrderState } from '@garde/domain';
import { MessageBus } from '@garde/platform';
import { GatewayException } from '../../errors/gateway.exception.js';
import { ExchangeAccountRepository } from '../../persistence/exchange-account.repository.js';
import type { ExchangeAccountRow } from '../../persistence/exchange-account.entity.js';
import type { VenueOrderRow } from '../../persistence/venue-order.entity.js';
import { VenueOrderRepository, toOrder } from '../../persistence/venue-order.repository.js';
import { VenueClients } from '../../venues/venue-clients.js';
import { isRateLimitedAnswer, outcomeOfAnswer } from '../submit-order/venue-outcome.js';

const CANCEL_ATTEMPTS_WHEN_RATE_LIMITED = 5;

/**
 * Cancels one order through PENDING_CANCEL (DESIGN §4). Cancels are never gated by the kill switch.
 * When the venue no longer has it open (filled meanwhile, or never there), the order takes the state
 * the venue reports. A venue that does not answer leaves it PENDING_CANCEL, with the error recorded.
 */
@Injectable()
export class CancelOrderUseCase {
  constructor(
    private readonly orders: VenueOrderRepository,
    private readonly accounts: ExchangeAccountRepository,
    private readonly clients: VenueClients,
    private readonly bus: MessageBus,
  ) {}

  async execute(input: { clientOrderId: string; reason: string }, ctx: { actor?: Actor; correlationId?: string }): Promise<Order> {
    const row = await this.orders.get(input.clientOrderId);
    if (!row) throw new GatewayException('NOT_FOUND', `no order ${input.clientOrderId}`);
    if (isFinal(row.state as OrderState)) throw new GatewayException('INVALID_TRANSITION', `order ${row.clientOrderId} is ${row.state}: nothing to cancel`);
    const account = await this.accounts.get(row.accountId);
    if (!account) throw new GatewayException('UNAVAILABLE', `account ${row.accountId} of order ${row.clientOrderId} no longer exists`);
    return this.cancel(row, account, input.reason, ctx);
  }

  /** The cancel itself, for callers that already hold the order and its account (the kill switch). */
  async cancel(row: VenueOrderRow, account: ExchangeAccountRow, reason: string, ctx: { actor?: Actor; correlationId?: string }): Promise<Order> {
    if (row.state !== 'PENDING_CANCEL' && orderTransition(row.state as OrderState, 'PENDING_CANCEL').ok) {
      row = await this.orders.update(row.clientOrderId, { state: 'PENDING_CANCEL' });
    }
    let after: VenueOrderRow;
    try {
      const client = await this.clients.forAccount(account);
      const params = row.venueOrderId ? {} : { origClientOrderId: row.clientOrderId };
      // A 429 means the venue did not take the cancel: it goes again once the account's pause is over
      // (a cancel is safe to repeat: one that already happened answers "unknown order").
      for (let attempt = 1; ; attempt++) {
        try {
          await client.cancelOrder(row.venueOrderId ?? '', row.symbol, params);
          break;
        } catch (err) {
          if (!isRateLimitedAnswer(err) || attempt >= CANCEL_ATTEMPTS_WHEN_RATE_LIMITED) throw err;
        }
      }
      after = await this.orders.update(row.clientOrderId, { state: 'CANCELED', nextCheckAt: null });
    } catch (err) {
      if (!(err instanceof ccxt.OrderNotFound)) {
        await this.orders.update(row.clientOrderId, { lastError: `cancel failed: ${err instanceof Error ? err.message.slice(0, 300) : String(err)}` });
        throw new GatewayException('UNAVAILABLE', `the venue did not confirm the cancel of ${row.clientOrderId}; it stays PENDING_CANCEL`);
      }
      after = await this.settleFromVenue(row, account);
    }
    const order = toOrder(after);
    await this.bus.publish(OrderCanceledEvt, { order, reason }, { ...ctx, correlationId: ctx.correlationId ?? row.correlationId });
    return order;
  }

  /** Not open at the venue: what is it then? (Filled before the cancel, or never arrived.) */
  private async settleFromVenue(row: VenueOrderRow, account: ExchangeAccountRow): Promise<VenueOrderRow> {
    const client = await this.clients.forAccount(account);
    try {
      const found = outcomeOfAnswer(await client.fetchOrder('', row.symbol, { origClientOrderId: row.clientOrderId }));
      if (found.kind === 'answered')
        return this.orders.update(row.clientOrderId, { state: found.state, filled: found.filled, venueOrderId: found.venueOrderId, nextCheckAt: null });
    } catch (err) {
      if (!(err instanceof ccxt.OrderNotFound)) throw err;
    }
    // The venue has never had it: nothing is open, nothing was traded.
    return this.orders.update(row.clientOrderId, { state: 'CANCELED', nextCheckAt: null, lastError: 'the venue had no such order when it was cancelled' });
  }
}
