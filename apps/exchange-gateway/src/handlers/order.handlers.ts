import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { OrderSubmitCmd } from '@garde/contracts';
import { MessageBus } from '@garde/platform';
import { SubmitOrderUseCase } from '../use-cases/submit-order/submit-order.use-case.js';

/** Orders from bots arrive on the bus; operators' manual orders through the HTTP API. */
@Injectable()
export class OrderHandlers implements OnApplicationBootstrap {
  constructor(
    private readonly bus: MessageBus,
    private readonly submitOrder: SubmitOrderUseCase,
  ) {}

  onApplicationBootstrap(): void {
    this.bus.serve(OrderSubmitCmd, this.bus.topology.queueGroup('exchange-gateway'), (order, env) =>
      this.submitOrder.execute(order, { correlationId: env.correlationId, causationId: env.messageId, actor: env.actor }),
    );
  }
}
