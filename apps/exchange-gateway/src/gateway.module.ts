import { Module } from '@nestjs/common';
import { SERVICE_CONFIG } from '@garde/platform';
import type { GatewayConfig } from './config/gateway.config.js';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { ApiAuthGuard } from './auth/api-auth.guard.js';
import { TokenAuthenticator } from './auth/token-authenticator.js';
import { OrderHandlers } from './handlers/order.handlers.js';
import { OrderTracker } from './handlers/order-tracker.js';
import { SettleUnknownOrders } from './use-cases/settle-unknown-orders/settle-unknown-orders.use-case.js';
import { OrderEvents } from './use-cases/submit-order/order-events.js';
import { ResolveOrder } from './use-cases/resolve-order/resolve-order.use-case.js';
import { OrderGates } from './use-cases/submit-order/order-gates.js';
import { ReconcileVenueOrders } from './use-cases/reconcile-venue-orders/reconcile-venue-orders.use-case.js';
import { VenueHealthMonitor } from './state/venue-health.js';
import { RateLimits } from './state/rate-limits.js';
import { MarketData } from './market-data/market-data.js';
import { MarketDataHandlers } from './handlers/market-data.handlers.js';
import { MarketDataController } from './http/market-data.controller.js';
import { RiskLimitsController } from './http/risk-limits.controller.js';
import { PortfolioController } from './http/portfolio.controller.js';
import { RiskExposureController } from './http/risk-exposure.controller.js';
import { ReadVenueAccounts } from './use-cases/read-venue-accounts/read-venue-accounts.use-case.js';
import { OrderFills } from './use-cases/track-open-orders/order-fills.js';
import { TrackOpenOrders } from './use-cases/track-open-orders/track-open-orders.use-case.js';
import { CancelOrderUseCase } from './use-cases/cancel-order/cancel-order.use-case.js';
import { ListBotOrders } from './use-cases/list-bot-orders/list-bot-orders.use-case.js';
import { ListLiveOrders } from './use-cases/list-live-orders/list-live-orders.use-case.js';
import { CancelOrdersInScope } from './use-cases/cancel-orders-in-scope/cancel-orders-in-scope.use-case.js';
import { CancelBotOrders } from './use-cases/cancel-bot-orders/cancel-bot-orders.use-case.js';
import { ReadMarketInfo } from './use-cases/read-market-info/read-market-info.use-case.js';
import { ApiErrorFilter } from './http/api-error.filter.js';
import { AuditController, BotsController, KillSwitchController, MetaController, OrdersController, StuckOrdersController } from './http/api.controllers.js';
import { ServiceClient } from './http/service-client.js';
import { ExchangeAccountsController, VenuesController } from './http/exchange-accounts.controller.js';
import { ExchangeAccountRepository } from './persistence/exchange-account.repository.js';
import { AddExchangeAccountUseCase } from './use-cases/add-exchange-account/add-exchange-account.use-case.js';
import { RemoveExchangeAccountUseCase } from './use-cases/remove-exchange-account/remove-exchange-account.use-case.js';
import { CredentialCipher } from './venues/credential-cipher.js';
import { VenueClients } from './venues/venue-clients.js';
import { VenueOrderRepository } from './persistence/venue-order.repository.js';
import { GatewayMetrics } from './metrics/gateway.metrics.js';
import { KillSwitchGate } from './state/kill-switch-gate.js';
import { SubmitOrderUseCase } from './use-cases/submit-order/submit-order.use-case.js';

@Module({
  controllers: [
    KillSwitchController,
    BotsController,
    OrdersController,
    StuckOrdersController,
    AuditController,
    ExchangeAccountsController,
    VenuesController,
    MarketDataController,
    RiskLimitsController,
    PortfolioController,
    RiskExposureController,
    MetaController,
  ],
  providers: [
    GatewayMetrics,
    KillSwitchGate,
    SubmitOrderUseCase,
    OrderHandlers,
    SettleUnknownOrders,
    OrderEvents,
    ResolveOrder,
    OrderGates,
    ReconcileVenueOrders,
    VenueHealthMonitor,
    RateLimits,
    MarketData,
    MarketDataHandlers,
    ReadMarketInfo,
    ReadVenueAccounts,
    OrderFills,
    TrackOpenOrders,
    CancelOrderUseCase,
    ListBotOrders,
    ListLiveOrders,
    CancelOrdersInScope,
    CancelBotOrders,
    OrderTracker,
    ServiceClient,
    TokenAuthenticator,
    ExchangeAccountRepository,
    VenueOrderRepository,
    VenueClients,
    AddExchangeAccountUseCase,
    RemoveExchangeAccountUseCase,
    { provide: CredentialCipher, inject: [SERVICE_CONFIG], useFactory: (config: GatewayConfig) => new CredentialCipher(config.GARDE_MASTER_KEY) },
    { provide: APP_GUARD, useClass: ApiAuthGuard },
    { provide: APP_FILTER, useClass: ApiErrorFilter },
  ],
})
export class GatewayModule {}
