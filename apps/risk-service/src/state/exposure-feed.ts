import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { DeliverPolicy, jetstream, type Consumer, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import {
  Envelope,
  OrderAcceptedEvt,
  OrderApprovedEvt,
  OrderCanceledEvt,
  OrderDeniedEvt,
  OrderFilledEvt,
  OrderLostEvt,
  OrderRefusedEvt,
  OrderRejectedEvt,
  OrderSettledEvt,
  OrderUnknownEvt,
  type Fill,
  type Order,
  type SubmitOrder,
} from '@garde/contracts';
import { BotActivity, Decimal, ExposureBook, MESSAGE_RATE_WINDOW_MS, PnlLedger, countsAsRunawayDenial, type BookOrder, type OrderReport } from '@garde/domain';
import {
  JsonLogger,
  MessageBus,
  NATS_CONNECTION,
  SERVICE_CONFIG,
  errorFields,
  runEvery,
  type ContextLogger,
  type NatsConnection,
  type PeriodicTask,
} from '@garde/platform';
import type { RiskConfig } from '../config/risk.config.js';
import { MarketPrices } from './market-prices.js';

/** The order as the checks and the book take it. */
export function bookOrderOf(order: SubmitOrder): BookOrder {
  return {
    clientOrderId: order.clientOrderId,
    botId: order.botId,
    exchangeId: order.exchangeId,
    accountId: order.accountId,
    symbol: order.symbol,
    side: order.side,
    type: order.type,
    quantity: Decimal.of(order.quantity),
    price: order.price === undefined ? undefined : Decimal.of(order.price),
  };
}

function reportOf(order: Order): OrderReport {
  return {
    clientOrderId: order.clientOrderId,
    botId: order.botId,
    exchangeId: order.exchangeId,
    accountId: order.accountId,
    symbol: order.symbol,
    side: order.side,
    quantity: Decimal.of(order.quantity),
    price: order.price === null ? null : Decimal.of(order.price),
    state: order.state,
    filled: Decimal.of(order.filled),
  };
}

const ORDER_EVENTS = [OrderAcceptedEvt, OrderRejectedEvt, OrderUnknownEvt, OrderSettledEvt, OrderLostEvt] as const;

/**
 * The exposure book of this replica, fed from the AUDIT stream: every order event of the gateway
 * (the subject family of OrderAcceptedEvt), through a JetStream ordered consumer of this replica's own, from the start
 * of the stream; and the other replicas' approvals (OrderApprovedEvt), seen on core NATS as they are
 * published (they are in the stream too, for the audit trail).
 *
 * Why the gateway's events from the stream: at most once is not good enough for them. A missed cancel
 * would only over-count (fail closed), but a missed fill would under-count — a position the limits
 * never see — and a restarted replica would start from nothing. The ordered consumer delivers every
 * event in stream order, detects gaps and resumes where it stopped after a reconnect; starting from the
 * stream's beginning rebuilds positions and open orders after a restart. Until it has read up to the
 * stream's end (start-up, or after a disconnect), `known` is false and orders are denied
 * EXPOSURE_UNKNOWN. Each replica consumes every event: no queue group here.
 *
 * Why the approvals on core NATS: an approval only bridges the few milliseconds until the gateway's
 * own event of that order (accepted, rejected, refused), which the stream delivers anyway; missing one
 * (a disconnect, a restart) leaves the order uncounted by that replica for those milliseconds — the
 * same gap as a replica's normal lag. Consuming them through the stream instead, one per order, was
 * the largest cost of a check (bench/risk-check: p99 ~20 ms against ~7 ms at 1,000 checks/s).
 *
 * The same events feed the PnL ledger (every fill, once per trade: positions, PnL, peaks) and the
 * runaway counts (each bot's fills, from the stream, and the denials of its orders, seen on core NATS
 * like the approvals: a restart forgets the last minute's). Once the stream is read up to now, each
 * new fill or counted denial is told to the listeners (the loss-limit watch); events replayed at
 * start-up are not.
 */
@Injectable()
export class ExposureFeed implements OnApplicationShutdown {
  readonly book: ExposureBook;
  /** Positions and PnL per bot (and manual orders) × exchange × instrument, from every fill. */
  readonly ledger = new PnlLedger();
  /** Each bot's fills and counted denials of the last minute (runaway bot). */
  readonly activity = new BotActivity();
  private readonly listeners: Array<(botId: string | null) => void> = [];
  private consumer?: Consumer;
  private messages?: ConsumerMessages;
  private isKnown = false;
  private lastSequence = 0;
  /** The consumer (the ordered consumer recreates itself under a new name) and its delivery sequence of the last event applied. */
  private lastDelivered?: { consumer: string; sequence: number };
  private stopped = false;
  private caughtUp?: () => void;
  private sweeping?: PeriodicTask;
  private readonly log: ContextLogger;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly bus: MessageBus,
    @Inject(SERVICE_CONFIG) private readonly config: RiskConfig,
    private readonly prices: MarketPrices,
    logger: JsonLogger,
  ) {
    this.log = logger.child('exposure-feed');
    this.book = new ExposureBook({
      approvalTtlMs: config.APPROVAL_TTL_MS,
      tombstoneTtlMs: config.ENDED_ORDER_TTL_MS,
      recentWindowMs: Math.max(MESSAGE_RATE_WINDOW_MS, config.DUPLICATE_ORDER_WINDOW_MS) + 1000,
    });
  }

  /** True once the stream has been read up to its end since the last (re)connect. */
  get known(): boolean {
    return this.isKnown;
  }

  /**
   * `listener` is called after each fill or counted denial applied once the stream is read up to now (not
   * for the replay), with the bot whose figures or counts it moved (null: a manual order's fill).
   */
  onActivity(listener: (botId: string | null) => void): void {
    this.listeners.push(listener);
  }

  /** Starts consuming; resolves once caught up with the stream (or after EXPOSURE_CATCH_UP_TIMEOUT_MS, still unknown). */
  async start(): Promise<void> {
    const { topology } = this.bus;
    // Every order event of the gateway: the subject family of OrderAcceptedEvt.
    const accepted = topology.subject(OrderAcceptedEvt);
    this.consumer = await jetstream(this.nc).consumers.get(topology.auditStream, {
      filter_subjects: `${accepted.slice(0, accepted.lastIndexOf('.'))}.>`,
      deliver_policy: DeliverPolicy.All,
    });
    // The other replicas' approvals: this replica counted its own when it made them.
    this.bus.observe(OrderApprovedEvt, (p) => this.book.approve(bookOrderOf(p.order), Date.now(), Decimal.of(p.referencePrice)), undefined, {
      othersOnly: true,
    });
    this.bus.observe(OrderDeniedEvt, (p) => {
      if (p.order.botId === undefined || !countsAsRunawayDenial(p.reason)) return;
      this.activity.recordDenial(p.order.botId, Date.now());
      this.notify(p.order.botId);
    });
    const caughtUp = new Promise<void>((resolve) => (this.caughtUp = resolve));
    const info = await this.consumer.info(true);
    this.messages = await this.consumer.consume();
    if (info.num_pending === 0) this.setKnown(true);
    void this.run(this.messages);
    void this.followConnection();
    this.sweeping = runEvery(
      5000,
      () => {
        this.book.sweep(Date.now());
        this.activity.sweep(Date.now());
        return Promise.resolve();
      },
      (err) => this.log.error('exposure sweep failed', errorFields(err)),
    );
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([caughtUp, new Promise<void>((resolve) => (timer = setTimeout(resolve, this.config.EXPOSURE_CATCH_UP_TIMEOUT_MS)))]);
    clearTimeout(timer);
    if (!this.isKnown) this.log.warn('order events not read up to now yet: orders are denied EXPOSURE_UNKNOWN until they are');
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.setKnown(false);
    await this.sweeping?.stop();
    await this.messages?.close();
  }

  private setKnown(known: boolean): void {
    if (this.isKnown === known) return;
    this.isKnown = known;
    if (known) {
      this.book.sweep(Date.now());
      this.log.info('order events read up to now', { streamSequence: this.lastSequence, countedOrders: this.book.countedOrders() });
      this.caughtUp?.();
    } else if (!this.stopped) {
      this.log.warn('order events not known up to now: denying orders EXPOSURE_UNKNOWN');
    }
  }

  private async run(messages: ConsumerMessages): Promise<void> {
    try {
      for await (const msg of messages) {
        this.apply(msg);
        this.lastSequence = msg.seq;
        this.lastDelivered = { consumer: msg.info.consumer, sequence: msg.info.deliverySequence };
        if (msg.info.pending === 0) this.setKnown(true);
      }
    } catch (err) {
      if (!this.stopped) this.log.error('the order-event consumer stopped', errorFields(err));
    }
    if (!this.stopped) {
      // The ordered consumer gave up for good: the book can no longer be trusted.
      this.setKnown(false);
      this.log.fatal('the order-event consumer ended: orders are denied until risk-service restarts');
    }
  }

  private apply(msg: JsMsg): void {
    let env: Envelope;
    try {
      env = Envelope.parse(msg.json());
    } catch {
      this.log.warn('dropped an order event that is not an envelope', { streamSequence: msg.seq });
      return;
    }
    const at = Date.parse(env.occurredAt);
    const parse = <P>(def: { type: string; payload: { safeParse(v: unknown): { success: true; data: P } | { success: false } } }): P | undefined => {
      const parsed = def.payload.safeParse(env.payload);
      if (parsed.success) return parsed.data;
      this.log.warn(`dropped an invalid ${def.type} event`, { streamSequence: msg.seq });
      return undefined;
    };
    try {
      switch (env.type) {
        case OrderRefusedEvt.type: {
          // A refusal after an approval releases it (rate limit, too old, risk-service too slow to answer); a
          // denial never counted, and its refusal may come after the same client order id was approved again.
          const p = parse(OrderRefusedEvt);
          if (p && p.error.code !== 'RISK_DENIED') this.book.refused(p.clientOrderId);
          return;
        }
        case OrderCanceledEvt.type: {
          const p = parse(OrderCanceledEvt);
          if (p) this.book.report(reportOf(p.order), at);
          return;
        }
        case OrderFilledEvt.type: {
          const p = parse(OrderFilledEvt);
          if (!p) return;
          this.book.fill(reportOf(p.order), { tradeId: p.fill.tradeId, quantity: Decimal.of(p.fill.quantity), price: Decimal.of(p.fill.price) }, at);
          if (this.recordFill(p.order, p.fill)) this.notify(p.order.botId);
          return;
        }
        default: {
          const def = ORDER_EVENTS.find((d) => d.type === env.type);
          const p = def && parse(def);
          if (p) this.book.report(reportOf(p), at);
        }
      }
    } catch (err) {
      this.log.error('could not apply an order event', { type: env.type, streamSequence: msg.seq, ...errorFields(err) });
    }
  }

  /**
   * A fill into the ledger (at the venue's time of the execution: a gateway that publishes late fills in
   * a burst, after a restart, is not a runaway bot) and into its bot's count; false when already applied.
   * A fee in a third currency is valued at that currency's price in quote when a ticker of it is known.
   */
  private recordFill(order: Order, fill: Fill): boolean {
    const at = Date.parse(fill.at);
    const [base, quote] = order.symbol.split('/');
    const feeCurrency = fill.feeCurrency;
    const feeCurrencyPrice =
      feeCurrency && feeCurrency !== base && feeCurrency !== quote ? this.prices.priceOf(order.exchangeId, `${feeCurrency}/${quote}`) : undefined;
    const applied = this.ledger.apply({
      tradeId: fill.tradeId,
      clientOrderId: order.clientOrderId,
      botId: order.botId,
      exchangeId: order.exchangeId,
      symbol: order.symbol,
      side: order.side,
      price: Decimal.of(fill.price),
      quantity: Decimal.of(fill.quantity),
      fee: Decimal.of(fill.fee),
      feeCurrency,
      at,
      feeCurrencyPrice,
    });
    if (applied && order.botId !== null) this.activity.recordFill(order.botId, at);
    return applied;
  }

  private notify(botId: string | null): void {
    if (!this.isKnown) return;
    for (const listener of this.listeners) listener(botId);
  }

  /** A dropped connection makes the book unknown at once; after a reconnect it is known again once the consumer has caught up. */
  private async followConnection(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (this.stopped) return;
      if (status.type === 'disconnect') this.setKnown(false);
      else if (status.type === 'reconnect') void this.confirmCaughtUp();
    }
  }

  private async confirmCaughtUp(): Promise<void> {
    while (!this.stopped && !this.isKnown && !this.nc.isClosed()) {
      try {
        const info = await this.consumer!.info();
        // Nothing left to deliver, and everything delivered applied: by delivery sequence, as the consumer's
        // stream sequence moves on over the events its filter skips.
        const { consumer_seq: delivered } = info.delivered;
        const applied = this.lastDelivered?.consumer === info.name ? this.lastDelivered.sequence : 0;
        if (info.num_pending === 0 && delivered <= applied) {
          this.setKnown(true);
          return;
        }
      } catch {
        // The ordered consumer is being recreated: ask again.
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
