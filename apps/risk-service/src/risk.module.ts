import { Module } from '@nestjs/common';
import { KillSwitchHandlers } from './handlers/kill-switch.handlers.js';
import { OrderCheckHandlers } from './handlers/order-check.handlers.js';
import { RiskMetrics } from './metrics/risk.metrics.js';
import { KillSwitchRepository } from './persistence/kill-switch.repository.js';
import { KillSwitchBucket } from './state/kill-switch.bucket.js';
import { KillSwitchView } from './state/kill-switch-view.js';
import { CheckOrder } from './use-cases/check-order/check-order.use-case.js';
import { ChangeKillSwitch } from './use-cases/change-kill-switch/change-kill-switch.use-case.js';
import { GetKillSwitchStatus } from './use-cases/get-kill-switch-status/get-kill-switch-status.use-case.js';
import { SyncKillSwitchBucket } from './use-cases/sync-kill-switch-bucket/sync-kill-switch-bucket.use-case.js';

@Module({
  providers: [
    RiskMetrics,
    KillSwitchRepository,
    KillSwitchBucket,
    ChangeKillSwitch,
    GetKillSwitchStatus,
    SyncKillSwitchBucket,
    KillSwitchView,
    CheckOrder,
    KillSwitchHandlers,
    OrderCheckHandlers,
  ],
})
export class RiskModule {}
