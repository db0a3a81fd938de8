import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { JsonLogger, SERVICE_CONFIG, errorFields, runEvery, type PeriodicTask } from '@garde/platform';
import type { AuditConfig } from '../config/audit.config.js';
import { AuditMetrics } from '../metrics/audit.metrics.js';
import { AuditCheckpointRepository } from '../persistence/audit-checkpoint.repository.js';
import { CreateCheckpoint } from '../use-cases/create-checkpoint/create-checkpoint.use-case.js';

/** Signs a checkpoint of the chain head every AUDIT_CHECKPOINT_INTERVAL_MS (when it has moved). */
@Injectable()
export class CheckpointTimer implements OnApplicationBootstrap, OnModuleDestroy {
  private task: PeriodicTask | undefined;

  constructor(
    private readonly createCheckpoint: CreateCheckpoint,
    private readonly checkpoints: AuditCheckpointRepository,
    private readonly metrics: AuditMetrics,
    @Inject(SERVICE_CONFIG) private readonly config: AuditConfig,
    private readonly logger: JsonLogger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const latest = await this.checkpoints.latest();
    if (latest) this.metrics.observeCheckpoint(latest);
    const log = this.logger.child('audit-checkpoint');
    this.task = runEvery(
      this.config.AUDIT_CHECKPOINT_INTERVAL_MS,
      async () => {
        await this.createCheckpoint.execute();
      },
      (err) => log.error('could not sign a checkpoint; the next run will try again', errorFields(err)),
    );
  }

  async onModuleDestroy(): Promise<void> {
    await this.task?.stop();
  }
}
