import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { confirmSightings, sightingKey, sightingsOf, type Sighting } from '@garde/domain';
import { JsonLogger, SERVICE_CONFIG, type ContextLogger } from '@garde/platform';
import type { RiskConfig } from '../../config/risk.config.js';
import { ReconciliationMetrics } from '../../metrics/reconciliation.metrics.js';
import { OpenLedgerAccounts } from '../open-ledger-accounts/open-ledger-accounts.use-case.js';
import { RECONCILIATION_ACTOR, RaiseDiscrepancies } from '../raise-discrepancies/raise-discrepancies.use-case.js';
import { ReconcilePortfolio, type PortfolioLook } from '../reconcile-portfolio/reconcile-portfolio.use-case.js';

/**
 * The periodic reconciliation (RB-003). One look at every account (opening the ledger of those that
 * have none); a difference over tolerance is looked at again RECONCILE_CONFIRM_DELAY_MS later and raised
 * only if it is still there, the same (a fill in flight — executed at the venue, not yet booked — has
 * been booked by then, or changed). Balances are compared only when the ledger has caught up with the
 * fills already published. So a drift is raised within one interval plus the confirmation delay.
 */
@Injectable()
export class RunReconciliation implements OnModuleDestroy {
  private readonly stopping = new AbortController();
  private readonly confirmDelayMs: number;
  private readonly log: ContextLogger;

  constructor(
    private readonly reconcile: ReconcilePortfolio,
    private readonly openLedgers: OpenLedgerAccounts,
    private readonly raise: RaiseDiscrepancies,
    private readonly metrics: ReconciliationMetrics,
    @Inject(SERVICE_CONFIG) config: RiskConfig,
    logger: JsonLogger,
  ) {
    this.log = logger.child('reconciliation');
    // A confirmation must end well before the next run.
    this.confirmDelayMs =
      config.RECONCILE_INTERVAL_MS > 0 ? Math.min(config.RECONCILE_CONFIRM_DELAY_MS, config.RECONCILE_INTERVAL_MS / 2) : config.RECONCILE_CONFIRM_DELAY_MS;
  }

  onModuleDestroy(): void {
    this.stopping.abort();
  }

  async execute(): Promise<void> {
    const ctx = { correlationId: randomUUID(), actor: RECONCILIATION_ACTOR };
    let first: PortfolioLook;
    try {
      first = await this.reconcile.look({}, ctx);
    } catch (err) {
      this.metrics.runs.inc({ trigger: 'periodic', outcome: 'failed' });
      throw err;
    }
    await this.openLedgers.execute(first, ctx);
    const all = first.accounts.flatMap((a) => sightingsOf(a.accountId, first.ledgerCaughtUp ? a.balances : [], a.orders));
    const seen = all.filter((s) => !first.openKeys.has(sightingKey(s)));
    const incomplete = !first.ledgerCaughtUp || first.accounts.some((a) => a.status === 'VENUE_ERROR');
    for (const a of first.accounts.filter((x) => x.status === 'VENUE_ERROR'))
      this.log.warn('venue not read for reconciliation', { accountId: a.accountId, error: a.error });
    if (!first.ledgerCaughtUp) this.log.warn('the ledger is behind the fills: balances not compared this time');
    this.metrics.runs.inc({ trigger: 'periodic', outcome: incomplete ? 'incomplete' : all.length ? 'differences' : 'matched' });
    if (!incomplete) this.metrics.lastSuccess.setToCurrentTime();
    if (seen.length === 0) return;

    if (!(await this.pause(this.confirmDelayMs))) return;
    const accountIds = [...new Set(seen.map((s) => s.accountId))];
    const again = await this.reconcile.look({ accountIds }, ctx);
    let raised = 0;
    for (const account of again.accounts) {
      const now: Sighting[] = sightingsOf(account.accountId, again.ledgerCaughtUp ? account.balances : [], account.orders);
      const confirmed = confirmSightings(
        seen.filter((s) => s.accountId === account.accountId),
        now,
      );
      if (confirmed.length) raised += (await this.raise.execute(account, confirmed, first.at, ctx.correlationId)).length;
    }
    this.metrics.runs.inc({ trigger: 'confirm', outcome: raised ? 'differences' : 'matched' });
  }

  /** Waits, unless the service stops meanwhile (false then). */
  private pause(ms: number): Promise<boolean> {
    const signal = this.stopping.signal;
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        resolve(false);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
