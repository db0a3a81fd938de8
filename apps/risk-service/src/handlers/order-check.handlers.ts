import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { OrderCheckQry } from '@garde/contracts';
import { MessageBus } from '@garde/platform';
import { ExposureFeed } from '../state/exposure-feed.js';
import { KillSwitchView } from '../state/kill-switch-view.js';
import { MarketPrices } from '../state/market-prices.js';
import { CheckOrder } from '../use-cases/check-order/check-order.use-case.js';

/**
 * The pre-trade check on the bus. Until this replica has read the kill-switch state, the limits and the
 * order events up to now, every order is denied (fail closed).
 */
@Injectable()
export class OrderCheckHandlers implements OnApplicationBootstrap {
  constructor(
    private readonly bus: MessageBus,
    private readonly view: KillSwitchView,
    private readonly prices: MarketPrices,
    private readonly feed: ExposureFeed,
    private readonly checkOrder: CheckOrder,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.prices.start();
    await this.view.start();
    await this.feed.start();
    this.bus.serve(OrderCheckQry, this.bus.topology.queueGroup('risk-service'), (order, env) => this.checkOrder.execute(order, env));
  }
}
