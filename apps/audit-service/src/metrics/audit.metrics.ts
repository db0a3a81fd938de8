import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Registry } from 'prom-client';
import type { EventLevel } from '@garde/contracts';

/** Why a message of the AUDIT stream was refused (bounded label values). */
export type PoisonReason = 'unparseable' | 'invalid-envelope' | 'unstorable';

@Injectable()
export class AuditMetrics {
  /** Events appended to the chain, by level. */
  readonly eventsAppended: Counter<'level'>;
  /** Deliveries of an event already in the chain (re-publish, redelivery after a lost ack). */
  readonly duplicatesSkipped: Counter;
  /** Messages refused and terminated: never in the chain, always logged with their stream sequence. */
  readonly poisonMessages: Counter<'reason'>;
  /** Database writes that failed (the consumer retries them in place, in order). */
  readonly appendFailures: Counter;
  /** Verifications that found a broken chain. */
  readonly verifyFailures: Counter;
  /** Sequence of the last row appended (the chain head). */
  readonly chainHeadSequence: Gauge;
  /** Messages of the stream not yet acked by the audit consumer; read from JetStream when scraped. */
  readonly consumerPending: Gauge;

  private pendingProbe: (() => Promise<number>) | undefined;

  constructor(registry: Registry) {
    this.eventsAppended = new Counter({
      name: 'garde_audit_events_appended_total',
      help: 'Events appended to the audit chain, by level',
      labelNames: ['level'],
      registers: [registry],
    });
    this.duplicatesSkipped = new Counter({
      name: 'garde_audit_duplicates_skipped_total',
      help: 'Deliveries skipped because their messageId is already in the audit chain',
      registers: [registry],
    });
    this.poisonMessages = new Counter({
      name: 'garde_audit_poison_messages_total',
      help: 'Messages of the AUDIT stream refused (not an envelope, or not storable), by reason',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.appendFailures = new Counter({
      name: 'garde_audit_append_failures_total',
      help: 'Database writes of the audit chain that failed (and are retried)',
      registers: [registry],
    });
    this.verifyFailures = new Counter({ name: 'garde_audit_verify_failures_total', help: 'Chain verifications that found a bad row', registers: [registry] });
    this.chainHeadSequence = new Gauge({ name: 'garde_audit_chain_head_sequence', help: 'Sequence of the last row of the audit chain', registers: [registry] });
    // collect() runs with the gauge as `this`; it reaches the probe through this closure.
    const readProbe = () => this.pendingProbe;
    this.consumerPending = new Gauge({
      name: 'garde_audit_consumer_pending',
      help: 'Messages of the AUDIT stream not yet acked by the audit-service consumer (undelivered + unacked)',
      registers: [registry],
      async collect() {
        const probe = readProbe();
        if (!probe) return;
        try {
          this.set(await probe());
        } catch {
          // A failed probe leaves the last value; the scrape must not fail because NATS is slow.
        }
      },
    });
  }

  /** Where the pending gauge reads its value (the consumer, once it exists). */
  setPendingProbe(probe: (() => Promise<number>) | undefined): void {
    this.pendingProbe = probe;
  }

  observeAppended(levels: EventLevel[]): void {
    for (const level of levels) this.eventsAppended.inc({ level });
  }
}
