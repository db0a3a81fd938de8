import { Injectable } from '@nestjs/common';
import { ExchangeAccountRemovedEvt, type Actor, type ExchangeAccount } from '@garde/contracts';
import { MessageBus } from '@garde/platform';
import { GatewayException } from '../../errors/gateway.exception.js';
import { ExchangeAccountRepository, toExchangeAccount } from '../../persistence/exchange-account.repository.js';
import { VenueClients } from '../../venues/venue-clients.js';

/** Removes an account and its sealed credentials, with the actor and the reason in the audit trail. */
@Injectable()
export class RemoveExchangeAccountUseCase {
  constructor(
    private readonly accounts: ExchangeAccountRepository,
    private readonly bus: MessageBus,
    private readonly clients: VenueClients,
  ) {}

  async execute(input: { id: string; reason: string }, actor: Actor): Promise<ExchangeAccount> {
    const row = await this.accounts.remove(input.id);
    if (!row) throw new GatewayException('NOT_FOUND', `no exchange account ${input.id}`);
    this.clients.forget(input.id);
    const account = toExchangeAccount(row);
    await this.bus.publish(ExchangeAccountRemovedEvt, { account, reason: input.reason }, { actor });
    return account;
  }
}
