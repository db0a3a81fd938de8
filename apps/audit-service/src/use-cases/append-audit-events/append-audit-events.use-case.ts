import { Injectable } from '@nestjs/common';
import { chainHash, GENESIS_HASH } from '@garde/domain';
import { JsonLogger, errorFields } from '@garde/platform';
import { AuditMetrics, type PoisonReason } from '../../metrics/audit.metrics.js';
import { AuditEventRepository, type NewAuditRow } from '../../persistence/audit-event.repository.js';
import { parseAuditMessage, type AuditCandidate, type ParsedAuditMessage } from './audit-message.js';

/** One message of the AUDIT stream, as the consumer hands it over (no NATS types past the boundary). */
export interface StreamMessage {
  data: Uint8Array;
  subject: string;
  /** Position in the JetStream stream: how a refused message is found again. */
  streamSequence: number;
  deliveryCount: number;
}

/** What to tell JetStream about each message: ack (appended, duplicate), term (poison), nak (retry). */
export type AppendOutcome =
  { status: 'appended'; sequence: number } | { status: 'duplicate' } | { status: 'poison'; reason: PoisonReason } | { status: 'retry'; error: string };

interface Pending {
  index: number;
  candidate: AuditCandidate;
}

/**
 * Appends a batch of stream messages to the hash chain in one transaction: each event once (by
 * messageId), linked to the previous row. Messages that can never be events are refused, logged with
 * their stream sequence and counted; a failed write is reported `retry` for the consumer to try again.
 */
@Injectable()
export class AppendAuditEvents {
  constructor(
    private readonly repository: AuditEventRepository,
    private readonly metrics: AuditMetrics,
    private readonly logger: JsonLogger,
  ) {}

  /**
   * `parsed`: each message through parseAuditMessage, when done already (the consumer does it as messages
   * arrive, while the batch before is being written).
   */
  async execute(messages: StreamMessage[], parsed: ParsedAuditMessage[] = messages.map((m) => parseAuditMessage(m.data))): Promise<AppendOutcome[]> {
    const outcomes: AppendOutcome[] = [];
    const pending: Pending[] = [];
    messages.forEach((message, index) => {
      const one = parsed[index]!;
      if (one.ok) pending.push({ index, candidate: one.candidate });
      else outcomes[index] = this.refuse(message, one.reason, one.detail);
    });
    if (pending.length === 0) return outcomes;
    try {
      await this.appendGroup(pending, outcomes);
    } catch (err) {
      if (!isDataException(err)) {
        this.retryAll(messages, pending, outcomes, err);
        return outcomes;
      }
      // One event PostgreSQL refuses must not hold back the batch: find it by appending one at a time.
      for (const one of pending) {
        try {
          await this.appendGroup([one], outcomes);
        } catch (oneErr) {
          if (isDataException(oneErr)) outcomes[one.index] = this.refuse(messages[one.index]!, 'unstorable', errorMessage(oneErr));
          else this.retryAll(messages, [one], outcomes, oneErr);
        }
      }
    }
    return outcomes;
  }

  private async appendGroup(group: Pending[], outcomes: AppendOutcome[]): Promise<void> {
    const recordedAt = new Date();
    const { results, head, appended } = await this.repository.withChainLock(async (chain) => {
      const last = await chain.head();
      const stored = await chain.existing(group.map((p) => p.candidate.messageId));
      let sequence = last?.sequence ?? 0;
      let prevHash = last?.hash ?? GENESIS_HASH;
      const rows: NewAuditRow[] = [];
      const results: AppendOutcome[] = [];
      for (const { candidate } of group) {
        // Also catches the same event twice in one batch.
        if (stored.has(candidate.messageId)) {
          results.push({ status: 'duplicate' });
          continue;
        }
        stored.add(candidate.messageId);
        sequence += 1;
        const hash = chainHash(prevHash, candidate.canonical);
        rows.push({ ...candidate, sequence, recordedAt, prevHash, hash });
        results.push({ status: 'appended', sequence });
        prevHash = hash;
      }
      await chain.insert(rows);
      return { results, head: sequence, appended: rows };
    });
    // Only after the commit: outcomes drive the acks.
    group.forEach((p, i) => (outcomes[p.index] = results[i]!));
    this.metrics.observeAppended(appended);
    this.metrics.duplicatesSkipped.inc(group.length - appended.length);
    this.metrics.chainHeadSequence.set(head);
  }

  private refuse(message: StreamMessage, reason: PoisonReason, detail: string): AppendOutcome {
    this.metrics.poisonMessages.inc({ reason });
    this.logger.child('audit-consumer').error('refused a message of the AUDIT stream: it is not appended to the chain', {
      streamSequence: message.streamSequence,
      subject: message.subject,
      reason,
      detail,
    });
    return { status: 'poison', reason };
  }

  private retryAll(messages: StreamMessage[], group: Pending[], outcomes: AppendOutcome[], err: unknown): void {
    this.metrics.appendFailures.inc();
    this.logger.child('audit-consumer').error('could not append to the audit chain; it will be retried', {
      streamSequences: group.map((p) => messages[p.index]!.streamSequence),
      ...errorFields(err),
    });
    for (const p of group) outcomes[p.index] = { status: 'retry', error: errorMessage(err) };
  }
}

/** SQLSTATE class 22 (data exception): the content, not the database, is at fault. */
function isDataException(err: unknown): boolean {
  const code = (err as { driverError?: { code?: unknown }; code?: unknown } | null)?.driverError?.code ?? (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('22');
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
