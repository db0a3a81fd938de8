import { Inject, Injectable } from '@nestjs/common';
import { FlatConfirmedEvt, FlatFailedEvt, type ScopeState } from '@garde/contracts';
import { ORDER_STATES, isFinal, parseScope, type OrderState, type ParsedScope } from '@garde/domain';
import { JsonLogger, MessageBus, SERVICE_CONFIG, errorFields, type ContextLogger, type MessageContext } from '@garde/platform';
import type { GatewayConfig } from '../../config/gateway.config.js';
import { GatewayMetrics } from '../../metrics/gateway.metrics.js';
import type { ExchangeAccountRow } from '../../persistence/exchange-account.entity.js';
import { ExchangeAccountRepository } from '../../persistence/exchange-account.repository.js';
import type { VenueOrderRow } from '../../persistence/venue-order.entity.js';
import { VenueOrderRepository } from '../../persistence/venue-order.repository.js';
import { VenueClients } from '../../venues/venue-clients.js';
import { CancelOrderUseCase } from '../cancel-order/cancel-order.use-case.js';

/** How a sweep treats the live orders of its scope. */
export interface SweepPolicy {
  /** The states of the orders it cancels through the book. */
  cancel: ReadonlySet<OrderState>;
  /** Cancel such an order again at every round while it is still live (false: once). */
  retry: boolean;
  /** Settled only once the book has no live order of the scope left either (sends settled, cancels confirmed). */
  untilBookSettled: boolean;
}

/** The kill switch: every live order once, at once, whatever its state (as soon as the scope halts). */
const KILL_SWITCH_SWEEP: SweepPolicy = { cancel: new Set(ORDER_STATES.filter((s) => !isFinal(s))), retry: false, untilBookSettled: false };

/**
 * A bot's cancel-all (`bot:stop --cancel-orders`): the orders the venue has answered for, again until
 * the venue confirms; UNKNOWN and PENDING_SUBMIT ones are awaited (settled by the order tracker or their
 * own send), never cancelled blindly: a cancel that finds nothing would record as cancelled an order that
 * may still land. Those still unsettled at the deadline are reported as such.
 */
export const BOT_CANCEL_ALL_SWEEP: SweepPolicy = { cancel: new Set(['OPEN', 'PARTIALLY_FILLED', 'PENDING_CANCEL']), retry: true, untilBookSettled: true };

/** What a sweep did and found. */
export interface Sweep {
  /** Client order ids of the scope's orders seen live during the sweep. */
  seen: string[];
  /** How many of them it cancelled through the book. */
  canceled: number;
  /** Orders still open at the venues at the last check (client order ids, or venue ids of orders the gateway did not send), per account. */
  stillOpen: Record<string, string[]>;
  /** Accounts whose venue could not be asked at the last check. */
  unreachable: string[];
  /** Accounts asked. */
  accounts: string[];
  elapsedMs: number;
  /** The venues confirmed none open (and, when the policy asks, the book has none live). */
  settled: boolean;
}

