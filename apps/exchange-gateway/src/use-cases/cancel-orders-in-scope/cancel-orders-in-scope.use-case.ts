import { Inject, Injectable } from '@nestjs/common';
import { FlatConfirmedEvt, FlatFailedEvt, type ScopeState } from '@garde/contracts';
import { parseScope } from '@garde/domain';
import { JsonLogger, MessageBus, SERVICE_CONFIG, errorFields, type ContextLogger } from '@garde/platform';
import type { GatewayConfig } from '../../config/gateway.config.js';
import { GatewayMetrics } from '../../metrics/gateway.metrics.js';
import type { ExchangeAccountRow } from '../../persistence/exchange-account.entity.js';
import { ExchangeAccountRepository } from '../../persistence/exchange-account.repository.js';
import { VenueOrderRepository } from '../../persistence/venue-order.repository.js';
import { VenueClients } from '../../venues/venue-clients.js';
import { CancelOrderUseCase } from '../cancel-order/cancel-order.use-case.js';

/**
 * What the gateway does when a scope goes HALTED (DESIGN §3): cancel every open order of the scope on
 * every venue, then ask the venues until none is left ("flat confirmed"), or raise a critical event
 * when some are still open after FLAT_CONFIRM_TIMEOUT_MS. For global and exchange scopes, every order
 * open on the accounts concerned is cancelled, including ones the gateway did not send; for a bot
 * scope, only that bot's. It never flattens positions.
 */
@Injectable()
export class CancelOrdersInScope {
  private readonly log: ContextLogger;

  constructor(
    private readonly orders: VenueOrderRepository,
    private readonly accounts: ExchangeAccountRepository,
    private readonly clients: VenueClients,
    private readonly cancelOrder: CancelOrderUseCase,
    private readonly bus: MessageBus,
    private readonly metrics: GatewayMetrics,
    @Inject(SERVICE_CONFIG) private readonly config: GatewayConfig,
    logger: JsonLogger,
  ) {
    this.log = logger.child('kill-switch-cancel');
  }

  /** `stopping` ends the confirmation loop early (the gateway is shutting down): nothing is published then. */
  async execute(halt: ScopeState, stopping: () => boolean = () => false): Promise<'flat' | 'not-flat' | 'interrupted'> {
    const started = Date.now();
    const scope = parseScope(halt.scope);
    if ('error' in scope) return 'flat';
    const ctx = { actor: halt.actor, correlationId: `kill-switch:${halt.scope}:v${halt.version}` };
    const reason = `kill switch ${halt.scope}: ${halt.reason}`;
    const live = await this.orders.liveInScope(scope);
    const byId = new Map((await this.accounts.list()).map((a) => [a.id, a]));
    const accounts =
      scope.kind === 'bot'
        ? [...new Set(live.map((o) => o.accountId))].flatMap((id) => byId.get(id) ?? [])
        : [...byId.values()].filter((a) => scope.kind === 'global' || a.exchangeId === scope.id);
    const botOrders = new Set(live.map((o) => o.clientOrderId));

    let canceled = 0;
    await Promise.all(
      live.map(async (row) => {
        const account = byId.get(row.accountId);
        if (!account) return;
        try {
          if ((await this.cancelOrder.cancel(row, account, reason, ctx)).state === 'CANCELED') canceled += 1;
        } catch (err) {
          this.log.warn('cancel on kill switch failed; the venue check will retry', { clientOrderId: row.clientOrderId, ...errorFields(err) });
        }
      }),
    );

    for (;;) {
      if (stopping()) return 'interrupted';
      const { stillOpen, unreachable } = await this.openAtVenues(accounts, scope.kind === 'bot' ? botOrders : undefined, reason);
      const elapsedMs = Date.now() - started;
      if (Object.keys(stillOpen).length === 0 && unreachable.length === 0) {
        this.metrics.flatDuration.observe(elapsedMs / 1000);
        this.log.info('flat confirmed', { scope: halt.scope, canceled, elapsedMs });
        await this.bus.publish(FlatConfirmedEvt, { scope: halt.scope, version: halt.version, canceled, accounts: accounts.map((a) => a.id), elapsedMs }, ctx);
        return 'flat';
      }
      if (elapsedMs >= this.config.FLAT_CONFIRM_TIMEOUT_MS) {
        this.metrics.flatFailures.inc();
        this.log.fatal('NOT FLAT: orders still open after the kill switch', { scope: halt.scope, stillOpen, unreachable, elapsedMs });
        await this.bus.publish(FlatFailedEvt, { scope: halt.scope, version: halt.version, stillOpen, unreachable, elapsedMs }, ctx);
        return 'not-flat';
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** Asks each account's venue for its open orders, and cancels again what is still there. */
  private async openAtVenues(accounts: ExchangeAccountRow[], only: Set<string> | undefined, reason: string) {
    const stillOpen: Record<string, string[]> = {};
    const unreachable: string[] = [];
    await Promise.all(
      accounts.map(async (account) => {
        try {
          const client = await this.clients.forAccount(account);
          const open = (await client.fetchOpenOrders()).filter((o) => !only || (o.clientOrderId !== undefined && only.has(o.clientOrderId)));
          if (open.length === 0) return;
          stillOpen[account.id] = open.map((o) => o.clientOrderId ?? o.id ?? '?');
          await Promise.all(open.map((o) => client.cancelOrder(o.id ?? '', o.symbol).catch(() => undefined)));
        } catch (err) {
          unreachable.push(account.id);
          this.log.warn('could not ask the venue for open orders', { accountId: account.id, reason, ...errorFields(err) });
        }
      }),
    );
    return { stillOpen, unreachable };
  }
}
