import { Injectable } from '@nestjs/common';
import type { AuditExportPage, AuditExportPageQuery } from '@garde/contracts';
import { exportPreamble, exportRecord } from '@garde/domain';
import { AuditException } from '../../errors/audit.exception.js';
import { AuditEventRepository } from '../../persistence/audit-event.repository.js';

/**
 * Characters of file text per page: with JSON escaping and multi-byte characters the reply stays well
 * under NATS's default 1 MB payload.
 */
export const EXPORT_PAGE_CHARS = 192 * 1024;
/** Rows read per query while sealing. */
export const EXPORT_READ_ROWS = 1000;
/** Rows read per query while filling a page: about one page (the gateway asks for ranges of 200 rows). */
const PAGE_READ_ROWS = 250;

/**
 * The next bytes of an export file: whole records after `afterSequence`, as exportRecord writes them
 * (the first page starts with the CSV header). The gateway streams them on as they come; nothing is held.
 */
@Injectable()
export class ReadExportPage {
  constructor(private readonly repository: AuditEventRepository) {}

  async execute(query: AuditExportPageQuery): Promise<AuditExportPage> {
    const { format, fromSequence, toSequence } = query;
    if (toSequence < fromSequence) throw new AuditException('INVALID_REQUEST', `toSequence (${toSequence}) is before fromSequence (${fromSequence})`);
    const after = query.afterSequence ?? fromSequence - 1;
    if (after < fromSequence - 1 || after > toSequence) {
      throw new AuditException('INVALID_REQUEST', `afterSequence (${after}) is outside the export (${fromSequence}-${toSequence})`);
    }
    let text = query.afterSequence === undefined ? exportPreamble(format) : '';
    let rows = 0;
    let lastSequence = after;
    for (;;) {
      const batch = await this.repository.exportRows(lastSequence, toSequence, PAGE_READ_ROWS);
      for (const row of batch) {
        const record = exportRecord(format, row);
        if (rows > 0 && text.length + record.length > EXPORT_PAGE_CHARS) return { text, rows, lastSequence };
        text += record;
        rows += 1;
        lastSequence = row.sequence;
      }
      if (batch.length < PAGE_READ_ROWS) return { text, rows, lastSequence };
    }
  }
}
