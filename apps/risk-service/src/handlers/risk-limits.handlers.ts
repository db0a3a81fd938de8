import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { RiskLimitsSetCmd, RiskLimitsShowQry } from '@garde/contracts';
import { MessageBus } from '@garde/platform';
import { RiskLimitsView } from '../state/risk-limits-view.js';
import { SetRiskLimitsUseCase } from '../use-cases/set-risk-limits/set-risk-limits.use-case.js';
import { ShowRiskLimits } from '../use-cases/show-risk-limits/show-risk-limits.use-case.js';
import { SyncRiskLimitsBucket } from '../use-cases/sync-risk-limits-bucket/sync-risk-limits-bucket.use-case.js';

/** The risk limits on the bus: PostgreSQL published to the KV bucket first, then this replica's view of it, then the commands. */
@Injectable()
export class RiskLimitsHandlers implements OnApplicationBootstrap {
  constructor(
    private readonly bus: MessageBus,
    private readonly sync: SyncRiskLimitsBucket,
    private readonly view: RiskLimitsView,
    private readonly set: SetRiskLimitsUseCase,
    private readonly show: ShowRiskLimits,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.sync.execute();
    await this.view.start();
    const queue = this.bus.topology.queueGroup('risk-service');
    this.bus.serve(RiskLimitsSetCmd, queue, (p, env) => this.set.execute(p, env));
    this.bus.serve(RiskLimitsShowQry, queue, (q) => this.show.execute(q));
  }
}
