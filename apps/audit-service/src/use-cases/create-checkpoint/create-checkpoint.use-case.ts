import { Injectable } from '@nestjs/common';
import { JsonLogger, type ContextLogger } from '@garde/platform';
import { AuditMetrics } from '../../metrics/audit.metrics.js';
import { AuditCheckpointRepository, type StoredCheckpoint } from '../../persistence/audit-checkpoint.repository.js';
import { AuditEventRepository } from '../../persistence/audit-event.repository.js';
import { AuditSigner } from '../../signing/audit-signer.js';
import { checkpointStatement } from '../verify-audit-chain/checkpoint-statement.js';
import { VerifyAuditChain } from '../verify-audit-chain/verify-audit-chain.use-case.js';

/**
 * Signs the chain head, once the rows since the last checkpoint (and that checkpoint's own row) verify:
 * the service never signs a head it has not checked, so a row rewritten and re-hashed after a checkpoint
 * contradicts a signature made with a key that is not in the database.
 */
@Injectable()
export class CreateCheckpoint {
  private readonly log: ContextLogger;

  constructor(
    private readonly events: AuditEventRepository,
    private readonly checkpoints: AuditCheckpointRepository,
    private readonly verify: VerifyAuditChain,
    private readonly signer: AuditSigner,
    private readonly metrics: AuditMetrics,
    logger: JsonLogger,
  ) {
    this.log = logger.child('audit-checkpoint');
  }

  /** The new checkpoint, or null when the head has not moved (or does not verify: logged, counted, nothing signed). */
  async execute(now = new Date()): Promise<StoredCheckpoint | null> {
    const head = await this.events.head();
    const last = await this.checkpoints.latest();
    if (last) this.metrics.observeCheckpoint(last);
    if (!head || (last && last.sequence >= head.sequence)) return null;
    const verdict = await this.verify.execute({ fromSequence: last?.sequence ?? 1, toSequence: head.sequence }, now);
    if (!verdict.valid) {
      this.log.error('the audit chain does not verify: no checkpoint signed (run bin/console audit:verify, RB-013)', {
        firstBadSequence: verdict.firstBadSequence,
        problem: verdict.problem,
      });
      return null;
    }
    const { keyId, publicKey } = this.signer.identity;
    const unsigned = { sequence: head.sequence, head: head.hash, signedAt: now, keyId };
    const checkpoint: StoredCheckpoint = { ...unsigned, publicKey, signature: this.signer.sign('garde-audit-checkpoint-v1', checkpointStatement(unsigned)) };
    if (!(await this.checkpoints.insert(checkpoint))) return null;
    this.metrics.observeCheckpoint(checkpoint);
    this.log.info('checkpoint signed', { sequence: checkpoint.sequence, head: checkpoint.head, keyId });
    return checkpoint;
  }
}
