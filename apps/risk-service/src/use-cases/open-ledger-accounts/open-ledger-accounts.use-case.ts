import { Injectable } from '@nestjs/common';
import { LedgerOpenedEvt, type Actor } from '@garde/contracts';
import { JsonLogger, MessageBus, errorFields, type ContextLogger } from '@garde/platform';
import { LedgerRepository } from '../../persistence/ledger.repository.js';
import type { PortfolioLook } from '../reconcile-portfolio/reconcile-portfolio.use-case.js';

/**
 * The first reconciliation of an account opens its ledger: the venue's balances, as of the venue's
 * read time, recorded as opening entries (once: another replica opening it at the same time changes
 * nothing), and `LedgerOpenedEvt`. Only when the ledger has caught up with the fills, so that
 * the fills it books next are those after the opening.
 */
@Injectable()
export class OpenLedgerAccounts {
  private readonly log: ContextLogger;

  constructor(
    private readonly ledger: LedgerRepository,
    private readonly bus: MessageBus,
    logger: JsonLogger,
  ) {
    this.log = logger.child('reconciliation');
  }

  /** Opens the accounts of the look that have no ledger yet; returns their ids. */
  async execute(look: PortfolioLook, ctx: { correlationId: string; actor: Actor }): Promise<string[]> {
    if (!look.ledgerCaughtUp) return [];
    const opened: string[] = [];
    for (const account of look.accounts) {
      if (account.status !== 'NOT_OPENED' || !account.venueReadAt) continue;
      const done = await this.ledger.open({
        accountId: account.accountId,
        exchangeId: account.exchangeId,
        asOf: account.venueReadAt,
        balances: account.venueBalances,
        actor: ctx.actor,
        reason: 'opening balance taken from the venue at the first reconciliation of the account',
        correlationId: ctx.correlationId,
        at: new Date(),
      });
      if (!done) continue;
      opened.push(account.accountId);
      this.log.info('ledger opened from the venue', { accountId: account.accountId, asOf: account.venueReadAt.toISOString() });
      const payload = {
        accountId: account.accountId,
        exchangeId: account.exchangeId,
        asOf: account.venueReadAt.toISOString(),
        balances: account.venueBalances.map((b) => ({ asset: b.asset, total: b.total.toString() })),
      };
      await this.bus.publish(LedgerOpenedEvt, payload, ctx).catch((err: unknown) => this.log.error('could not publish a ledger opening', errorFields(err)));
    }
    return opened;
  }
}
