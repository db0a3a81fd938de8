import { Inject, Injectable } from '@nestjs/common';
import type { AuditChainVerdict } from '@garde/contracts';
import { verifyChain } from '@garde/domain';
import { SERVICE_CONFIG } from '@garde/platform';
import type { AuditConfig } from '../../config/audit.config.js';
import { AuditException } from '../../errors/audit.exception.js';
import { AuditMetrics } from '../../metrics/audit.metrics.js';
import { AuditCheckpointRepository, type StoredCheckpoint } from '../../persistence/audit-checkpoint.repository.js';
import { AuditEventRepository, type ChainLink } from '../../persistence/audit-event.repository.js';
import { AuditSigner } from '../../signing/audit-signer.js';
import { checkpointStatement } from './checkpoint-statement.js';

/** Rows read per query: memory stays constant however long the chain is. */
const PAGE_SIZE = 2000;
const DAY_MS = 86_400_000;

/**
 * Walks the chain (or a range of it) in sequence order, page by page, and stops at the first bad row:
 * a gap, a broken link, a hash that does not match the canonical text, a canonical text or column that
 * does not match the stored envelope, or a row whose hash is not the one a signed checkpoint holds.
 * Every checkpoint on the way must be signed by a trusted key. After a purge the chain starts from the
 * signed checkpoint at the last purged row; a checkpoint past the last row means rows were deleted at the end.
 */
@Injectable()
export class VerifyAuditChain {
  constructor(
    private readonly repository: AuditEventRepository,
    private readonly checkpoints: AuditCheckpointRepository,
    private readonly signer: AuditSigner,
    private readonly metrics: AuditMetrics,
    @Inject(SERVICE_CONFIG) private readonly config: AuditConfig,
  ) {}

  async execute(range: { fromSequence?: number | undefined; toSequence?: number | undefined }, now = new Date()): Promise<AuditChainVerdict> {
    const verdict = await this.walk(range, now);
    if (!verdict.valid) this.metrics.verifyFailures.inc();
    return verdict;
  }

  /**
   * Why a checkpoint cannot be trusted (its signature), or does not match the row it signs (when given):
   * then rows after the previous checkpoint were rewritten and re-hashed after this one was signed.
   */
  checkpointProblem(cp: StoredCheckpoint, rowHash?: string, afterCheckpoint?: number): string | undefined {
    const signature = this.signer.problemWith('garde-audit-checkpoint-v1', checkpointStatement(cp), cp.publicKey, cp.signature);
    if (signature) return `checkpoint at sequence ${cp.sequence}: ${signature}`;
    if (rowHash !== undefined && rowHash !== cp.head) {
      const from = afterCheckpoint === undefined || afterCheckpoint < 1 ? 'up to it' : `from sequence ${afterCheckpoint + 1} to ${cp.sequence}`;
      return `hash differs from the one the checkpoint at sequence ${cp.sequence} signed: a row ${from} was rewritten and the chain re-hashed`;
    }
    return undefined;
  }

