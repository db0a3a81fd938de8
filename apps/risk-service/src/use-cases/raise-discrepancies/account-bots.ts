import { Injectable } from '@nestjs/common';
import { JsonLogger, type ContextLogger, type MessageContext } from '@garde/platform';
import { LedgerRepository } from '../../persistence/ledger.repository.js';
import { GatewayAccounts } from '../../venues/gateway-accounts.js';
import type { AccountLook } from '../reconcile-portfolio/reconcile-portfolio.use-case.js';

/**
 * The bots trading on an exchange account, for halting them on a discrepancy: those bot-service has on
 * the account's exchange (BotListQry, except STOPPED ones: a bot is configured per exchange, and the
 * gateway routes its orders to that exchange's account), plus the bots of the orders the gateway holds
 * open on the account and of the fills booked on it — bots that do trade on it, whatever bot-service
 * says, and the only ones known when bot-service does not answer. Halting one bot too many costs an
 * operator a resume; missing one lets it trade on books nobody can trust.
 */
@Injectable()
export class AccountBots {
  private readonly log: ContextLogger;

  constructor(
    private readonly gateway: GatewayAccounts,
    private readonly ledger: LedgerRepository,
    logger: JsonLogger,
  ) {
    this.log = logger.child('reconciliation');
  }

  async of(look: AccountLook, ctx: MessageContext): Promise<string[]> {
    const onExchange = await this.gateway.botsOn(look.exchangeId, ctx);
    if (!onExchange) this.log.warn('bot-service did not answer: halting only the bots seen trading on the account', { accountId: look.accountId });
    const stopped = new Set((onExchange ?? []).filter((b) => b.state === 'STOPPED').map((b) => b.id));
    const seen = [...look.liveOrders.map((o) => o.botId), ...(await this.ledger.botsWithFills(look.accountId))].filter((b): b is string => b !== null);
    return [...new Set([...(onExchange ?? []).map((b) => b.id), ...seen])].filter((b) => !stopped.has(b)).sort();
  }
}