/**
 * What the gateway does when a scope goes HALTED (DESIGN §3): cancel every open order of the scope on
 * every venue, then ask the venues until none is left ("flat confirmed"), or raise a critical event
 * when some are still open after FLAT_CONFIRM_TIMEOUT_MS. For global and exchange scopes, every order
 * open on the accounts concerned is cancelled, including ones the gateway did not send; for a bot
 * scope, only that bot's. It never flattens positions. The same sweep cancels a stopped bot's orders
 * on request (CancelBotOrders).
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
    const scope = parseScope(halt.scope);
    if ('error' in scope) return 'flat';
    const ctx = this.contextOf(halt);
    const swept = await this.sweep(scope, `kill switch ${halt.scope}: ${halt.reason}`, ctx, KILL_SWITCH_SWEEP, stopping);
    if (swept === 'interrupted') return 'interrupted';
    const { canceled, stillOpen, unreachable, accounts, elapsedMs } = swept;
    if (swept.settled) {
      this.metrics.flatDuration.observe(elapsedMs / 1000);
      this.log.info('flat confirmed', { scope: halt.scope, canceled, elapsedMs });
      await this.bus.publish(FlatConfirmedEvt, { scope: halt.scope, version: halt.version, canceled, accounts, elapsedMs }, ctx);
      return 'flat';
    }
    await this.notFlat(halt, { stillOpen, unreachable, elapsedMs });
    return 'not-flat';
  }

  /**
   * The kill switch's cancels when the gateway cannot read its database (OrderTracker): for a global or
   * exchange scope, every order open on the scope's accounts this gateway knows (VenueClients) is
   * cancelled straight at the venues, which are asked again every 250 ms until none is left ("flat
   * confirmed", `venuesOnly`) or FLAT_CONFIRM_TIMEOUT_MS has passed (NOT FLAT). The book learns of the
   * cancels once the database is back, when the sweep runs again. A bot scope needs the book (which orders
   * are the bot's): undefined, nothing done; so for a scope with no account known.
   */
  async venuesOnly(halt: ScopeState, stopping: () => boolean = () => false): Promise<'flat' | 'not-flat' | 'interrupted' | undefined> {
    const scope = parseScope(halt.scope);
    if ('error' in scope || scope.kind === 'bot') return undefined;
    const accounts = this.clients.knownAccounts().filter((a) => scope.kind === 'global' || a.exchangeId === scope.id);
    if (accounts.length === 0) return undefined;
    const started = Date.now();
    const canceled = new Set<string>();
    for (;;) {
      if (stopping()) return 'interrupted';
      const { stillOpen, unreachable } = await this.openAtVenues(accounts, undefined, `kill switch ${halt.scope}: ${halt.reason}`);
      for (const [accountId, ids] of Object.entries(stillOpen)) for (const id of ids) canceled.add(`${accountId}/${id}`);
      const elapsedMs = Date.now() - started;
      if (Object.keys(stillOpen).length === 0 && unreachable.length === 0) {
        this.metrics.flatDuration.observe(elapsedMs / 1000);
        this.log.warn('flat confirmed by the venues alone (the database is unreachable)', { scope: halt.scope, canceled: canceled.size, elapsedMs });
        const confirmed = {
          scope: halt.scope,
          version: halt.version,
          canceled: canceled.size,
          accounts: accounts.map((a) => a.id),
          elapsedMs,
          venuesOnly: true,
        };
        await this.bus.publish(FlatConfirmedEvt, confirmed, this.contextOf(halt));
        return 'flat';
      }
      if (elapsedMs >= this.config.FLAT_CONFIRM_TIMEOUT_MS) {
        await this.notFlat(halt, { stillOpen, unreachable, elapsedMs, error: 'the database is unreachable: the venues alone were asked' });
        return 'not-flat';
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /**
   * The critical alert of a halt not confirmed flat: orders still open or venues unreachable after
   * FLAT_CONFIRM_TIMEOUT_MS, or (`error`) a sweep that could not run to its end, so that what is still
   * open is not known.
   */
  async notFlat(halt: ScopeState, found: { stillOpen: Record<string, string[]>; unreachable: string[]; elapsedMs: number; error?: string }): Promise<void> {
    this.metrics.flatFailures.inc();
    this.log.fatal(found.error ? 'NOT FLAT: the kill switch could not cancel and check the orders' : 'NOT FLAT: orders still open after the kill switch', {
      scope: halt.scope,
      ...found,
    });
    await this.bus.publish(FlatFailedEvt, { scope: halt.scope, version: halt.version, ...found }, this.contextOf(halt));
  }

  private contextOf(halt: ScopeState): MessageContext {
    return { actor: halt.actor, correlationId: `kill-switch:${halt.scope}:v${halt.version}` };
  }

  /**
   * Cancels the live orders of a scope through the book (PENDING_CANCEL → CANCELED, each with its event
   * under `ctx`), then asks each venue concerned for its open orders and cancels again there what is
   * still open, every 250 ms until the venues confirm none is left (and, with `untilBookSettled`, the
   * book has no live order of the scope left), or FLAT_CONFIRM_TIMEOUT_MS has passed. A bot scope
   * looks only at that bot's orders; global and exchange scopes at every open order of their accounts.
   */
  async sweep(
    scope: ParsedScope,
    reason: string,
    ctx: MessageContext,
    policy: SweepPolicy,
    stopping: () => boolean = () => false,
  ): Promise<Sweep | 'interrupted'> {
    const started = Date.now();
    const byId = new Map((await this.accounts.list()).map((a) => [a.id, a]));
    const seen = new Map<string, VenueOrderRow>();
    const tried = new Set<string>();
    let canceled = 0;
    for (;;) {
      if (stopping()) return 'interrupted';
      const live = await this.orders.liveInScope(scope);
      for (const row of live) seen.set(row.clientOrderId, row);
      const due = live.filter((row) => policy.cancel.has(row.state as OrderState) && (policy.retry || !tried.has(row.clientOrderId)));
      await Promise.all(
        due.map(async (row) => {
          tried.add(row.clientOrderId);
          const account = byId.get(row.accountId);
          if (!account) return;
          try {
            if ((await this.cancelOrder.cancel(row, account, reason, ctx)).state === 'CANCELED') canceled += 1;
          } catch (err) {
            this.log.warn('cancel failed; the venue check will retry', { clientOrderId: row.clientOrderId, reason, ...errorFields(err) });
          }
        }),
      );
      const accounts =
        scope.kind === 'bot'
          ? [...new Set([...seen.values()].map((o) => o.accountId))].flatMap((id) => byId.get(id) ?? [])
          : [...byId.values()].filter((a) => scope.kind === 'global' || a.exchangeId === scope.id);
      const { stillOpen, unreachable } = await this.openAtVenues(accounts, scope.kind === 'bot' ? new Set(seen.keys()) : undefined, reason);
      const bookSettled = !policy.untilBookSettled || (await this.orders.liveInScope(scope)).length === 0;
      const settled = Object.keys(stillOpen).length === 0 && unreachable.length === 0 && bookSettled;
      const elapsedMs = Date.now() - started;
      if (settled || elapsedMs >= this.config.FLAT_CONFIRM_TIMEOUT_MS) {
        return { seen: [...seen.keys()], canceled, stillOpen, unreachable, accounts: accounts.map((a) => a.id), elapsedMs, settled };
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
