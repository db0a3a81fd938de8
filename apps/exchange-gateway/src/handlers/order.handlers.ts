import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import {
  BalancesQry,
  BotLiveOrderCountsQry,
  BotOrdersQry,
  LiveOrdersQry,
  OpenOrdersQry,
  OrderCancelCmd,
  OrderSubmitCmd,
  OrdersCancelForBotCmd,
} from '@garde/contracts';
import { MessageBus } from '@garde/platform';
import { ReadVenueAccounts } from '../use-cases/read-venue-accounts/read-venue-accounts.use-case.js';
import { SubmitOrderUseCase } from '../use-cases/submit-order/submit-order.use-case.js';
import { CancelOrderUseCase } from '../use-cases/cancel-order/cancel-order.use-case.js';
import { ListBotOrders } from '../use-cases/list-bot-orders/list-bot-orders.use-case.js';
import { CancelBotOrders } from '../use-cases/cancel-bot-orders/cancel-bot-orders.use-case.js';
import { ListLiveOrders } from '../use-cases/list-live-orders/list-live-orders.use-case.js';

/**
 * The gateway on the bus: orders and cancels from bots, a stopped bot's cancel-all, a bot's orders, bots' live order counts, and the venues' balances and
 * open orders and the orders it holds as not final per account, for reconciliation.
 */
@Injectable()
export class OrderHandlers implements OnApplicationBootstrap {
  constructor(
    private readonly bus: MessageBus,
    private readonly submitOrder: SubmitOrderUseCase,
    private readonly venueAccounts: ReadVenueAccounts,
    private readonly cancelOrder: CancelOrderUseCase,
    private readonly botOrders: ListBotOrders,
    private readonly cancelBotOrders: CancelBotOrders,
    private readonly liveOrders: ListLiveOrders,
  ) {}

  onApplicationBootstrap(): void {
    const queue = this.bus.topology.queueGroup('exchange-gateway');
    this.bus.serve(OrderSubmitCmd, queue, (order, env) =>
      this.submitOrder.execute(order, { correlationId: env.correlationId, causationId: env.messageId, actor: env.actor }, Date.parse(env.occurredAt)),
    );
    this.bus.serve(OrderCancelCmd, queue, (cancel, env) => this.cancelOrder.execute(cancel, { correlationId: env.correlationId, actor: env.actor }));
    // The requester's actor (the operator who stopped the bot) and story go on every cancel.
    this.bus.serve(OrdersCancelForBotCmd, queue, (input, env) =>
      this.cancelBotOrders.execute(input, { correlationId: env.correlationId, causationId: env.messageId, ...(env.actor ? { actor: env.actor } : {}) }),
    );
    this.bus.serve(BotOrdersQry, queue, (q) => this.botOrders.execute(q.botId, q.since === undefined ? undefined : new Date(q.since)));
    this.bus.serve(BotLiveOrderCountsQry, queue, async (q) => ({ counts: await this.botOrders.liveCounts(q.botIds) }));
    this.bus.serve(BalancesQry, queue, (q) => this.venueAccounts.balances(q.accountId));
    this.bus.serve(OpenOrdersQry, queue, (q) => this.venueAccounts.openOrders(q.accountId));
    this.bus.serve(LiveOrdersQry, queue, (q) => this.liveOrders.execute(q.accountId));
  }
}
