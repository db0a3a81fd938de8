import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Why a message of the AUDIT stream was refused (bounded label values). */
export type PoisonReason = 'unparseable' | 'invalid-envelope' | 'unstorable' | 'max-deliveries';

@Injectable()
export class AuditMetrics {
  /** Events appended to the chain, by level (`rate()` of it: events appended per second). */
  readonly eventsAppended: Counter<'level'>;
  /** Deliveries of an event already in the chain (re-publish, redelivery after a lost ack). */
  readonly duplicatesSkipped: Counter;
  /** Deliveries after the first (a replica stopped or crashed before its ack). */
  readonly redeliveries: Counter;
  /** Messages refused and terminated, or given up by JetStream: never in the chain, always logged with their stream sequence. */
  readonly poisonMessages: Counter<'reason'>;
  /** Database writes that failed (the consumer retries them in place, in order). */
  readonly appendFailures: Counter;
  /** Verifications that found a broken chain (audit:verify, and the checks before a checkpoint, an export or a purge). */
  readonly verifyFailures: Counter;
  /** Sequence of the last row appended (the chain head). */
  readonly chainHeadSequence: Gauge;
  /** Messages of the stream not yet acked by the audit consumer; read from JetStream when scraped. */
  readonly consumerPending: Gauge;
  /** From an event's occurredAt (its producer's clock) to its append: how far the trail is behind. */
  readonly appendDelay: Histogram;
  /** The latest signed checkpoint: its sequence, and how long ago it was signed. */
  readonly lastCheckpointSequence: Gauge;
  readonly lastCheckpointAge: Gauge;
  /** Exports signed, by format. */
  readonly exportsSigned: Counter<'format'>;
  /** Rows deleted by audit:purge (older than the retention). */
  readonly rowsPurged: Counter;

  private pendingProbe: (() => Promise<number>) | undefined;
  private lastCheckpointAt: Date | undefined;

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
    this.redeliveries = new Counter({
      name: 'garde_audit_redeliveries_total',
      help: 'Messages of the AUDIT stream delivered more than once to the audit consumer',
      registers: [registry],
    });
    this.poisonMessages = new Counter({
      name: 'garde_audit_poison_messages_total',
      help: 'Messages of the AUDIT stream refused (not an envelope, not storable) or given up after AUDIT_MAX_DELIVER deliveries, by reason',
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
    this.appendDelay = new Histogram({
      name: 'garde_audit_append_delay_seconds',
      help: "From an event's occurredAt to its append to the audit chain",
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    });
    this.lastCheckpointSequence = new Gauge({
      name: 'garde_audit_last_checkpoint_sequence',
      help: 'Sequence of the latest signed checkpoint of the audit chain',
      registers: [registry],
    });
    const lastAt = () => this.lastCheckpointAt;
    this.lastCheckpointAge = new Gauge({
      name: 'garde_audit_last_checkpoint_age_seconds',
      help: 'Seconds since the latest checkpoint of the audit chain was signed (absent before the first)',
      registers: [registry],
      collect() {
        const at = lastAt();
        if (at) this.set((Date.now() - at.getTime()) / 1000);
      },
    });
    this.exportsSigned = new Counter({
      name: 'garde_audit_exports_total',
      help: 'Audit exports signed, by format',
      labelNames: ['format'],
      registers: [registry],
    });
    this.rowsPurged = new Counter({
      name: 'garde_audit_purged_rows_total',
      help: 'Audit rows deleted by audit:purge (older than the retention)',
      registers: [registry],
    });
  }

  /** Where the pending gauge reads its value (the consumer, once it exists). */
  setPendingProbe(probe: (() => Promise<number>) | undefined): void {
    this.pendingProbe = probe;
  }

  observeAppended(rows: Array<{ level: string; occurredAt: Date; recordedAt: Date }>): void {
    for (const row of rows) {
      this.eventsAppended.inc({ level: row.level });
      this.appendDelay.observe(Math.max(0, (row.recordedAt.getTime() - row.occurredAt.getTime()) / 1000));
    }
  }

  observeCheckpoint(cp: { sequence: number; signedAt: Date }): void {
    this.lastCheckpointSequence.set(cp.sequence);
    this.lastCheckpointAt = cp.signedAt;
  }
}
