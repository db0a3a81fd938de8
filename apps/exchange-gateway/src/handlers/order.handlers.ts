import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { BalancesQry, OpenOrdersQry, OrderSubmitCmd } from '@garde/contracts';
import { MessageBus } from '@garde/platform';
import { ReadVenueAccounts } from '../use-cases/read-venue-accounts/read-venue-accounts.use-case.js';
import { SubmitOrderUseCase } from '../use-cases/submit-order/submit-order.use-case.js';

/** The gateway on the bus: orders from bots, and the venues' balances and open orders for reconciliation. */
@Injectable()
export class OrderHandlers implements OnApplicationBootstrap {
  constructor(
    private readonly bus: MessageBus,
    private readonly submitOrder: SubmitOrderUseCase,
    private readonly venueAccounts: ReadVenueAccounts,
  ) {}

  onApplicationBootstrap(): void {
    const queue = this.bus.topology.queueGroup('exchange-gateway');
    this.bus.serve(OrderSubmitCmd, queue, (order, env) =>
      this.submitOrder.execute(order, { correlationId: env.correlationId, causationId: env.messageId, actor: env.actor }, Date.parse(env.occurredAt)),
    );
    this.bus.serve(BalancesQry, queue, (q) => this.venueAccounts.balances(q.accountId));
    this.bus.serve(OpenOrdersQry, queue, (q) => this.venueAccounts.openOrders(q.accountId));
  }
}
