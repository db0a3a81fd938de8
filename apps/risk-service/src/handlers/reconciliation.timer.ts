import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { JsonLogger, SERVICE_CONFIG, errorFields, runEvery, type PeriodicTask } from '@garde/platform';
import type { RiskConfig } from '../config/risk.config.js';
import { DiscrepancyRepository } from '../persistence/discrepancy.repository.js';
import { RunReconciliation } from '../use-cases/run-reconciliation/run-reconciliation.use-case.js';

/**
 * Runs the periodic reconciliation every RECONCILE_INTERVAL_MS (0: never). Every replica ticks; the
 * one that claims the run in PostgreSQL does it, the others skip until the next interval. Should two
 * ever run together, the records stay right: a discrepancy is recorded once, an opening taken once.
 */
@Injectable()
export class ReconciliationTimer implements OnApplicationBootstrap, OnModuleDestroy {
  private task: PeriodicTask | undefined;

  constructor(
    private readonly run: RunReconciliation,
    private readonly schedule: DiscrepancyRepository,
    @Inject(SERVICE_CONFIG) private readonly config: RiskConfig,
    private readonly logger: JsonLogger,
  ) {}

  onApplicationBootstrap(): void {
    const interval = this.config.RECONCILE_INTERVAL_MS;
    if (interval === 0) return;
    const log = this.logger.child('reconciliation');
    this.task = runEvery(
      interval,
      async () => {
        // Claimed unless another replica started one within most of an interval: a replica that died is replaced within one interval.
        if (await this.schedule.claimPeriodicRun(this.config.INSTANCE_ID, interval * 0.9)) await this.run.execute();
      },
      (err) => log.error('reconciliation failed; the next run will try again', errorFields(err)),
    );
  }

  async onModuleDestroy(): Promise<void> {
    await this.task?.stop();
  }
}
