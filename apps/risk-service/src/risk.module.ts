import { Module } from '@nestjs/common';
import { KillSwitchHandlers } from './handlers/kill-switch.handlers.js';
import { OrderCheckHandlers } from './handlers/order-check.handlers.js';
import { RiskLimitsHandlers } from './handlers/risk-limits.handlers.js';
import { RiskMetrics } from './metrics/risk.metrics.js';
import { KillSwitchRepository } from './persistence/kill-switch.repository.js';
import { RiskLimitsRepository } from './persistence/risk-limits.repository.js';
import { ExposureFeed } from './state/exposure-feed.js';
import { ExposureMetrics } from './state/exposure-metrics.js';
import { KillSwitchBucket } from './state/kill-switch.bucket.js';
import { KillSwitchView } from './state/kill-switch-view.js';
import { MarketPrices } from './state/market-prices.js';
import { RiskLimitsBucket } from './state/risk-limits.bucket.js';
import { RiskLimitsView } from './state/risk-limits-view.js';
import { CheckOrder } from './use-cases/check-order/check-order.use-case.js';
import { DecisionEvents } from './use-cases/check-order/decision-events.js';
import { ChangeKillSwitch } from './use-cases/change-kill-switch/change-kill-switch.use-case.js';
import { GetKillSwitchStatus } from './use-cases/get-kill-switch-status/get-kill-switch-status.use-case.js';
import { SetRiskLimitsUseCase } from './use-cases/set-risk-limits/set-risk-limits.use-case.js';
import { ShowRiskLimits } from './use-cases/show-risk-limits/show-risk-limits.use-case.js';
import { SyncKillSwitchBucket } from './use-cases/sync-kill-switch-bucket/sync-kill-switch-bucket.use-case.js';
import { SyncRiskLimitsBucket } from './use-cases/sync-risk-limits-bucket/sync-risk-limits-bucket.use-case.js';

@Module({
  providers: [
    RiskMetrics,
    KillSwitchRepository,
    KillSwitchBucket,
    ChangeKillSwitch,
    GetKillSwitchStatus,
    SyncKillSwitchBucket,
    KillSwitchView,
    RiskLimitsRepository,
    RiskLimitsBucket,
    RiskLimitsView,
    SetRiskLimitsUseCase,
    ShowRiskLimits,
    SyncRiskLimitsBucket,
    MarketPrices,
    ExposureFeed,
    ExposureMetrics,
    DecisionEvents,
    CheckOrder,
    KillSwitchHandlers,
    RiskLimitsHandlers,
    OrderCheckHandlers,
  ],
})
export class RiskModule {}
