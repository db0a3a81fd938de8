import { Inject, Injectable } from '@nestjs/common';
import type { Exchange } from 'ccxt';
import { SERVICE_CONFIG } from '@garde/platform';
import type { GatewayConfig } from '../config/gateway.config.js';
import type { ExchangeAccountRow } from '../persistence/exchange-account.entity.js';
import { createCcxtClient } from './ccxt-client.js';
import { CredentialCipher } from './credential-cipher.js';

/**
 * One ccxt instance per exchange account, built on first use from the sealed credentials and kept:
 * its throttler and its loaded markets belong to that account.
 */
@Injectable()
export class VenueClients {
  private readonly clients = new Map<string, Promise<Exchange>>();

  constructor(
    private readonly cipher: CredentialCipher,
    @Inject(SERVICE_CONFIG) private readonly config: GatewayConfig,
  ) {}

  /** The account's client with its markets loaded. A failed load is not kept: the next call tries again. */
  forAccount(account: ExchangeAccountRow): Promise<Exchange> {
    let client = this.clients.get(account.id);
    if (!client) {
      client = this.open(account);
      this.clients.set(account.id, client);
      client.catch(() => this.clients.delete(account.id));
    }
    return client;
  }

  /** Drops a client (its account was removed or its credentials changed). */
  forget(accountId: string): void {
    this.clients.delete(accountId);
  }

  private async open(account: ExchangeAccountRow): Promise<Exchange> {
    const client = createCcxtClient({
      ccxtId: account.ccxtId,
      urlOverride: account.urlOverride,
      sandbox: account.sandbox,
      apiKey: this.cipher.decrypt(account.apiKeySealed, account.id),
      secret: this.cipher.decrypt(account.secretSealed, account.id),
      timeoutMs: this.config.VENUE_TIMEOUT_MS,
    });
    await client.loadMarkets();
    return client;
  }
}
