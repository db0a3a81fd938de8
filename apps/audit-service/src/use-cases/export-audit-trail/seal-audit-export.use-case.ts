import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { AuditExportFormat, AuditExportManifest, AuditExportManifestBody } from '@garde/contracts';
import { GENESIS_HASH, exportPreamble, exportRecord, verifyChain, type ExportRow } from '@garde/domain';
import { AuditException } from '../../errors/audit.exception.js';
import { AuditMetrics } from '../../metrics/audit.metrics.js';
import { AuditCheckpointRepository, type StoredCheckpoint } from '../../persistence/audit-checkpoint.repository.js';
import { AuditEventRepository } from '../../persistence/audit-event.repository.js';
import { AuditSigner } from '../../signing/audit-signer.js';
import { VerifyAuditChain } from '../verify-audit-chain/verify-audit-chain.use-case.js';
import { EXPORT_READ_ROWS } from './read-export-page.use-case.js';

interface SlicePart {
  page: ExportRow[];
  checkpoints: StoredCheckpoint[];
}

export interface SealQuery {
  from: string;
  to: string;
  format: AuditExportFormat;
}

/**
 * The signed manifest of an export, computed by the audit-service alone: it resolves the period to a
 * slice of the chain, reads the slice page by page (constant memory), checks its links, hashes and the
 * signed checkpoints in it, computes the SHA-256 of the exact file the pages make, and signs all that.
 * It never signs a digest it is given, nor a slice that does not verify.
 */
@Injectable()
export class SealAuditExport {
  constructor(
    private readonly events: AuditEventRepository,
    private readonly checkpoints: AuditCheckpointRepository,
    private readonly verify: VerifyAuditChain,
    private readonly signer: AuditSigner,
    private readonly metrics: AuditMetrics,
  ) {}

  async execute(query: SealQuery, exportedBy: string, now = new Date()): Promise<AuditExportManifest> {
    const from = new Date(query.from);
    const to = new Date(query.to);
    if (to <= from) throw new AuditException('INVALID_REQUEST', `--to (${query.to}) must be after --from (${query.from})`);
    const slice = await this.events.sliceRecordedBetween(from, to);
    if (!slice) throw new AuditException('NOT_FOUND', `no audit event was recorded from ${from.toISOString()} to ${to.toISOString()}`);

    const previousHash = await this.anchorOf(slice.first);
    const file = createHash('sha256');
    let fileBytes = 0;
    const write = (text: string) => {
      file.update(text, 'utf8');
      fileBytes += Buffer.byteLength(text, 'utf8');
    };
    write(exportPreamble(query.format));
    let previous = { sequence: slice.first - 1, hash: previousHash };
    let rows = 0;
    // Each part is read while the one before is checked and hashed.
    let next: Promise<SlicePart> | undefined = this.readPart(previous.sequence, slice.last);
    while (next) {
      const { page, checkpoints }: SlicePart = await next;
      const last = page.at(-1);
      next = last && last.sequence < slice.last ? this.readPart(last.sequence, slice.last) : undefined;
      const verdict = verifyChain(page, previous);
      if (!verdict.ok) this.refuse(verdict.badSequence, verdict.reason);
      if (!last) this.refuse(previous.sequence + 1, `row ${previous.sequence + 1} is missing`);
      for (const cp of checkpoints) {
        // Checkpoints were read for the part's whole range: one past its last row names a missing row.
        const row = page[cp.sequence - page[0]!.sequence];
        if (!row) this.refuse(cp.sequence, `row ${cp.sequence} is missing`);
        const problem = this.verify.checkpointProblem(cp, row.hash);
        if (problem) this.refuse(cp.sequence, problem);
      }
      write(page.map((row) => exportRecord(query.format, row)).join(''));
      rows += page.length;
      previous = { sequence: last.sequence, hash: last.hash };
    }

    const body: AuditExportManifestBody = {
      kind: 'garde-audit-export',
      version: 1,
      format: query.format,
      from: from.toISOString(),
      to: to.toISOString(),
      rows,
      firstSequence: slice.first,
      lastSequence: slice.last,
      previousHash,
      chainHead: previous.hash,
      fileSha256: file.digest('hex'),
      fileBytes,
      exportedAt: now.toISOString(),
      exportedBy,
      signer: this.signer.identity,
    };
    this.metrics.exportsSigned.inc({ format: query.format });
    return { ...body, signature: this.signer.sign('garde-audit-export-manifest-v1', body) };
  }

  /**
   * The rows after `after` (EXPORT_READ_ROWS at most) and the checkpoints signed at their sequences. A
   * part read ahead and left unused, when the slice is refused, fails quietly.
   */
  private readPart(after: number, last: number): Promise<SlicePart> {
    const through = Math.min(last, after + EXPORT_READ_ROWS);
    const part = Promise.all([this.events.exportRows(after, through, EXPORT_READ_ROWS), this.checkpoints.between(after + 1, through)]).then(
      ([page, checkpoints]) => ({ page, checkpoints }),
    );
    part.catch(() => undefined);
    return part;
  }

  /** The hash the slice's first row must link to: the row before it, or the signed checkpoint of a purge. */
  private async anchorOf(first: number): Promise<string> {
    if (first === 1) return GENESIS_HASH;
    const before = await this.events.linkAt(first - 1);
    if (before) return before.hash;
    const cp = await this.checkpoints.at(first - 1);
    const problem = cp ? this.verify.checkpointProblem(cp) : `row ${first - 1} is missing and no signed checkpoint anchors row ${first}`;
    if (problem || !cp) this.refuse(first, problem ?? 'no anchor');
    return cp.head;
  }

  private refuse(sequence: number, problem: string): never {
    this.metrics.verifyFailures.inc();
    throw new AuditException('AUDIT_CHAIN_BROKEN', `the audit chain does not verify at sequence ${sequence} (${problem}): nothing exported or signed`, {
      firstBadSequence: sequence,
      problem,
    });
  }
}
