import { Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { ApiAuthGuard } from './auth/api-auth.guard.js';
import { TokenAuthenticator } from './auth/token-authenticator.js';
import { OrderHandlers } from './handlers/order.handlers.js';
import { ApiErrorFilter } from './http/api-error.filter.js';
import { AuditController, BotsController, KillSwitchController, MetaController, OrdersController } from './http/api.controllers.js';
import { ServiceClient } from './http/service-client.js';
import { GatewayMetrics } from './metrics/gateway.metrics.js';
import { KillSwitchGate } from './state/kill-switch-gate.js';
import { SubmitOrderUseCase } from './use-cases/submit-order/submit-order.use-case.js';

@Module({
  controllers: [KillSwitchController, BotsController, OrdersController, AuditController, MetaController],
  providers: [
    GatewayMetrics,
    KillSwitchGate,
    SubmitOrderUseCase,
    OrderHandlers,
    ServiceClient,
    TokenAuthenticator,
    { provide: APP_GUARD, useClass: ApiAuthGuard },
    { provide: APP_FILTER, useClass: ApiErrorFilter },
  ],
})
export class GatewayModule {}
