import { Inject, Injectable } from '@nestjs/common';
import { ExchangeAccountAddedEvt, type Actor, type AddExchangeAccount, type ExchangeAccount } from '@garde/contracts';
import { MessageBus, SERVICE_CONFIG } from '@garde/platform';
import type { GatewayConfig } from '../../config/gateway.config.js';
import { GatewayException } from '../../errors/gateway.exception.js';
import { ExchangeAccountRepository, toExchangeAccount } from '../../persistence/exchange-account.repository.js';
import { createCcxtClient, describeVenueError, isCcxtExchange } from '../../venues/ccxt-client.js';
import { CredentialCipher } from '../../venues/credential-cipher.js';
import { VenueClients } from '../../venues/venue-clients.js';

/**
 * Adds an exchange account: checks the credentials with the venue (unless told not to), seals them
 * with the master key, stores the account, and records who added it. Nothing is stored when any
 * step fails.
 */
@Injectable()
export class AddExchangeAccountUseCase {
  constructor(
    private readonly accounts: ExchangeAccountRepository,
    private readonly cipher: CredentialCipher,
    private readonly bus: MessageBus,
    private readonly clients: VenueClients,
    @Inject(SERVICE_CONFIG) private readonly config: GatewayConfig,
  ) {}

  async execute(input: AddExchangeAccount, actor: Actor): Promise<ExchangeAccount> {
    if (!isCcxtExchange(input.ccxtId)) throw new GatewayException('INVALID_REQUEST', `ccxt has no exchange "${input.ccxtId}"`);
    if (await this.accounts.get(input.id)) throw new GatewayException('ALREADY_EXISTS', `an exchange account ${input.id} already exists`);
    if (input.check) await this.checkWithVenue(input);
    const row = {
      id: input.id,
      exchangeId: input.exchangeId,
      ccxtId: input.ccxtId,
      urlOverride: input.urlOverride,
      sandbox: input.sandbox,
      apiKeySealed: this.cipher.encrypt(input.apiKey, input.id),
      secretSealed: this.cipher.encrypt(input.secret, input.id),
      apiKeyHint: input.apiKey.slice(-4),
      createdAt: new Date(),
      createdBy: actor.id,
      rateLimitHalt: null,
    };
    if (!(await this.accounts.insert(row))) throw new GatewayException('ALREADY_EXISTS', `an exchange account ${input.id} already exists`);
    // Orders route to it from now on (this replica's account cache is dropped).
    this.clients.forget(row.id);
    const account = toExchangeAccount(row);
    await this.bus.publish(ExchangeAccountAddedEvt, account, { actor });
    return account;
  }

  /** Markets and balances must load with these credentials: a typo is caught before anything is stored. */
  private async checkWithVenue(input: AddExchangeAccount): Promise<void> {
    const client = createCcxtClient({ ...input, timeoutMs: this.config.VENUE_TIMEOUT_MS });
    try {
      await client.loadMarkets();
      await client.fetchBalance();
    } catch (err) {
      const { kind, message } = describeVenueError(err);
      if (kind === 'unreachable')
        throw new GatewayException('UNAVAILABLE', `could not reach ${input.ccxtId} at ${input.urlOverride ?? 'its own URL'}: ${message}`);
      throw new GatewayException(
        'INVALID_REQUEST',
        kind === 'credentials' ? `the venue refused these credentials: ${message}` : `the venue refused the check: ${message}`,
      );
    }
  }
}
