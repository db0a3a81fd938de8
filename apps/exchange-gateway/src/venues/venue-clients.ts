import { Inject, Injectable } from '@nestjs/common';
import type { Exchange } from 'ccxt';
import type { SubmitOrder } from '@garde/contracts';
import { SERVICE_CONFIG } from '@garde/platform';
import type { GatewayConfig } from '../config/gateway.config.js';
import { GatewayException } from '../errors/gateway.exception.js';
import type { ExchangeAccountRow } from '../persistence/exchange-account.entity.js';
import { ExchangeAccountRepository } from '../persistence/exchange-account.repository.js';
import { createCcxtClient, describeVenueError } from './ccxt-client.js';
import { CredentialCipher } from './credential-cipher.js';
import { RateLimits } from '../state/rate-limits.js';

/**
 * One ccxt instance per exchange account, built on first use from the sealed credentials and kept:
 * its loaded markets belong to that account, and its calls go through that account's rate limiter.
 */
@Injectable()
export class VenueClients {
  private readonly clients = new Map<string, Promise<Exchange>>();
  /** Every account a client was opened for (until forgotten): what a kill switch can still reach without the database. */
  private readonly known = new Map<string, ExchangeAccountRow>();
  /** The accounts as last read, for routing without a database round trip per order. */
  private accountsCache: { rows: ExchangeAccountRow[]; readAt: number } | undefined;

  constructor(
    private readonly accounts: ExchangeAccountRepository,
    private readonly cipher: CredentialCipher,
    private readonly rateLimits: RateLimits,
    @Inject(SERVICE_CONFIG) private readonly config: GatewayConfig,
  ) {}

  /**
   * Where an order goes: the account it names, or the one account of its exchange, and that account's
   * client with the order's market. Refuses with a clear code when there is none, several, or no market.
   */
  async route(order: SubmitOrder): Promise<{ account: ExchangeAccountRow; client: Exchange }> {
    const account = await this.accountFor(order);
    const client = await this.forAccount(account).catch((err: unknown) => {
      throw new GatewayException(
        'UNAVAILABLE',
        `order refused: ${account.ccxtId} (${account.exchangeId}) is not reachable: ${describeVenueError(err).message}`,
      );
    });
    if (!client.markets || !(order.symbol in client.markets)) {
      throw new GatewayException('INVALID_REQUEST', `order refused: ${order.exchangeId} has no market ${order.symbol}`, { symbol: order.symbol });
    }
    return { account, client };
  }

  /**
   * The accounts, read again at most every ACCOUNT_CACHE_MS (and at once after a change made through
   * this replica): an account added or removed through another replica is seen within that delay.
   */
  private async cachedAccounts(): Promise<ExchangeAccountRow[]> {
    const now = Date.now();
    if (!this.accountsCache || now - this.accountsCache.readAt > this.config.ACCOUNT_CACHE_MS) {
      this.accountsCache = { rows: await this.accounts.list(), readAt: now };
    }
    return this.accountsCache.rows;
  }

  private async accountFor(order: SubmitOrder): Promise<ExchangeAccountRow> {
    const accounts = await this.cachedAccounts();
    if (order.accountId !== undefined) {
      const account = accounts.find((a) => a.id === order.accountId);
      if (!account) throw new GatewayException('INVALID_REQUEST', `order refused: no exchange account ${order.accountId}`);
      if (account.exchangeId !== order.exchangeId) {
        throw new GatewayException('INVALID_REQUEST', `order refused: account ${account.id} trades on ${account.exchangeId}, not ${order.exchangeId}`);
      }
      return account;
    }
    const candidates = accounts.filter((a) => a.exchangeId === order.exchangeId);
    if (candidates.length === 0) {
      throw new GatewayException('NO_VENUE_CONFIGURED', `order refused: no exchange account is configured for exchange ${order.exchangeId}`, {
        exchangeId: order.exchangeId,
      });
    }
    if (candidates.length > 1) {
      throw new GatewayException(
        'INVALID_REQUEST',
        `order refused: exchange ${order.exchangeId} has several accounts; name one with accountId (${candidates.map((a) => a.id).join(', ')})`,
      );
    }
    return candidates[0]!;
  }

  /** The client of an exchange's account (the first, if it has several): for what any account may read, such as prices. */
  async forExchange(exchangeId: string): Promise<Exchange> {
    const account = (await this.cachedAccounts()).find((a) => a.exchangeId === exchangeId);
    if (!account) throw new GatewayException('NO_VENUE_CONFIGURED', `no exchange account is configured for exchange ${exchangeId}`, { exchangeId });
    return this.forAccount(account);
  }

  /** The account's client with its markets loaded. A failed load is not kept: the next call tries again. */
  forAccount(account: ExchangeAccountRow): Promise<Exchange> {
    let client = this.clients.get(account.id);
    if (!client) {
      this.known.set(account.id, account);
      client = this.open(account);
      this.clients.set(account.id, client);
      client.catch(() => this.clients.delete(account.id));
    }
    return client;
  }

  /** True while the account's venue rate-limited or banned it and nothing may be sent yet. */
  rateLimitBlocked(accountId: string): boolean {
    return this.rateLimits.of(accountId)?.blocked ?? false;
  }

  /** The accounts this gateway has talked to (a client asked for), without reading the database. */
  knownAccounts(): ExchangeAccountRow[] {
    return [...this.known.values()];
  }

  /** Drops a client (its account was removed or its credentials changed). */
  forget(accountId: string): void {
    this.known.delete(accountId);
    this.accountsCache = undefined;
    this.clients.delete(accountId);
    this.rateLimits.forget(accountId);
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
    // Every call of the account, loading its markets included, goes through its rate-limit budget.
    this.rateLimits.attach(account, client);
    await client.loadMarkets();
    return client;
  }
}
