import { Inject, Injectable } from '@nestjs/common';
import { OrderAcceptedEvt, OrderCheckQry, OrderRefusedEvt, OrderRejectedEvt, OrderUnknownEvt, type Order, type SubmitOrder } from '@garde/contracts';
import { Decimal, isFinal, orderAllowed } from '@garde/domain';
import { JsonLogger, MessageBus, SERVICE_CONFIG, errorFields, type MessageContext } from '@garde/platform';
import type { GatewayConfig } from '../../config/gateway.config.js';
import { GatewayException } from '../../errors/gateway.exception.js';
import { GatewayMetrics } from '../../metrics/gateway.metrics.js';
import type { ExchangeAccountRow } from '../../persistence/exchange-account.entity.js';
import { ExchangeAccountRepository } from '../../persistence/exchange-account.repository.js';
import { VenueOrderRepository, toOrder } from '../../persistence/venue-order.repository.js';
import { KillSwitchGate } from '../../state/kill-switch-gate.js';
import { describeVenueError } from '../../venues/ccxt-client.js';
import { VenueClients } from '../../venues/venue-clients.js';
import { OrderFills } from '../track-open-orders/order-fills.js';
import { outcomeOfAnswer, outcomeOfError, tooPrecise, type VenueOutcome } from './venue-outcome.js';

/**
 * The choke point every order goes through, in the order of DESIGN §4: validate, the kill-switch gate
 * (fail closed), the account and its market, risk-service's pre-trade check (no answer = refused),
 * persisted as PENDING_SUBMIT under its client order id (a second submit of the same id returns the
 * first order and sends nothing), sent once through ccxt, and the venue's answer recorded.
 * Not built yet: the account's rate-limit token, and the settling of UNKNOWN orders.
 */
@Injectable()
export class SubmitOrderUseCase {
  constructor(
    private readonly gate: KillSwitchGate,
    private readonly accounts: ExchangeAccountRepository,
    private readonly orders: VenueOrderRepository,
    private readonly clients: VenueClients,
    private readonly fills: OrderFills,
    private readonly bus: MessageBus,
    private readonly metrics: GatewayMetrics,
    private readonly logger: JsonLogger,
    @Inject(SERVICE_CONFIG) private readonly config: GatewayConfig,
  ) {}

  async execute(order: SubmitOrder, ctx: MessageContext): Promise<Order> {
    const started = process.hrtime.bigint();
    try {
      this.passGate(order);
      const existing = await this.orders.get(order.clientOrderId);
      if (existing) return toOrder(existing);
      const account = await this.account(order);
      const client = await this.clients.forAccount(account).catch((err: unknown) => {
        throw new GatewayException(
          'UNAVAILABLE',
          `order refused: ${account.ccxtId} (${account.exchangeId}) is not reachable: ${describeVenueError(err).message}`,
        );
      });
      if (!client.markets || !(order.symbol in client.markets))
        throw new GatewayException('INVALID_REQUEST', `order refused: ${order.exchangeId} has no market ${order.symbol}`, { symbol: order.symbol });
      await this.checkRisk(order, ctx);
      const pending = await this.orders.insertPending({
        clientOrderId: order.clientOrderId,
        venueOrderId: null,
        accountId: account.id,
        exchangeId: order.exchangeId,
        botId: order.botId ?? null,
        symbol: order.symbol,
        side: order.side,
        type: order.type,
        quantity: order.quantity,
        price: order.price ?? null,
        state: 'PENDING_SUBMIT',
        filled: '0',
        lastError: null,
        lookups: 0,
        nextCheckAt: null,
        correlationId: ctx.correlationId ?? order.clientOrderId,
        createdAt: new Date(),
        updatedAt: new Date(),
      });
      // A concurrent submit of the same id got there first: it sends, this one only reports.
      if (!pending.inserted) return toOrder(pending.row);
      const outcome = await client
        .createOrder(order.symbol, order.type, order.side, Number(order.quantity), order.price === undefined ? undefined : Number(order.price), {
          newClientOrderId: order.clientOrderId,
        })
        .then(outcomeOfAnswer, outcomeOfError);
      const row = await this.record(order.clientOrderId, outcome);
      if (outcome.kind === 'answered' && !Decimal.of(outcome.filled).isZero()) await this.fills.record(row, client);
      const recorded = toOrder(row);
      this.metrics.orders.inc({ result: recorded.state });
      this.metrics.submitDuration.observe({ outcome: outcome.kind }, Number(process.hrtime.bigint() - started) / 1e9);
      await this.publishOutcome(recorded, outcome, ctx);
      return recorded;
    } catch (err) {
      if (err instanceof GatewayException) this.refused(order, err, ctx);
      throw err;
    }
  }

