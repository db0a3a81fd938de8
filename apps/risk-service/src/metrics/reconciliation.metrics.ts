import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Registry } from 'prom-client';
import { DISCREPANCY_KINDS } from '@garde/domain';
import { JsonLogger, errorFields } from '@garde/platform';
import { DiscrepancyRepository } from '../persistence/discrepancy.repository.js';

/** Reconciliation and ledger metrics (RB-003, RB-012); labels are closed sets, never an account or an asset. */
@Injectable()
export class ReconciliationMetrics {
  /** Discrepancies recorded, by kind. */
  readonly discrepanciesFound: Counter<'kind'>;
  /** Reconciliation runs of this replica, by trigger and outcome. */
  readonly runs: Counter<'trigger' | 'outcome'>;
  /** When this replica last finished a periodic run that read every account (Unix seconds). */
  readonly lastSuccess: Gauge;
  /** Fills handled by the ledger consumer, by outcome. */
  readonly ledgerFills: Counter<'outcome'>;
  /** Manual reconciliations' adjusting entries written. */
  readonly adjustments: Counter;
  private pendingProbe: (() => Promise<number>) | undefined;

  constructor(registry: Registry, repository: DiscrepancyRepository, logger: JsonLogger) {
    const log = logger.child('metrics');
    this.discrepanciesFound = new Counter({
      name: 'garde_risk_discrepancies_found_total',
      help: 'Reconciliation discrepancies recorded (confirmed differences over tolerance), by kind',
      labelNames: ['kind'],
      registers: [registry],
    });
    this.runs = new Counter({
      name: 'garde_risk_reconciliation_runs_total',
      help: 'Reconciliation runs, by trigger (periodic, confirm, on-demand, apply) and outcome (matched, differences, incomplete, failed)',
      labelNames: ['trigger', 'outcome'],
      registers: [registry],
    });
    this.lastSuccess = new Gauge({
      name: 'garde_risk_reconciliation_last_success_timestamp_seconds',
      help: 'When this replica last finished a periodic reconciliation that read every account',
      registers: [registry],
    });
    this.ledgerFills = new Counter({
      name: 'garde_risk_ledger_fills_total',
      help: 'Fills handled by the ledger consumer: applied, duplicate (already applied: a redelivery), invalid',
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.adjustments = new Counter({
      name: 'garde_risk_ledger_adjustments_total',
      help: 'Adjusting ledger entries written by manual reconciliations',
      registers: [registry],
    });
    // Read from PostgreSQL at scrape time: right in every replica, whichever one recorded or cleared them.
    new Gauge({
      name: 'garde_risk_discrepancies_open',
      help: 'Reconciliation discrepancies not cleared yet, by kind',
      labelNames: ['kind'],
      registers: [registry],
      async collect() {
        try {
          const open = await repository.openPerKind();
          for (const kind of DISCREPANCY_KINDS) this.set({ kind }, open.get(kind) ?? 0);
        } catch (err) {
          log.warn('open discrepancies count failed', errorFields(err));
        }
      },
    });
    const pending = () => this.pendingProbe;
    new Gauge({
      name: 'garde_risk_ledger_consumer_pending',
      help: 'Fills in the AUDIT stream the ledger has not recorded yet (delivered or not)',
      registers: [registry],
      async collect() {
        const probe = pending();
        if (!probe) return;
        try {
          this.set(await probe());
        } catch (err) {
          log.warn('ledger consumer info failed', errorFields(err));
        }
      },
    });
  }

  /** Set by the ledger feed once its consumer exists. */
  setPendingProbe(probe: (() => Promise<number>) | undefined): void {
    this.pendingProbe = probe;
  }
}
