import type { AuditExportFormat, AuditExportPage, AuditExportPageQuery } from '@garde/contracts';
import { GatewayException } from '../errors/gateway.exception.js';

export interface ExportFileOptions {
  /** Sequences per range: one page request each (a range whose records do not fit one page takes more). */
  rangeRows: number;
  /** Ranges asked for at once, ahead of the one being written. */
  inFlight: number;
}

/** About 200 records of a typical ~900-byte event fit a page (192 K characters). */
export const EXPORT_FILE_DEFAULTS: ExportFileOptions = { rangeRows: 200, inFlight: 4 };

/**
 * The bytes of an export file (sequences `first` to `last`, as a sealed manifest names them), in order,
 * page by page. The slice is cut into ranges of sequences, and several ranges are asked for at once, so
 * that the audit-service reads the next ones while this process sends the current one: one request at a
 * time would add a round trip per page to the whole export. Memory: `inFlight` pages at most (as many
 * requests at a time).
 *
 * A page may stop before the end of its range (the page's size limit): the rest of the range is asked for
 * next. A range that comes back short with nothing more in it means rows went missing since the seal:
 * the export fails (the file would not match its manifest).
 */
export async function* exportFileText(
  fetchPage: (request: AuditExportPageQuery) => Promise<AuditExportPage>,
  format: AuditExportFormat,
  first: number,
  last: number,
  options: ExportFileOptions = EXPORT_FILE_DEFAULTS,
): AsyncGenerator<string> {
  if (last < first) throw new GatewayException('INVALID_REQUEST', `to (${last}) is before from (${first})`);
  const ask = (toSequence: number, afterSequence?: number): Promise<AuditExportPage> => {
    const page = fetchPage({ format, fromSequence: first, toSequence, ...(afterSequence === undefined ? {} : { afterSequence }) });
    // Awaited in order later; a failure before then must not count as unhandled.
    page.catch(() => undefined);
    return page;
  };
  const ranges: Array<{ end: number; page: Promise<AuditExportPage> }> = [];
  let nextStart = first;
  const refill = () => {
    while (ranges.length < options.inFlight && nextStart <= last) {
      const end = Math.min(last, nextStart + options.rangeRows - 1);
      // The first range has no `afterSequence`: its page starts with the file's preamble (the CSV header).
      ranges.push({ end, page: ask(end, nextStart === first ? undefined : nextStart - 1) });
      nextStart = end + 1;
    }
  };
  refill();
  for (let range = ranges[0]; range; range = ranges[0]) {
    let page = await range.page;
    for (;;) {
      if (page.text) yield page.text;
      if (page.lastSequence >= range.end) break;
      if (page.rows === 0) {
        throw new GatewayException(
          'NOT_FOUND',
          `the audit-service has no row after sequence ${page.lastSequence} (up to ${range.end}): the trail changed since the export was sealed`,
        );
      }
      page = await ask(range.end, page.lastSequence);
    }
    ranges.shift();
    refill();
  }
}