  private passGate(order: SubmitOrder): void {
    if (!this.gate.known) {
      throw new GatewayException('RISK_STATE_UNKNOWN', 'order refused: the gateway has not read the kill-switch state since it (re)connected (fail-closed)');
    }
    const { state, imposedBy } = this.gate.effective({ exchangeId: order.exchangeId, botId: order.botId });
    if (!orderAllowed(state, order.reduceOnly) && imposedBy) {
      throw new GatewayException('KILL_SWITCH_ACTIVE', `order refused: kill switch ${imposedBy.scope} is ${state}: ${imposedBy.reason}`, {
        scope: imposedBy.scope,
        state,
        reason: imposedBy.reason,
        actor: imposedBy.actor.id,
        since: imposedBy.since,
      });
    }
    for (const [field, value] of [
      ['quantity', order.quantity],
      ['price', order.price],
    ] as const) {
      if (value !== undefined && tooPrecise(value))
        throw new GatewayException('INVALID_REQUEST', `order refused: ${field} ${value} has more than 15 significant digits`);
    }
  }

  /** The named account, or the one account of the order's exchange. */
  private async account(order: SubmitOrder): Promise<ExchangeAccountRow> {
    if (order.accountId !== undefined) {
      const account = await this.accounts.get(order.accountId);
      if (!account) throw new GatewayException('INVALID_REQUEST', `order refused: no exchange account ${order.accountId}`);
      if (account.exchangeId !== order.exchangeId) {
        throw new GatewayException('INVALID_REQUEST', `order refused: account ${account.id} trades on ${account.exchangeId}, not ${order.exchangeId}`);
      }
      return account;
    }
    const candidates = await this.accounts.forExchange(order.exchangeId);
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

  /** risk-service's decision; no answer in time is a refusal (fail closed). */
  private async checkRisk(order: SubmitOrder, ctx: MessageContext): Promise<void> {
    const reply = await this.bus.request(OrderCheckQry, order, ctx, this.config.RISK_CHECK_TIMEOUT_MS);
    if (!reply.ok)
      throw new GatewayException(
        reply.error.code === 'TIMEOUT' ? 'TIMEOUT' : 'UNAVAILABLE',
        `order refused: no pre-trade decision from risk-service (${reply.error.message})`,
      );
    if (reply.result.decision === 'DENIED') {
      throw new GatewayException('RISK_DENIED', `order refused by risk-service: ${reply.result.message}`, {
        reason: reply.result.reason,
        ...(reply.result.scope ? { scope: reply.result.scope } : {}),
      });
    }
  }

  private async record(clientOrderId: string, outcome: VenueOutcome) {
    switch (outcome.kind) {
      case 'answered':
        return this.orders.update(clientOrderId, {
          state: outcome.state,
          venueOrderId: outcome.venueOrderId,
          filled: outcome.filled,
          nextCheckAt: isFinal(outcome.state) ? null : new Date(Date.now() + this.config.ORDER_POLL_MS),
        });
      case 'rejected':
        return this.orders.update(clientOrderId, { state: 'REJECTED', lastError: outcome.reason });
      case 'unknown':
        return this.orders.update(clientOrderId, {
          state: 'UNKNOWN',
          lastError: outcome.reason,
          nextCheckAt: new Date(Date.now() + this.config.UNKNOWN_FIRST_LOOKUP_MS),
        });
    }
  }

  private async publishOutcome(order: Order, outcome: VenueOutcome, ctx: MessageContext): Promise<void> {
    const def = outcome.kind === 'answered' ? OrderAcceptedEvt : outcome.kind === 'rejected' ? OrderRejectedEvt : OrderUnknownEvt;
    await this.bus
      .publish(def, order, ctx)
      .catch((err: unknown) =>
        this.logger.child('orders').error('could not publish an order event', { clientOrderId: order.clientOrderId, ...errorFields(err) }),
      );
  }

  /** A refusal before the venue: counted, and in the audit trail without keeping the caller waiting. */
  private refused(order: SubmitOrder, refusal: GatewayException, ctx: MessageContext): void {
    this.metrics.orders.inc({ result: refusal.code });
    void this.bus
      .publish(
        OrderRefusedEvt,
        {
          clientOrderId: order.clientOrderId,
          botId: order.botId,
          exchangeId: order.exchangeId,
          symbol: order.symbol,
          side: order.side,
          error: refusal.toBody(),
        },
        ctx,
      )
      .catch((err: unknown) =>
        this.logger.child('orders').error('could not publish an order refusal', { clientOrderId: order.clientOrderId, ...errorFields(err) }),
      );
  }
}
