import { Inject, Injectable } from '@nestjs/common';
import { AuditTrailPurgedEvt, type Actor, type AuditPurgeResult } from '@garde/contracts';
import { JsonLogger, MessageBus, SERVICE_CONFIG, errorFields } from '@garde/platform';
import type { AuditConfig } from '../../config/audit.config.js';
import { AuditException } from '../../errors/audit.exception.js';
import { AuditMetrics } from '../../metrics/audit.metrics.js';
import { AuditCheckpointRepository } from '../../persistence/audit-checkpoint.repository.js';
import { AuditEventRepository } from '../../persistence/audit-event.repository.js';
import { VerifyAuditChain } from '../verify-audit-chain/verify-audit-chain.use-case.js';

const DAY_MS = 86_400_000;

export interface PurgeRequest {
  before: string;
  reason: string;
  dryRun: boolean;
}

/** Who asked, and the request's story (for the purge event). */
export interface PurgeContext {
  actor: Actor | undefined;
  actorId: string;
  correlationId: string;
  causationId: string;
}

/**
 * Deletes the start of the chain, rows older than the retention only, through the latest signed
 * checkpoint signed before the cutoff: the kept chain then starts from that checkpoint (verify anchors
 * there). The rows to go are verified first (a broken chain is evidence: nothing is purged); the delete
 * is audit_purge() in the database, the one path past the append-only trigger; the purge is recorded
 * in audit_purge and announced in the trail itself (AuditTrailPurgedEvt).
 */
@Injectable()
export class PurgeAuditTrail {
  constructor(
    private readonly events: AuditEventRepository,
    private readonly checkpoints: AuditCheckpointRepository,
    private readonly verify: VerifyAuditChain,
    private readonly bus: MessageBus,
    private readonly metrics: AuditMetrics,
    @Inject(SERVICE_CONFIG) private readonly config: AuditConfig,
    private readonly logger: JsonLogger,
  ) {}

  async execute(request: PurgeRequest, ctx: PurgeContext, now = new Date()): Promise<AuditPurgeResult> {
    const retentionDays = this.config.AUDIT_RETENTION_DAYS;
    const earliest = new Date(now.getTime() - retentionDays * DAY_MS);
    const cutoff = new Date(request.before);
    if (cutoff > earliest) {
      throw new AuditException(
        'RETENTION_NOT_REACHED',
        `rows younger than the retention (${retentionDays} days) are kept: --before must be at or before ${earliest.toISOString()}`,
        { retentionDays, latestAllowedBefore: earliest.toISOString() },
      );
    }
    const base = { dryRun: request.dryRun, retentionDays, cutoff: cutoff.toISOString() };
    const none = (note: string): AuditPurgeResult => ({ ...base, rows: 0, fromSequence: null, throughSequence: null, anchor: null, note });
    const first = await this.events.firstSequence();
    if (first === null) return none('the audit trail is empty');
    const anchor = await this.checkpoints.latestSignedBefore(cutoff, first);
    if (!anchor) {
      return none(`no checkpoint signed before ${cutoff.toISOString()} at or after sequence ${first}: nothing can go while keeping the chain verifiable`);
    }
    // The rows that go must verify up to the checkpoint (included): a broken chain is evidence, kept.
    const verdict = await this.verify.execute({ fromSequence: first, toSequence: anchor.sequence }, now);
    if (!verdict.valid) {
      throw new AuditException(
        'AUDIT_CHAIN_BROKEN',
        `the audit chain does not verify at sequence ${verdict.firstBadSequence} (${verdict.problem}): nothing purged, the rows are evidence`,
        { firstBadSequence: verdict.firstBadSequence, problem: verdict.problem },
      );
    }
    const result: AuditPurgeResult = {
      ...base,
      rows: anchor.sequence - first + 1,
      fromSequence: first,
      throughSequence: anchor.sequence,
      anchor: { sequence: anchor.sequence, head: anchor.head, signedAt: anchor.signedAt.toISOString(), keyId: anchor.keyId },
    };
    if (request.dryRun) return result;

    const rows = await this.checkpoints.purge(anchor.sequence, cutoff, ctx.actorId, request.reason);
    this.metrics.rowsPurged.inc(rows);
    const log = this.logger.child('audit-purge');
    log.warn('audit rows purged', { fromSequence: first, throughSequence: anchor.sequence, rows, cutoff: cutoff.toISOString(), actor: ctx.actorId });
    try {
      await this.bus.publish(
        AuditTrailPurgedEvt,
        {
          fromSequence: first,
          throughSequence: anchor.sequence,
          rows,
          cutoff: cutoff.toISOString(),
          retentionDays,
          anchorHead: anchor.head,
          reason: request.reason,
        },
        { ...(ctx.actor ? { actor: ctx.actor } : {}), correlationId: ctx.correlationId, causationId: ctx.causationId },
      );
    } catch (err) {
      // The purge is done and recorded in audit_purge; only its announcement in the trail is missing.
      log.error(`could not publish ${AuditTrailPurgedEvt.type} (the purge is recorded in audit_purge)`, errorFields(err));
    }
    return { ...result, rows };
  }
}
