import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { DiscrepanciesQry, ReconcileApplyCmd, ReconcileQry } from '@garde/contracts';
import { MessageBus } from '@garde/platform';
import { ReconciliationMetrics } from '../metrics/reconciliation.metrics.js';
import { LedgerFeed } from '../state/ledger-feed.js';
import { ApplyReconciliation } from '../use-cases/apply-reconciliation/apply-reconciliation.use-case.js';
import { ListDiscrepancies } from '../use-cases/list-discrepancies/list-discrepancies.use-case.js';
import { ReconcilePortfolio } from '../use-cases/reconcile-portfolio/reconcile-portfolio.use-case.js';

/** Reconciliation on the bus (RB-003, RB-012): the ledger's fill consumer first, then the queries and the manual reconciliation. */
@Injectable()
export class ReconciliationHandlers implements OnApplicationBootstrap {
  constructor(
    private readonly bus: MessageBus,
    private readonly feed: LedgerFeed,
    private readonly list: ListDiscrepancies,
    private readonly reconcile: ReconcilePortfolio,
    private readonly apply: ApplyReconciliation,
    private readonly metrics: ReconciliationMetrics,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.feed.start();
    const queue = this.bus.topology.queueGroup('risk-service');
    this.bus.serve(DiscrepanciesQry, queue, (q) => this.list.execute(q));
    this.bus.serve(ReconcileQry, queue, async (q, env) => {
      const report = await this.reconcile.execute(q, {
        correlationId: env.correlationId,
        causationId: env.messageId,
        ...(env.actor ? { actor: env.actor } : {}),
      });
      this.metrics.runs.inc({ trigger: 'on-demand', outcome: report.accounts.some((a) => a.status !== 'MATCHED') ? 'differences' : 'matched' });
      return report;
    });
    this.bus.serve(ReconcileApplyCmd, queue, (p, env) =>
      this.apply.execute(p, { correlationId: env.correlationId, causationId: env.messageId, ...(env.actor ? { actor: env.actor } : {}) }),
    );
  }
}
