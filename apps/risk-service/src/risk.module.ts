import { Module } from '@nestjs/common';
import { ExposureReportHandlers } from './handlers/exposure-report.handlers.js';
import { KillSwitchHandlers } from './handlers/kill-switch.handlers.js';
import { OrderCheckHandlers } from './handlers/order-check.handlers.js';
import { ReconciliationHandlers } from './handlers/reconciliation.handlers.js';
import { ReconciliationTimer } from './handlers/reconciliation.timer.js';
import { RiskLimitsHandlers } from './handlers/risk-limits.handlers.js';
import { ReconciliationMetrics } from './metrics/reconciliation.metrics.js';
import { RiskMetrics } from './metrics/risk.metrics.js';
import { DiscrepancyRepository } from './persistence/discrepancy.repository.js';
import { KillSwitchRepository } from './persistence/kill-switch.repository.js';
import { LedgerRepository } from './persistence/ledger.repository.js';
import { RiskLimitsRepository } from './persistence/risk-limits.repository.js';
import { ExposureFeed } from './state/exposure-feed.js';
import { ExposureMetrics } from './state/exposure-metrics.js';
import { KillSwitchView } from './state/kill-switch-view.js';
import { KillSwitchBucket } from './state/kill-switch.bucket.js';
import { LedgerFeed } from './state/ledger-feed.js';
import { LossLimitWatch } from './state/loss-limit-watch.js';
import { LossMetrics } from './state/loss-metrics.js';
import { MarketPrices } from './state/market-prices.js';
import { RiskLimitsView } from './state/risk-limits-view.js';
import { RiskLimitsBucket } from './state/risk-limits.bucket.js';
import { ApplyReconciliation } from './use-cases/apply-reconciliation/apply-reconciliation.use-case.js';
import { ChangeKillSwitch } from './use-cases/change-kill-switch/change-kill-switch.use-case.js';
import { CheckOrder } from './use-cases/check-order/check-order.use-case.js';
import { DecisionEvents } from './use-cases/check-order/decision-events.js';
import { EnforceLossLimits } from './use-cases/enforce-loss-limits/enforce-loss-limits.use-case.js';
import { GetExposureReport } from './use-cases/get-exposure-report/get-exposure-report.use-case.js';
import { GetKillSwitchStatus } from './use-cases/get-kill-switch-status/get-kill-switch-status.use-case.js';
import { ListDiscrepancies } from './use-cases/list-discrepancies/list-discrepancies.use-case.js';
import { OpenLedgerAccounts } from './use-cases/open-ledger-accounts/open-ledger-accounts.use-case.js';
import { AccountBots } from './use-cases/raise-discrepancies/account-bots.js';
import { RaiseDiscrepancies } from './use-cases/raise-discrepancies/raise-discrepancies.use-case.js';
import { ReconcilePortfolio } from './use-cases/reconcile-portfolio/reconcile-portfolio.use-case.js';
import { RecordFill } from './use-cases/record-fill/record-fill.use-case.js';
import { RunReconciliation } from './use-cases/run-reconciliation/run-reconciliation.use-case.js';
import { SetRiskLimitsUseCase } from './use-cases/set-risk-limits/set-risk-limits.use-case.js';
import { ShowRiskLimits } from './use-cases/show-risk-limits/show-risk-limits.use-case.js';
import { SyncKillSwitchBucket } from './use-cases/sync-kill-switch-bucket/sync-kill-switch-bucket.use-case.js';
import { SyncRiskLimitsBucket } from './use-cases/sync-risk-limits-bucket/sync-risk-limits-bucket.use-case.js';
import { GatewayAccounts } from './venues/gateway-accounts.js';

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
    // Positions and PnL, the automatic kill switch, the exposure report.
    LossMetrics,
    EnforceLossLimits,
    LossLimitWatch,
    GetExposureReport,
    ExposureReportHandlers,
    // The balance ledger and reconciliation (RB-003, RB-012).
    ReconciliationMetrics,
    LedgerRepository,
    DiscrepancyRepository,
    RecordFill,
    LedgerFeed,
    GatewayAccounts,
    ReconcilePortfolio,
    OpenLedgerAccounts,
    AccountBots,
    RaiseDiscrepancies,
    RunReconciliation,
    ApplyReconciliation,
    ListDiscrepancies,
    ReconciliationHandlers,
    ReconciliationTimer,
  ],
})
export class RiskModule {}
