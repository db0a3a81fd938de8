import { Inject, Injectable } from '@nestjs/common';
import type { Order, SubmitOrder } from '@garde/contracts';
import { Decimal, isFinal } from '@garde/domain';
import { SERVICE_CONFIG, type MessageContext } from '@garde/platform';
import type { GatewayConfig } from '../../config/gateway.config.js';
import { GatewayException } from '../../errors/gateway.exception.js';
import { VenueOrderRepository, pendingRow, toOrder } from '../../persistence/venue-order.repository.js';
import { VenueClients } from '../../venues/venue-clients.js';
import { OrderFills } from '../track-open-orders/order-fills.js';
import { OrderEvents } from './order-events.js';
import { OrderGates } from './order-gates.js';
import { outcomeOfAnswer, outcomeOfError, type VenueOutcome } from './venue-outcome.js';

/**
 * The choke point every order goes through, in the order of DESIGN §4: validate, the kill-switch gate
 * (fail closed), the account and its market, risk-service's pre-trade check (no answer = refused),
 * the account's rate-limit token (RB-004), persisted as PENDING_SUBMIT under its client order id (a
 * second submit of the same id, once past the same gates, returns the first order and sends nothing),
 * sent once through ccxt, and the venue's answer recorded (an UNKNOWN one is settled later by
 * SettleUnknownOrders).
 */
@Injectable()
export class SubmitOrderUseCase {
  constructor(
    private readonly gates: OrderGates,
    private readonly venues: VenueClients,
    private readonly orders: VenueOrderRepository,
    private readonly fills: OrderFills,
    private readonly events: OrderEvents,
    @Inject(SERVICE_CONFIG) private readonly config: GatewayConfig,
  ) {}

  private inFlight = 0;

  /**
   * `sentAt` (epoch ms): when the caller sent the order (its envelope's time), now when not known. An
   * order that has waited longer than ORDER_MAX_AGE_MS by the time it would be persisted is refused, not
   * sent: its caller may have given up on it. Beyond MAX_SUBMITS_IN_FLIGHT the gateway sheds load at once.
   */
  async execute(order: SubmitOrder, given: MessageContext, sentAt = Date.now()): Promise<Order> {
    const started = process.hrtime.bigint();
    // Every event of the order shares one correlation id: the caller's, else its client order id.
    const ctx = { ...given, correlationId: given.correlationId ?? order.clientOrderId };
    let routedTo: string | undefined;
    this.inFlight++;
    try {
      if (this.inFlight > this.config.MAX_SUBMITS_IN_FLIGHT) {
        throw new GatewayException(
          'UNAVAILABLE',
          `order refused: the gateway already has ${this.config.MAX_SUBMITS_IN_FLIGHT} orders in flight (overloaded); not sent`,
        );
      }
      this.gates.beforeVenue(order);
      const { account, client } = await this.venues.route(order);
      routedTo = account.exchangeId;
      this.gates.venueUsable(account);
      await this.gates.checkRisk({ ...order, accountId: account.id }, ctx);
      await this.gates.takeRateLimitToken(account);
      const waitedMs = Date.now() - sentAt;
      if (waitedMs > this.config.ORDER_MAX_AGE_MS) {
        throw new GatewayException(
          'TIMEOUT',
          `order refused: ${waitedMs} ms after it was sent (${new Date(sentAt).toISOString()} by the sender's clock) it had not reached the venue (ORDER_MAX_AGE_MS ${this.config.ORDER_MAX_AGE_MS}); the caller may have given up, so it is not sent`,
        );
      }
      const pending = await this.orders.insertPending(
        pendingRow({
          clientOrderId: order.clientOrderId,
          accountId: account.id,
          exchangeId: order.exchangeId,
          botId: order.botId ?? null,
          symbol: order.symbol,
          side: order.side,
          type: order.type,
          quantity: order.quantity,
          price: order.price ?? null,
          correlationId: ctx.correlationId,
        }),
      );
      // The same id was submitted before (a retry, or a concurrent duplicate): that submit sends, this one only reports.
      if (!pending.inserted) return toOrder(pending.row);
      const outcome = await client
        .createOrder(order.symbol, order.type, order.side, Number(order.quantity), order.price === undefined ? undefined : Number(order.price), {
          newClientOrderId: order.clientOrderId,
        })
        .then(outcomeOfAnswer, outcomeOfError);
      if (outcome.kind === 'unknown') await this.gates.venueCallFailed(account, outcome.reason);
      const row = await this.record(order.clientOrderId, outcome);
      if (outcome.kind === 'answered' && !Decimal.of(outcome.filled).isZero()) await this.fills.record(row, client);
      const recorded = toOrder(row);
      this.events.sent(recorded, outcome, ctx, started);
      return recorded;
    } catch (err) {
      if (err instanceof GatewayException) this.events.refused(order, err, ctx, routedTo);
      throw err;
    } finally {
      this.inFlight--;
    }
  }

  private async record(clientOrderId: string, outcome: VenueOutcome) {
    switch (outcome.kind) {
      case 'answered':
        return this.orders.recordAnswer(clientOrderId, {
          state: outcome.state,
          venueOrderId: outcome.venueOrderId,
          filled: outcome.filled,
          venueSeenAt: new Date(),
          nextCheckAt: isFinal(outcome.state) ? null : new Date(Date.now() + this.config.ORDER_POLL_MS),
        });
      case 'rejected':
        return this.orders.recordAnswer(clientOrderId, { state: 'REJECTED', lastError: outcome.reason });
      case 'unknown':
        return this.orders.recordAnswer(clientOrderId, {
          state: 'UNKNOWN',
          lastError: outcome.reason,
          nextCheckAt: new Date(Date.now() + this.config.UNKNOWN_FIRST_LOOKUP_MS),
        });
    }
  }
}