  private async walk(range: { fromSequence?: number | undefined; toSequence?: number | undefined }, now: Date): Promise<AuditChainVerdict> {
    const { fromSequence = 1, toSequence } = range;
    if (toSequence !== undefined && toSequence < fromSequence) {
      throw new AuditException('INVALID_REQUEST', `toSequence (${toSequence}) is before fromSequence (${fromSequence})`);
    }
    const first = await this.repository.firstSequence();
    if (first === null) {
      const latest = toSequence === undefined ? await this.checkpoints.latest() : null;
      if (latest) {
        return {
          valid: false,
          checked: 0,
          head: null,
          firstBadSequence: 1,
          problem: `the chain is empty, but a checkpoint signed row ${latest.sequence}: rows were deleted`,
        };
      }
      return { valid: true, checked: 0, head: null, checkpointsChecked: 0, lastCheckpoint: null };
    }
    const start = Math.max(fromSequence, first);
    let checkpointsChecked = 0;
    const broken = (count: number, head: string | null, firstBadSequence: number, problem: string): AuditChainVerdict => ({
      valid: false,
      checked: count,
      head,
      firstBadSequence,
      problem,
      firstSequence: start,
      checkpointsChecked,
    });
    // A range starting later trusts the row before it; the whole chain trusts GENESIS_HASH, or after a
    // purge the signed checkpoint at the last purged row.
    let previous: ChainLink | undefined;
    if (start > first) {
      previous = (await this.repository.linkAt(start - 1)) ?? undefined;
      if (!previous) return broken(0, null, start - 1, `row ${start - 1} is missing`);
    } else if (first > 1) {
      const anchor = await this.purgeAnchor(first, now);
      if ('problem' in anchor) return broken(0, null, first, anchor.problem);
      previous = anchor.link;
    }
    let checked = 0;
    let lastCheckpoint: StoredCheckpoint | null = null;
    let afterSequence = start - 1;
    for (;;) {
      const rows = await this.repository.chainPage(afterSequence, toSequence, PAGE_SIZE);
      if (rows.length === 0) break;
      // First the links and hashes, then (in SQL, over the rows that verified) the envelope and columns
      // against the canonical text, and the checkpoints in the page: the earliest problem is reported.
      const chain = verifyChain(rows, previous);
      const good = chain.ok ? rows.length : chain.checked;
      const problems: Array<{ sequence: number; problem: string }> = chain.ok ? [] : [{ sequence: chain.badSequence, problem: chain.reason }];
      if (good > 0) {
        const pageFirst = rows[0]!.sequence;
        const mismatch = await this.repository.firstContentMismatch(pageFirst, pageFirst + good - 1);
        if (mismatch) problems.push({ sequence: mismatch.sequence, problem: describeMismatch(mismatch.columns) });
        let previousCheckpoint = lastCheckpoint?.sequence;
        for (const cp of await this.checkpoints.between(pageFirst, pageFirst + good - 1)) {
          const problem = this.checkpointProblem(cp, rows[cp.sequence - pageFirst]!.hash, previousCheckpoint);
          if (problem) {
            problems.push({ sequence: cp.sequence, problem });
            break;
          }
          previousCheckpoint = cp.sequence;
          if (mismatch && cp.sequence >= mismatch.sequence) continue;
          checkpointsChecked += 1;
          lastCheckpoint = cp;
        }
      }
      const first = problems.sort((a, b) => a.sequence - b.sequence)[0];
      if (first) {
        const index = first.sequence - rows[0]!.sequence;
        return broken(checked + index, index > 0 ? rows[index - 1]!.hash : (previous?.hash ?? null), first.sequence, first.problem);
      }
      checked += rows.length;
      const last = rows[rows.length - 1]!;
      previous = { sequence: last.sequence, hash: last.hash };
      afterSequence = last.sequence;
      if (rows.length < PAGE_SIZE) break;
    }
    if (toSequence === undefined && previous) {
      // Rows deleted at the end leave the checkpoints that signed them.
      const latest = await this.checkpoints.latest();
      if (latest && latest.sequence > previous.sequence) {
        const problem =
          this.checkpointProblem(latest) ?? `a signed checkpoint holds row ${latest.sequence}, but the chain ends at ${previous.sequence}: rows were deleted`;
        return broken(checked, previous.hash, previous.sequence + 1, problem);
      }
    }
    return {
      valid: true,
      checked,
      head: previous?.hash ?? null,
      firstSequence: start,
      checkpointsChecked,
      lastCheckpoint: lastCheckpoint && { sequence: lastCheckpoint.sequence, signedAt: lastCheckpoint.signedAt.toISOString() },
    };
  }

  /**
   * Where the kept chain starts after a purge: the checkpoint at the last purged row, signed by a trusted
   * key, recorded as a purge, and signed longer ago than the retention (so no purged row was younger).
   */
  private async purgeAnchor(first: number, now: Date): Promise<{ link: ChainLink } | { problem: string }> {
    const through = first - 1;
    const gone = `rows 1-${through} are gone`;
    const cp = await this.checkpoints.at(through);
    if (!cp) return { problem: `${gone} and no signed checkpoint at sequence ${through} anchors row ${first}` };
    const problem = this.checkpointProblem(cp);
    if (problem) return { problem: `${gone}; ${problem}` };
    if (!(await this.checkpoints.purgeThrough(through))) return { problem: `${gone} without a recorded purge` };
    const retentionMs = this.config.AUDIT_RETENTION_DAYS * DAY_MS;
    if (cp.signedAt.getTime() > now.getTime() - retentionMs) {
      return {
        problem: `${gone}, but the checkpoint at ${through} was signed at ${cp.signedAt.toISOString()}, less than the retention (${this.config.AUDIT_RETENTION_DAYS} days) ago`,
      };
    }
    return { link: { sequence: through, hash: cp.head } };
  }
}

/** The problem of a row whose envelope or columns disagree with its canonical text. */
function describeMismatch(columns: string[]): string {
  if (columns.includes('envelope')) return 'the canonical text does not match the stored envelope';
  return `column ${columns.join(', ')} does not match the event's canonical text`;
}
