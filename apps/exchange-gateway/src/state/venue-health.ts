import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { VenueHealthChangedEvt, type VenueHealth, type VenueState } from '@garde/contracts';
import { JsonLogger, MessageBus, SERVICE_CONFIG, errorFields, runEvery, type ContextLogger, type PeriodicTask } from '@garde/platform';
import type { GatewayConfig } from '../config/gateway.config.js';
import { GatewayException } from '../errors/gateway.exception.js';
import { GatewayMetrics } from '../metrics/gateway.metrics.js';
import type { ExchangeAccountRow } from '../persistence/exchange-account.entity.js';
import { ExchangeAccountRepository } from '../persistence/exchange-account.repository.js';
import { ReconcileVenueOrders } from '../use-cases/reconcile-venue-orders/reconcile-venue-orders.use-case.js';
import { describeVenueError } from '../venues/ccxt-client.js';
import { VenueClients } from '../venues/venue-clients.js';

/**
 * Venue health (RB-001), per exchange account, as this gateway sees it: a probe every HEALTH_PROBE_MS
 * (the venue's clock endpoint, timed) and the outcome of real calls. One failure or a slow answer makes
 * it DEGRADED; DISCONNECT_AFTER_FAILURES in a row make it DISCONNECTED, and orders to it are refused
 * EXCHANGE_UNAVAILABLE. When it answers again, its open orders are reconciled before new ones pass.
 */
@Injectable()
export class VenueHealthMonitor implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly venues = new Map<string, VenueHealth>();
  private probing: PeriodicTask | undefined;
  private readonly log: ContextLogger;

  constructor(
    private readonly accounts: ExchangeAccountRepository,
    private readonly clients: VenueClients,
    private readonly reconcile: ReconcileVenueOrders,
    private readonly bus: MessageBus,
    private readonly metrics: GatewayMetrics,
    @Inject(SERVICE_CONFIG) private readonly config: GatewayConfig,
    logger: JsonLogger,
  ) {
    this.log = logger.child('venue-health');
  }

  onApplicationBootstrap(): void {
    this.probing = runEvery(
      this.config.HEALTH_PROBE_MS,
      () => this.probeAll(),
      (err) => this.log.error('a venue health pass failed', errorFields(err)),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.probing?.stop();
  }

  /** Every account's venue, probed now if never probed. */
  async list(): Promise<VenueHealth[]> {
    const accounts = await this.accounts.list();
    for (const account of accounts) if (!this.venues.has(account.id)) await this.probe(account);
    for (const id of this.venues.keys()) if (!accounts.some((a) => a.id === id)) this.venues.delete(id);
    return accounts.map((a) => this.venues.get(a.id)).filter((v): v is VenueHealth => v !== undefined);
  }

  /** Refuses an order to a venue that is DISCONNECTED or still being reconciled. */
  assertUsable(account: ExchangeAccountRow): void {
    const health = this.venues.get(account.id);
    if (!health) return;
    if (health.state === 'DISCONNECTED' || health.reconciling) {
      throw new GatewayException(
        'EXCHANGE_UNAVAILABLE',
        `order refused: ${account.exchangeId} (${account.id}) is ${health.reconciling ? 'being reconciled after a reconnect' : 'DISCONNECTED'}${health.lastError ? `: ${health.lastError}` : ''}`,
        { exchangeId: account.exchangeId, accountId: account.id, state: health.state },
      );
    }
  }

  /** A real call failed the way a dead venue fails (timeout, 5xx, reset). */
  async callFailed(account: ExchangeAccountRow, error: string): Promise<void> {
    await this.failure(account, error);
  }

  async probeAll(): Promise<void> {
    for (const account of await this.accounts.list()) await this.probe(account);
  }

  private async probe(account: ExchangeAccountRow): Promise<void> {
    // A venue that rate-limited or banned the account is not asked anything before the pause ends.
    if (this.clients.rateLimitBlocked(account.id)) return;
    const started = process.hrtime.bigint();
    try {
      const client = await this.clients.forAccount(account);
      await client.fetchTime();
      const latencyMs = Number(process.hrtime.bigint() - started) / 1e6;
      this.metrics.venueLatency.observe({ exchange: account.exchangeId }, latencyMs / 1000);
      await this.success(account, latencyMs);
    } catch (err) {
      await this.failure(account, describeVenueError(err).message);
    }
  }

  private async success(account: ExchangeAccountRow, latencyMs: number): Promise<void> {
    const current = this.current(account);
    if (current.state === 'DISCONNECTED') {
      // Back: what happened to its orders while it was away is read before anything new is sent.
      this.update(account, { reconciling: true });
      try {
        await this.reconcile.execute(account.id);
      } catch (err) {
        this.log.error('reconciling the open orders of a reconnected venue failed; it stays DISCONNECTED', { accountId: account.id, ...errorFields(err) });
        this.update(account, { reconciling: false });
        return;
      }
    }
    const state: VenueState = latencyMs > this.config.DEGRADED_LATENCY_MS ? 'DEGRADED' : 'CONNECTED';
    await this.change(account, state, {
      latencyMs: Math.round(latencyMs * 10) / 10,
      consecutiveFailures: 0,
      lastError: state === 'DEGRADED' ? `slow: ${Math.round(latencyMs)} ms` : null,
      reconciling: false,
    });
  }

  private async failure(account: ExchangeAccountRow, error: string): Promise<void> {
    const failures = this.current(account).consecutiveFailures + 1;
    const state: VenueState = failures >= this.config.DISCONNECT_AFTER_FAILURES ? 'DISCONNECTED' : 'DEGRADED';
    await this.change(account, state, { consecutiveFailures: failures, lastError: error.slice(0, 300) });
  }

  private current(account: ExchangeAccountRow): VenueHealth {
    return (
      this.venues.get(account.id) ?? {
        accountId: account.id,
        exchangeId: account.exchangeId,
        state: 'CONNECTED',
        reconciling: false,
        latencyMs: null,
        consecutiveFailures: 0,
        lastError: null,
        since: new Date().toISOString(),
        checkedAt: null,
      }
    );
  }

  private update(account: ExchangeAccountRow, changes: Partial<VenueHealth>): VenueHealth {
    const next = { ...this.current(account), ...changes, checkedAt: new Date().toISOString() };
    this.venues.set(account.id, next);
    return next;
  }

  private async change(account: ExchangeAccountRow, state: VenueState, changes: Partial<VenueHealth>): Promise<void> {
    const previous = this.venues.get(account.id)?.state;
    const next = this.update(account, { ...changes, state, ...(previous !== state ? { since: new Date().toISOString() } : {}) });
    this.metrics.venueUp.set({ exchange: account.exchangeId }, state === 'DISCONNECTED' ? 0 : 1);
    if (previous === undefined || previous === state) return;
    this.log.warn(`venue ${state}`, { accountId: account.id, exchangeId: account.exchangeId, previous, lastError: next.lastError });
    await this.bus
      .publish(VenueHealthChangedEvt, { venue: next, previous })
      .catch((err: unknown) => this.log.error('could not publish a venue health change', errorFields(err)));
  }
}
