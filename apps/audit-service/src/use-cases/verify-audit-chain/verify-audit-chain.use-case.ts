import { Injectable } from '@nestjs/common';
import type { AuditChainVerdict } from '@garde/contracts';
import { AuditException } from '../../errors/audit.exception.js';
import { AuditMetrics } from '../../metrics/audit.metrics.js';
import { AuditEventRepository, type ChainLink } from '../../persistence/audit-event.repository.js';
import { inspectRows } from './chain-inspector.js';

/** Rows read per query: memory stays constant however long the chain is. */
const PAGE_SIZE = 1000;

/**
 * Walks the chain (or a range of it) in sequence order, page by page, and stops at the first bad row:
 * a gap, a broken link, a hash that does not match the canonical text, or a canonical text or column
 * that does not match the stored envelope.
 */
@Injectable()
export class VerifyAuditChain {
  constructor(
    private readonly repository: AuditEventRepository,
    private readonly metrics: AuditMetrics,
  ) {}

  async execute(range: { fromSequence?: number | undefined; toSequence?: number | undefined }): Promise<AuditChainVerdict> {
    const { fromSequence = 1, toSequence } = range;
    if (toSequence !== undefined && toSequence < fromSequence) {
      throw new AuditException('INVALID_REQUEST', `toSequence (${toSequence}) is before fromSequence (${fromSequence})`);
    }
    // A range starting later trusts the hash of the row just before it (the whole chain trusts GENESIS_HASH).
    let previous: ChainLink | undefined;
    if (fromSequence > 1) {
      previous = (await this.repository.linkAt(fromSequence - 1)) ?? undefined;
      if (!previous) {
        const after = await this.repository.page(fromSequence - 1, toSequence, 1);
        if (after.length === 0) return { valid: true, checked: 0, head: null };
        return this.broken({ valid: false, checked: 0, head: null, firstBadSequence: fromSequence - 1, problem: `row ${fromSequence - 1} is missing` });
      }
    }
    let checked = 0;
    let afterSequence = fromSequence - 1;
    for (;;) {
      const rows = await this.repository.page(afterSequence, toSequence, PAGE_SIZE);
      if (rows.length === 0) break;
      const verdict = inspectRows(rows, previous);
      if (!verdict.ok) {
        const lastGood = verdict.checked > 0 ? rows[verdict.checked - 1]!.hash : (previous?.hash ?? null);
        return this.broken({
          valid: false,
          checked: checked + verdict.checked,
          head: lastGood,
          firstBadSequence: verdict.badSequence,
          problem: verdict.reason,
        });
      }
      checked += verdict.checked;
      const last = rows[rows.length - 1]!;
      previous = { sequence: last.sequence, hash: last.hash };
      afterSequence = last.sequence;
      if (rows.length < PAGE_SIZE) break;
    }
    return { valid: true, checked, head: previous?.hash ?? null };
  }

  private broken(verdict: AuditChainVerdict): AuditChainVerdict {
    this.metrics.verifyFailures.inc();
    return verdict;
  }
}
