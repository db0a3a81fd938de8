import { Inject, Injectable } from '@nestjs/common';
import { Decimal, isFinal, type OrderState } from '@garde/domain';
import { JsonLogger, SERVICE_CONFIG, errorFields, type ContextLogger } from '@garde/platform';
import type { GatewayConfig } from '../../config/gateway.config.js';
import { ExchangeAccountRepository } from '../../persistence/exchange-account.repository.js';
import type { VenueOrderRow } from '../../persistence/venue-order.entity.js';
import { VenueOrderRepository } from '../../persistence/venue-order.repository.js';
import { VenueClients } from '../../venues/venue-clients.js';
import type { Exchange } from 'ccxt';
import { outcomeOfAnswer, type VenueOutcome } from '../submit-order/venue-outcome.js';
import { OrderFills } from './order-fills.js';

/**
 * Follows open orders until they are final (DESIGN §4): each is polled every ORDER_POLL_MS (an account's
 * orders together, from its list of open orders); a change of state or of filled quantity is recorded,
 * and new executions are read and published as fills, also for orders whose fills are still owed.
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
    const due = await this.orders.duePoll(now, 500, accountId);
    const byAccount = new Map<string, VenueOrderRow[]>();
    for (const order of due) byAccount.set(order.accountId, [...(byAccount.get(order.accountId) ?? []), order]);
    await Promise.all([...byAccount].map(([id, orders]) => this.pollAccount(id, orders)));
    await this.catchUpFills(now);
    return due.length;
  }

  /**
   * One account's due orders. Several at once are read from one list of the account's open orders (one
   * call instead of one per order, which the rate-limit budget could not carry); an order no longer in
   * it has ended, and is read by itself to learn how.
   */
  private async pollAccount(accountId: string, due: VenueOrderRow[]): Promise<void> {
    const later = new Date(Date.now() + this.config.ORDER_POLL_MS);
    const account = await this.accounts.get(accountId);
    const known = due.filter((o) => o.venueOrderId);
    for (const order of due.filter((o) => !o.venueOrderId || !account)) await this.orders.update(order.clientOrderId, { nextCheckAt: later });
    if (!account || known.length === 0) return;
    try {
      const client = await this.clients.forAccount(account);
      let open: Map<string, VenueOutcome> | undefined;
      if (known.length > 1) {
        const symbols = [...new Set(known.map((o) => o.symbol))];
        // Binance weighs openOrders 6 per symbol, 80 for all: one call per symbol while that is cheaper.
        const lists = symbols.length <= 12 ? await Promise.all(symbols.map((s) => client.fetchOpenOrders(s))) : [await client.fetchOpenOrders()];
        open = new Map(lists.flat().map((o) => [String(o.id), outcomeOfAnswer(o)]));
      }
      for (const order of known) {
        try {
          const seen = open?.get(order.venueOrderId!) ?? outcomeOfAnswer(await client.fetchOrder(order.venueOrderId!, order.symbol));
          await this.apply(order, seen, client, later);
        } catch (err) {
          this.log.warn('could not poll an open order; will retry', { clientOrderId: order.clientOrderId, ...errorFields(err) });
          await this.orders.update(order.clientOrderId, { nextCheckAt: later });
        }
      }
    } catch (err) {
      this.log.warn("could not read an account's open orders; will retry", { accountId, ...errorFields(err) });
      for (const order of known) await this.orders.update(order.clientOrderId, { nextCheckAt: later });
    }
  }

  private async apply(order: VenueOrderRow, seen: VenueOutcome, client: Exchange, later: Date): Promise<void> {
    if (seen.kind !== 'answered') return;
    // A PENDING_CANCEL order the venue still reports open stays PENDING_CANCEL until the cancel lands.
    const state: OrderState = order.state === 'PENDING_CANCEL' && !isFinal(seen.state) ? 'PENDING_CANCEL' : seen.state;
    const moreFilled = Decimal.of(seen.filled).gt(order.filled);
    // Only over the state read before asking the venue: a cancel (or a settlement) that landed meanwhile wins.
    const updated = await this.orders.updateIfState(order.clientOrderId, order.state, {
      state,
      filled: seen.filled,
      venueSeenAt: new Date(),
      nextCheckAt: isFinal(state) ? null : later,
    });
    if (!updated) {
      // Moved meanwhile: its new state stands, but a fill the venue reported is never dropped.
      if (moreFilled) await this.fills.record(await this.orders.update(order.clientOrderId, { filled: seen.filled }), client);
      return;
    }
    if (moreFilled) await this.fills.record(updated, client);
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
}
