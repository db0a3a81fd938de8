import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Exchange } from 'ccxt';
import { RateLimitChangedEvt, type Actor, type RateLimitState, type RateLimitStatus } from '@garde/contracts';
import { JsonLogger, MessageBus, SERVICE_CONFIG, errorFields, type ContextLogger } from '@garde/platform';
import type { GatewayConfig } from '../config/gateway.config.js';
import { GatewayException } from '../errors/gateway.exception.js';
import { GatewayMetrics } from '../metrics/gateway.metrics.js';
import type { ExchangeAccountRow } from '../persistence/exchange-account.entity.js';
import { ExchangeAccountRepository } from '../persistence/exchange-account.repository.js';
import { AccountRateLimiter } from '../venues/account-rate-limiter.js';
import { meterVenueCalls } from '../venues/metered-client.js';
import { ccxtDefaultWindows, profileFor } from '../venues/venue-rate-limits.js';

/**
 * The rate limiters of every exchange account (RB-004), one per account and shared by every caller of
 * its ccxt client. Changes of state are logged, published to the audit trail, and a halt is
 * kept in PostgreSQL so that it survives a restart.
 */
@Injectable()
export class RateLimits implements OnApplicationShutdown {
  private readonly limiters = new Map<string, AccountRateLimiter>();
  private readonly log: ContextLogger;

  constructor(
    private readonly accounts: ExchangeAccountRepository,
    private readonly bus: MessageBus,
    metrics: GatewayMetrics,
    @Inject(SERVICE_CONFIG) private readonly config: GatewayConfig,
    logger: JsonLogger,
  ) {
    this.log = logger.child('rate-limits');
    metrics.onRateLimitScrape(() => [...this.limiters.values()].map((l) => l.status()));
  }

  /** Puts a new ccxt client of the account behind the account's limiter (kept across clients). */
  attach(account: ExchangeAccountRow, client: Exchange): void {
    let limiter = this.limiters.get(account.id);
    if (!limiter) {
      const halt = account.rateLimitHalt;
      limiter = new AccountRateLimiter({
        accountId: account.id,
        exchangeId: account.exchangeId,
        profile: profileFor(account.ccxtId),
        windows: ccxtDefaultWindows(client.rateLimit ?? 1000),
        options: {
          utilization: this.config.RATE_LIMIT_UTILIZATION,
          cancelReserve: this.config.RATE_LIMIT_CANCEL_RESERVE,
          orderReserve: this.config.RATE_LIMIT_ORDER_RESERVE,
          orderMaxWaitMs: this.config.RATE_LIMIT_ORDER_MAX_WAIT_MS,
          defaultPauseMs: 10_000,
          maxPauseMs: this.config.RATE_LIMIT_MAX_PAUSE_MS,
        },
        onChange: (status, previous) => this.changed(status, previous),
        sendProbe: () => client.fetchTime(),
        ...(halt ? { halt: { reason: halt.reason, since: new Date(halt.since), bannedUntil: new Date(halt.bannedUntil) } } : {}),
      });
      this.limiters.set(account.id, limiter);
    }
    meterVenueCalls(client, limiter);
  }

  /** The account's limiter, once its client has been opened. */
  of(accountId: string): AccountRateLimiter | undefined {
    return this.limiters.get(accountId);
  }

  /** Room for a new order of the account (refused RATE_LIMITED when there is none in time). */
  async takeOrderToken(account: ExchangeAccountRow): Promise<void> {
    await this.limiters.get(account.id)?.takeOrderToken();
  }

  status(accountId: string): RateLimitStatus | undefined {
    return this.limiters.get(accountId)?.status();
  }

  /** Lifts an account's halt after its ban (operator, with a reason: audited). */
  async resume(accountId: string, reason: string, actor: Actor): Promise<RateLimitStatus> {
    const limiter = this.limiters.get(accountId);
    if (!limiter) throw new GatewayException('NOT_FOUND', `no exchange account ${accountId} with a rate limiter in this gateway`);
    const previous = limiter.status().state;
    limiter.resume();
    await this.accounts.setRateLimitHalt(accountId, null);
    const status = limiter.status();
    this.log.warn('rate-limit halt lifted by an operator', { accountId, actor: actor.id, reason });
    await this.bus.publish(RateLimitChangedEvt, { status, previous }, { actor });
    return status;
  }

  forget(accountId: string): void {
    this.limiters.get(accountId)?.close();
    this.limiters.delete(accountId);
  }

  onApplicationShutdown(): void {
    for (const limiter of this.limiters.values()) limiter.close();
  }

  private changed(status: RateLimitStatus, previous: RateLimitState): void {
    const fields = { accountId: status.accountId, exchangeId: status.exchangeId, previous, reason: status.reason, pausedUntil: status.pausedUntil };
    if (status.state === 'HALTED')
      this.log.error('account HALTED: the venue banned it (HTTP 418); new orders refused until an operator resumes it (RB-004)', fields);
    else this.log.warn(`rate limit ${status.state}`, fields);
    const persisted =
      status.state === 'HALTED' && status.pausedUntil
        ? this.accounts.setRateLimitHalt(status.accountId, { reason: status.reason ?? '', since: status.since, bannedUntil: status.pausedUntil })
        : Promise.resolve();
    void persisted
      .then(() => this.bus.publish(RateLimitChangedEvt, { status, previous }))
      .catch((err: unknown) => this.log.error('could not record a rate-limit change', { accountId: status.accountId, ...errorFields(err) }));
  }
}
