import { Inject, Injectable } from '@nestjs/common';
import type { OrderCheckDecision, SubmitOrder, TypedEnvelope } from '@garde/contracts';
import { checkPreTrade } from '@garde/domain';
import { SERVICE_CONFIG, type MessageContext } from '@garde/platform';
import type { RiskConfig } from '../../config/risk.config.js';
import { ExposureFeed, bookOrderOf } from '../../state/exposure-feed.js';
import { KillSwitchView } from '../../state/kill-switch-view.js';
import { MarketPrices } from '../../state/market-prices.js';
import { RiskLimitsView } from '../../state/risk-limits-view.js';
import { DecisionEvents, type Denied } from './decision-events.js';

const APPROVED: OrderCheckDecision = { decision: 'APPROVED' };

/**
 * The pre-trade check (DESIGN §4, §6) the gateway asks for every order before it persists it. Fail
 * closed: until this replica knows the kill-switch state, the limits and the order events up to now,
 * every order is denied. Then the pure checks of libs/domain/src/risk decide, on the order's fresh
 * reference price and this replica's exposure book. An approval is counted in this replica's book at
 * once and published to the AUDIT stream just after the reply (the other replicas count it from there); a
 * denial is data with a closed reason, replied and published.
 */
@Injectable()
export class CheckOrder {
  constructor(
    private readonly killSwitch: KillSwitchView,
    private readonly limits: RiskLimitsView,
    private readonly prices: MarketPrices,
    private readonly feed: ExposureFeed,
    private readonly events: DecisionEvents,
    @Inject(SERVICE_CONFIG) private readonly config: RiskConfig,
  ) {}

  async execute(order: SubmitOrder, env: TypedEnvelope<SubmitOrder>): Promise<OrderCheckDecision> {
    const started = process.hrtime.bigint();
    const ctx: MessageContext = { correlationId: env.correlationId, causationId: env.messageId, ...(env.actor ? { actor: env.actor } : {}) };
    const decision = await this.decide(order, ctx);
    if (decision.decision === 'DENIED') this.events.denied(order, decision, ctx);
    this.events.decided(decision, started);
    return decision;
  }

  private async decide(order: SubmitOrder, ctx: MessageContext): Promise<OrderCheckDecision> {
    const unknown = this.unknownState();
    if (unknown) return unknown;
    const target = { exchangeId: order.exchangeId, botId: order.botId };
    // The same client order id again (a retry, a concurrent duplicate): already counted, and the gateway
    // answers it with the order it has, sending nothing. Only a HALTED scope still denies it.
    if (this.feed.book.status(order.clientOrderId) !== undefined && this.killSwitch.effective(target).state !== 'HALTED') return APPROVED;

    const quote = await this.prices.quoteFor(order.exchangeId, order.symbol);
    // Read after the wait: the state may have changed meanwhile.
    const again = this.unknownState();
    if (again) return again;
    const { state, imposedBy } = this.killSwitch.effective(target);
    const tradingState = imposedBy ? { state, scope: imposedBy.scope, reason: imposedBy.reason } : { state };
    const bookOrder = bookOrderOf(order);
    const result = checkPreTrade({
      order: { ...bookOrder, reduceOnly: order.reduceOnly },
      now: Date.now(),
      quote,
      limits: this.limits.lookup,
      book: this.feed.book,
      tradingState,
      duplicateWindowMs: this.config.DUPLICATE_ORDER_WINDOW_MS,
      priceOf: this.prices.priceOf,
    });
    if (!result.approved) {
      return {
        decision: 'DENIED',
        reason: result.reason,
        message: result.message,
        ...(result.scope ? { scope: result.scope } : {}),
        context: { ...result.context },
      };
    }
    // Checked and counted in one go (no await in between): a concurrent check of this replica sees it.
    if (!this.feed.book.approve(bookOrder, Date.now(), result.referencePrice)) return APPROVED;
    // Published to the stream right after the reply, its ack not awaited (see DecisionEvents.approved).
    this.events.approved(order, result.referencePrice, result.notional, ctx);
    return APPROVED;
  }

  /** Denied while a part the check needs is unknown (fail closed). */
  private unknownState(): Denied | undefined {
    if (!this.killSwitch.known) {
      return {
        decision: 'DENIED',
        reason: 'RISK_STATE_UNKNOWN',
        message: 'risk-service has not read the kill-switch state since it (re)connected',
        context: {},
      };
    }
    if (!this.limits.known) {
      return { decision: 'DENIED', reason: 'LIMITS_UNKNOWN', message: 'risk-service has not read the risk limits since it (re)connected', context: {} };
    }
    if (!this.feed.known) {
      return {
        decision: 'DENIED',
        reason: 'EXPOSURE_UNKNOWN',
        message: 'risk-service has not read the order events up to now (starting, or reconnecting): it cannot count this order against the limits',
        context: {},
      };
    }
    return undefined;
  }
}
