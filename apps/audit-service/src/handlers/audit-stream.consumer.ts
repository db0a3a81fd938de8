import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Subscription } from '@nats-io/transport-node';
import { jetstream, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import {
  JsonLogger,
  MessageBus,
  NATS_CONNECTION,
  SERVICE_CONFIG,
  ensureDurableConsumer,
  errorFields,
  type ContextLogger,
  type NatsConnection,
} from '@garde/platform';
import type { AuditConfig } from '../config/audit.config.js';
import { AuditMetrics } from '../metrics/audit.metrics.js';
import { AuditEventRepository } from '../persistence/audit-event.repository.js';
import { AppendAuditEvents, type AppendOutcome } from '../use-cases/append-audit-events/append-audit-events.use-case.js';
import { parseAuditMessage, type ParsedAuditMessage } from '../use-cases/append-audit-events/audit-message.js';

const MAX_RETRY_DELAY_MS = 60_000;

/** A message received and parsed, waiting to be appended. */
interface InHand {
  msg: JsMsg;
  parsed: ParsedAuditMessage;
}

/**
 * The JetStream boundary: a durable pull consumer of the AUDIT stream with explicit acks. Messages are
 * appended in batches (whatever has arrived, up to AUDIT_BATCH_SIZE), acked only after the commit.
 * It starts once the app is up and stops before NATS is drained (Nest runs onModuleDestroy first).
 */
@Injectable()
export class AuditStreamConsumer implements OnApplicationBootstrap, OnModuleDestroy {
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  /** Messages received (parsed as they arrive), not yet being appended. */
  private readonly inHand: InHand[] = [];
  /** The receiving loop waits for room in hand: called when the writer takes a batch. */
  private roomInHand: (() => void) | undefined;
  private appendScheduled = false;
  /** The batches being appended, in order. */
  private appending: Promise<void> = Promise.resolve();
  private advisories: Subscription | undefined;
  private readonly log: ContextLogger;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly bus: MessageBus,
    @Inject(SERVICE_CONFIG) private readonly config: AuditConfig,
    private readonly append: AppendAuditEvents,
    private readonly repository: AuditEventRepository,
    private readonly metrics: AuditMetrics,
    logger: JsonLogger,
  ) {
    this.log = logger.child('audit-consumer');
  }

  async onApplicationBootstrap(): Promise<void> {
    this.metrics.chainHeadSequence.set((await this.repository.head())?.sequence ?? 0);
    const { auditStream, auditConsumer } = this.bus.topology;
    await ensureDurableConsumer(this.nc, auditStream, auditConsumer, {
      max_deliver: this.config.AUDIT_MAX_DELIVER,
      ack_wait: this.config.AUDIT_ACK_WAIT_MS * 1_000_000,
      // More in flight than one batch, so the next batch is already here when a commit ends.
      max_ack_pending: this.config.AUDIT_BATCH_SIZE * 10,
    });
    const consumer = await jetstream(this.nc).consumers.get(auditStream, auditConsumer);
    this.metrics.setPendingProbe(async () => {
      const info = await consumer.info();
      return info.num_pending + info.num_ack_pending;
    });
    this.watchMaxDeliveries(auditStream, auditConsumer);
    this.messages = await consumer.consume({ max_messages: this.config.AUDIT_BATCH_SIZE });
    this.loop = this.run(this.messages).catch((err: unknown) => {
      // The iterator only fails when the consumer is gone for good: a deaf audit-service must be restarted.
      if (!this.stopping) this.log.fatal('the audit consumer stopped', errorFields(err));
    });
    this.log.info('consuming', { stream: auditStream, consumer: auditConsumer });
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    this.metrics.setPendingProbe(undefined);
    this.advisories?.unsubscribe();
    await this.messages?.close();
    await this.loop;
  }

  /**
   * JetStream stops delivering a message after AUDIT_MAX_DELIVER deliveries and says so only in an
   * advisory: such a message is not in the trail, so it is counted as poison and logged with its stream
   * sequence (it stays in the stream, where `nats stream get` finds it), never silently dropped.
   */
  private watchMaxDeliveries(stream: string, consumer: string): void {
    const subject = `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${stream}.${consumer}`;
    this.advisories = this.nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return;
        let advisory: { stream_seq?: number; deliveries?: number } = {};
        try {
          advisory = msg.json();
        } catch {
          // Counted all the same.
        }
        this.metrics.poisonMessages.inc({ reason: 'max-deliveries' });
        this.log.error('JetStream gave up delivering a message of the AUDIT stream: it is not in the audit trail', {
          stream,
          streamSequence: advisory.stream_seq,
          deliveries: advisory.deliveries,
        });
      },
    });
  }

  /**
   * Messages are parsed as they arrive (while the batch before them is being written: CPU here, the
   * database there), and appended at the end of the event loop's turn in which they arrived (what came
   * in one read of the socket goes in one batch; a single event when it is quiet), or as soon as the
   * batch before is written when they keep coming: up to AUDIT_BATCH_SIZE being written and as many in
   * hand, then the loop waits. Batches are appended one after the other, in arrival order. (Asking the
   * iterator whether more is pending does not work: with nats.js 3.4 it can answer 1 for the last message
   * of a burst, which then waited for its redelivery, AUDIT_ACK_WAIT_MS later.)
   */
  private async run(messages: ConsumerMessages): Promise<void> {
    for await (const msg of messages) {
      if (this.stopping) {
        // Not processed: give it straight back so that another replica (or the next start) takes it.
        msg.nak();
        continue;
      }
      if (msg.info.deliveryCount > 1) this.metrics.redeliveries.inc();
      this.inHand.push({ msg, parsed: parseAuditMessage(msg.data) });
      if (!this.appendScheduled) {
        this.appendScheduled = true;
        setImmediate(() => {
          this.appendScheduled = false;
          void this.appendInHand();
        });
      }
      if (this.inHand.length >= this.config.AUDIT_BATCH_SIZE) await new Promise<void>((resolve) => (this.roomInHand = resolve));
    }
    await this.appending;
    for (const { msg } of this.inHand.splice(0)) msg.nak();
  }

  /** Appends the messages in hand, a batch at a time, after the batches already being appended. */
  private appendInHand(): Promise<void> {
    this.appending = this.appending
      .then(async () => {
        while (this.inHand.length > 0) {
          const batch = this.inHand.splice(0, this.config.AUDIT_BATCH_SIZE);
          this.roomInHand?.();
          this.roomInHand = undefined;
          await this.flush(batch);
        }
      })
      .catch((err: unknown) => this.log.error('appending a batch failed; its messages come back after AUDIT_ACK_WAIT_MS', errorFields(err)));
    return this.appending;
  }

  /**
   * Appends a batch; what could not be written (PostgreSQL down, a constraint) is retried here, in
   * order, with a growing delay, the messages kept in hand (`working()` holds their ack deadline), so
   * that an outage burns no delivery attempts and loses nothing. Only a shutdown hands them back.
   */
  private async flush(batch: InHand[]): Promise<void> {
    let waiting = batch;
    let delay = this.config.AUDIT_RETRY_DELAY_MS;
    for (;;) {
      const outcomes = await this.appendOnce(waiting);
      const retry: InHand[] = [];
      waiting.forEach((one, i) => {
        const outcome = outcomes[i] ?? { status: 'retry', error: 'no outcome' };
        if (outcome.status === 'retry') retry.push(one);
        else this.settle(one.msg, outcome);
      });
      if (retry.length === 0) return;
      if (this.stopping) {
        for (const { msg } of retry) msg.nak();
        return;
      }
      waiting = retry;
      await new Promise((resolve) => setTimeout(resolve, delay));
      for (const { msg } of waiting) msg.working();
      delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS);
    }
  }

  private async appendOnce(batch: InHand[]): Promise<AppendOutcome[]> {
    try {
      return await this.append.execute(
        batch.map(({ msg }) => ({ data: msg.data, subject: msg.subject, streamSequence: msg.info.streamSequence, deliveryCount: msg.info.deliveryCount })),
        batch.map((one) => one.parsed),
      );
    } catch (err) {
      this.log.error('could not process a batch of the AUDIT stream; retrying', errorFields(err));
      return batch.map(() => ({ status: 'retry', error: String(err) }));
    }
  }

  private settle(msg: JsMsg, outcome: Exclude<AppendOutcome, { status: 'retry' }>): void {
    if (outcome.status === 'poison') {
      // Never redelivered; the use case has logged it with its stream sequence and counted it.
      msg.term();
      return;
    }
    msg.ack();
  }
}
