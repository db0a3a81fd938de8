import { Inject, Injectable } from '@nestjs/common';
import { LedgerAdjustedEvt, type AccountAdjustment, type Actor, type ApplyReconciliation as ApplyInput, type ReconciliationApplied } from '@garde/contracts';
import { adjustmentsToMatch, compareBalances, type Decimal } from '@garde/domain';
import { JsonLogger, MessageBus, SERVICE_CONFIG, errorFields, type ContextLogger, type MessageContext } from '@garde/platform';
import type { RiskConfig } from '../../config/risk.config.js';
import { RiskException } from '../../errors/risk.exception.js';
import { ReconciliationMetrics } from '../../metrics/reconciliation.metrics.js';
import { LedgerRepository } from '../../persistence/ledger.repository.js';
import { ReconcilePortfolio } from '../reconcile-portfolio/reconcile-portfolio.use-case.js';

/**
 * Manual reconciliation (RB-012), risk or admin role: for each account (of one exchange, or all), the
 * adjusting entries that make the ledger equal the venue — computed under the account's lock from the
 * balances the ledger has then — with the actor and the reason; an account never opened is opened from
 * the venue instead. Its open discrepancies are cleared, and `LedgerAdjustedEvt` tells the audit
 * trail who did what and why. Refused (UNAVAILABLE, nothing written) while fills already published are
 * not booked yet: an adjustment for a fill in flight would count it twice. Bots halted for the cleared
 * discrepancies stay HALTED: an operator resumes them.
 */
@Injectable()
export class ApplyReconciliation {
  private readonly log: ContextLogger;

  constructor(
    private readonly reconcile: ReconcilePortfolio,
    private readonly ledger: LedgerRepository,
    private readonly bus: MessageBus,
    private readonly metrics: ReconciliationMetrics,
    @Inject(SERVICE_CONFIG) private readonly config: RiskConfig,
    logger: JsonLogger,
  ) {
    this.log = logger.child('reconciliation');
  }

  async execute(input: ApplyInput, ctx: MessageContext & { correlationId: string }): Promise<ReconciliationApplied> {
    const actor = ctx.actor;
    if (!actor) throw new RiskException('UNAUTHENTICATED', 'a manual reconciliation needs an identified actor');
    authorize(actor);
    if (!(await this.reconcile.ledgerCaughtUp(this.config.RECONCILE_CATCH_UP_TIMEOUT_MS))) {
      this.metrics.runs.inc({ trigger: 'apply', outcome: 'failed' });
      throw new RiskException('UNAVAILABLE', 'the ledger has not booked every fill published yet; nothing was changed: retry in a moment');
    }
    const look = await this.reconcile.look({ exchangeId: input.exchangeId }, ctx);
    if (!look.ledgerCaughtUp) {
      this.metrics.runs.inc({ trigger: 'apply', outcome: 'failed' });
      throw new RiskException('UNAVAILABLE', 'fills arrived while the venues were read; nothing was changed: retry in a moment');
    }
    const at = new Date();
    const accounts: AccountAdjustment[] = [];
    for (const account of look.accounts) {
      const orders = account.orders.map((o) => ({ ...o }));
      if (account.status === 'VENUE_ERROR' || !account.venueReadAt) {
        accounts.push({
          accountId: account.accountId,
          exchangeId: account.exchangeId,
          error: account.error ?? 'venue not read',
          opened: false,
          adjustments: [],
          cleared: [],
          orders,
          haltedBots: [],
        });
        continue;
      }
      const venue = new Map<string, Decimal>(account.venueBalances.map((b) => [b.asset, b.total]));
      const result = await this.ledger.reconcileAccount({
        opening: {
          accountId: account.accountId,
          exchangeId: account.exchangeId,
          asOf: account.venueReadAt,
          balances: account.venueBalances,
          actor,
          reason: input.reason,
          correlationId: ctx.correlationId,
          at,
        },
        adjust: (ledger) => adjustmentsToMatch(compareBalances(venue, ledger, this.reconcile.toleranceSettings)),
      });
      const adjustments = result.adjustments.map((a) => ({
        asset: a.asset,
        ledgerBefore: a.ledgerBefore.toString(),
        venue: (venue.get(a.asset) ?? a.ledgerBefore.plus(a.amount)).toString(),
        amount: a.amount.toString(),
      }));
      const haltedBots = [...new Set(result.cleared.flatMap((c) => c.haltedBots))].sort();
      const line: AccountAdjustment = {
        accountId: account.accountId,
        exchangeId: account.exchangeId,
        opened: result.opened,
        adjustments,
        cleared: result.cleared.map((c) => c.id),
        orders,
        haltedBots,
      };
      accounts.push(line);
      this.metrics.adjustments.inc(adjustments.length);
      if (!result.opened && adjustments.length === 0 && line.cleared.length === 0) continue;
      this.log.warn('ledger reconciled by hand', { accountId: account.accountId, actor: actor.id, reason: input.reason, adjustments, cleared: line.cleared });
      const event = {
        accountId: line.accountId,
        exchangeId: line.exchangeId,
        adjustedBy: actor,
        reason: input.reason,
        opened: line.opened,
        adjustments,
        cleared: line.cleared,
        haltedBots,
      };
      await this.bus.publish(LedgerAdjustedEvt, event, ctx).catch((err: unknown) => {
        // Recorded in PostgreSQL with actor and reason all the same; the operator is told to check the trail.
        this.log.error('could not publish a ledger adjustment to the audit trail', { accountId: line.accountId, ...errorFields(err) });
        throw new RiskException(
          'UNAVAILABLE',
          `the adjustment of ${line.accountId} is recorded (with actor and reason) but its event could not be published to the audit trail: ${String(err)}`,
        );
      });
    }
    this.metrics.runs.inc({ trigger: 'apply', outcome: accounts.some((a) => a.error) ? 'incomplete' : 'matched' });
    return { at: at.toISOString(), actor, reason: input.reason, accounts };
  }
}

/** Only the risk or admin role moves the books, never automatically. */
function authorize(actor: Actor): void {
  if (actor.kind === 'operator' && (actor.role === 'risk' || actor.role === 'admin')) return;
  throw new RiskException(
    'FORBIDDEN',
    actor.kind === 'operator'
      ? `role ${actor.role ?? 'none'} may not reconcile the ledger (needs risk or admin)`
      : 'the ledger is adjusted only by a person with the risk or admin role, never automatically',
  );
}
