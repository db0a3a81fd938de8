import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { jetstream, type Consumer, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { Envelope, OrderFilledEvt } from '@garde/contracts';
import {
  JsonLogger,
  MessageBus,
  NATS_CONNECTION,
  ServiceError,
  ensureDurableConsumer,
  errorFields,
  type ContextLogger,
  type NatsConnection,
} from '@garde/platform';
import { ReconciliationMetrics } from '../metrics/reconciliation.metrics.js';
import { RecordFill } from '../use-cases/record-fill/record-fill.use-case.js';

const ACK_WAIT_MS = 30_000;
/** Fills delivered and not acked yet, at most (the consumer's max_ack_pending). */
const MAX_IN_HAND = 256;
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 30_000;

/**
 * The ledger's fills: a durable JetStream consumer of the AUDIT stream, filtered on the fill events
 * (OrderFilledEvt), with explicit acks — a fill is acked only once PostgreSQL has it, so none is lost
 * to a crash or a database outage; one delivered again (after a crash between commit and ack) is a
 * duplicate the ledger ignores. Every replica binds to the same durable consumer: each fill goes to
 * one of them. `pending()` says how many fills are not recorded yet, for every replica alike, so a
 * reconciliation can tell a fill in flight from a drift.
 */
@Injectable()
export class LedgerFeed implements OnModuleDestroy {
  private consumer?: Consumer;
  private messages?: ConsumerMessages;
  private loop?: Promise<void>;
  private stopping = false;
  private readonly log: ContextLogger;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly bus: MessageBus,
    private readonly recordFill: RecordFill,
    private readonly metrics: ReconciliationMetrics,
    logger: JsonLogger,
  ) {
    this.log = logger.child('ledger-feed');
  }

  async start(): Promise<void> {
    const { topology } = this.bus;
    await ensureDurableConsumer(this.nc, topology.auditStream, topology.ledgerConsumer, {
      filter_subject: topology.subject(OrderFilledEvt),
      ack_wait: ACK_WAIT_MS * 1_000_000,
      max_ack_pending: MAX_IN_HAND,
    });
    this.consumer = await jetstream(this.nc).consumers.get(topology.auditStream, topology.ledgerConsumer);
    this.metrics.setPendingProbe(() => this.pending());
    this.messages = await this.consumer.consume({ max_messages: 64 });
    this.loop = this.run(this.messages).catch((err: unknown) => {
      if (!this.stopping) this.log.fatal('the ledger consumer stopped: fills are no longer recorded until risk-service restarts', errorFields(err));
    });
    this.log.info('consuming fills', { stream: topology.auditStream, consumer: topology.ledgerConsumer });
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    this.metrics.setPendingProbe(undefined);
    await this.messages?.close();
    await this.loop;
  }

  /** Fills published but not recorded yet (waiting, or delivered and not acked). */
  async pending(): Promise<number> {
    if (!this.consumer) throw new Error('the ledger consumer is not started');
    const info = await this.consumer.info();
    return info.num_pending + info.num_ack_pending;
  }

  /** Waits until every fill published so far is recorded; false when `timeoutMs` passes first (or the stream cannot be asked). */
  async waitCaughtUp(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        if ((await this.pending()) === 0) return true;
      } catch (err) {
        this.log.warn('could not ask the ledger consumer how far it is', errorFields(err));
      }
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * Fills are handled as they come, not one after the other: those arriving together are booked by one
   * statement (LedgerRepository). At most max_ack_pending are in hand at once (the server holds back the
   * rest until some are acked); on stop, the ones in hand finish first.
   */
  private async run(messages: ConsumerMessages): Promise<void> {
    const inHand = new Set<Promise<void>>();
    try {
      for await (const msg of messages) {
        if (this.stopping) {
          msg.nak();
          continue;
        }
        const handled: Promise<void> = this.handle(msg)
          .catch((err: unknown) => this.log.error('a fill was left unacked (it comes again)', { streamSequence: msg.info.streamSequence, ...errorFields(err) }))
          .finally(() => inHand.delete(handled));
        inHand.add(handled);
      }
    } finally {
      await Promise.all(inHand);
    }
  }

  /** Acks once recorded; refuses for good (term) what is not a fill; retries a database failure, holding the message. */
  private async handle(msg: JsMsg): Promise<void> {
    const env = Envelope.safeParse(safeJson(msg));
    const payload = env.success && env.data.type === OrderFilledEvt.type ? OrderFilledEvt.payload.safeParse(env.data.payload) : undefined;
    if (!env.success || !payload?.success) {
      this.metrics.ledgerFills.inc({ outcome: 'invalid' });
      this.log.error('refused a message of the fill subject that is not a valid OrderFilledEvt', { streamSequence: msg.info.streamSequence });
      msg.term();
      return;
    }
    let delay = FIRST_RETRY_MS;
    for (;;) {
      try {
        await this.recordFill.execute(payload.data, { ...env.data, payload: payload.data });
        msg.ack();
        return;
      } catch (err) {
        if (err instanceof ServiceError && err.code === 'INVALID_REQUEST') {
          this.metrics.ledgerFills.inc({ outcome: 'invalid' });
          this.log.error('refused a fill the ledger cannot book', { streamSequence: msg.info.streamSequence, ...errorFields(err) });
          msg.term();
          return;
        }
        this.log.error('could not record a fill; retrying', { streamSequence: msg.info.streamSequence, ...errorFields(err) });
      }
      if (this.stopping) {
        msg.nak();
        return;
      }
      await new Promise((r) => setTimeout(r, delay));
      msg.working();
      delay = Math.min(delay * 2, MAX_RETRY_MS);
    }
  }
}

function safeJson(msg: JsMsg): unknown {
  try {
    return msg.json();
  } catch {
    return undefined;
  }
}
