import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { OrderCheckQry } from '@garde/contracts';
import { MessageBus } from '@garde/platform';
import { KillSwitchView } from '../state/kill-switch-view.js';
import { CheckOrder } from '../use-cases/check-order/check-order.use-case.js';

/** The pre-trade check on the bus. Until the view has read the bucket, every order is denied (fail closed). */
@Injectable()
export class OrderCheckHandlers implements OnApplicationBootstrap {
  constructor(
    private readonly bus: MessageBus,
    private readonly view: KillSwitchView,
    private readonly checkOrder: CheckOrder,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.view.start();
    this.bus.serve(OrderCheckQry, this.bus.topology.queueGroup('risk-service'), (order) => Promise.resolve(this.checkOrder.execute(order)));
  }
}
