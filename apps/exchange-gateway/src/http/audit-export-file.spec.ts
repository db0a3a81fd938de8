import { describe, expect, it } from '@jest/globals';
import type { AuditExportPage, AuditExportPageQuery } from '@garde/contracts';
import { exportFileText } from './audit-export-file.js';

/**
 * A trail of rows 1..n whose record is `<sequence>;` and whose pages hold at most `pageRows` records,
 * answered as the audit-service's ReadExportPage does (preamble `H;` when no afterSequence), in a
 * shuffled order, so that the test sees the generator put the pages back in order.
 */
function fakeAuditService(rows: number, pageRows: number, missing = new Set<number>()) {
  const asked: AuditExportPageQuery[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const fetchPage = async (req: AuditExportPageQuery): Promise<AuditExportPage> => {
    asked.push(req);
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((r) => setTimeout(r, (req.toSequence * 7) % 5));
    inFlight -= 1;
    let text = req.afterSequence === undefined ? 'H;' : '';
    let last = req.afterSequence ?? req.fromSequence - 1;
    let count = 0;
    for (let s = last + 1; s <= Math.min(req.toSequence, rows) && count < pageRows && !missing.has(s); s++) {
      text += `${s};`;
      last = s;
      count += 1;
    }
    return { text, rows: count, lastSequence: last };
  };
  return { fetchPage, asked, maxInFlight: () => maxInFlight };
}

async function collect(gen: AsyncGenerator<string>): Promise<string> {
  let out = '';
  for await (const text of gen) out += text;
  return out;
}

const expected = (from: number, to: number) => `H;${Array.from({ length: to - from + 1 }, (_, i) => `${from + i};`).join('')}`;

describe('exportFileText: the pages of an export file, asked ahead, written in order', () => {
  it('writes every record once, in order, the preamble once, with at most `inFlight` pages asked at a time', async () => {
    const venue = fakeAuditService(1000, 1000);
    const text = await collect(exportFileText(venue.fetchPage, 'jsonl', 1, 1000, { rangeRows: 64, inFlight: 4 }));
    expect(text).toBe(expected(1, 1000));
    expect(venue.asked).toHaveLength(Math.ceil(1000 / 64));
    expect(venue.maxInFlight()).toBe(4);
    expect(venue.asked.filter((r) => r.afterSequence === undefined)).toHaveLength(1);
  });

  it('asks for the rest of a range whose records do not fit one page, and starts at the slice it is given', async () => {
    const venue = fakeAuditService(500, 7);
    const text = await collect(exportFileText(venue.fetchPage, 'csv', 101, 480, { rangeRows: 50, inFlight: 3 }));
    expect(text).toBe(expected(101, 480));
    expect(venue.asked.every((r) => r.fromSequence === 101 && r.toSequence <= 480)).toBe(true);
  });

  it('fails when rows of the slice are gone (the file would not match its manifest), after writing only what came before', async () => {
    const venue = fakeAuditService(300, 1000, new Set([150]));
    const seen: string[] = [];
    const run = async () => {
      for await (const text of exportFileText(venue.fetchPage, 'jsonl', 1, 300, { rangeRows: 100, inFlight: 2 })) seen.push(text);
    };
    await expect(run()).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('no row after sequence 149') });
    expect(seen.join('')).toBe(expected(1, 149));
  });

  it('passes a failed page on, in its turn, without an unhandled rejection from the pages asked ahead', async () => {
    const fetchPage = (req: AuditExportPageQuery): Promise<AuditExportPage> =>
      req.toSequence > 100 ? Promise.reject(new Error('audit-service gone')) : Promise.resolve({ text: 'A;', rows: 100, lastSequence: 100 });
    const seen: string[] = [];
    const run = async () => {
      for await (const text of exportFileText(fetchPage, 'jsonl', 1, 1000, { rangeRows: 100, inFlight: 4 })) seen.push(text);
    };
    await expect(run()).rejects.toThrow('audit-service gone');
    expect(seen).toEqual(['A;']);
  });

  it('refuses a slice that ends before it starts, before asking for anything', async () => {
    const venue = fakeAuditService(10, 10);
    await expect(collect(exportFileText(venue.fetchPage, 'jsonl', 5, 4))).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    expect(venue.asked).toHaveLength(0);
  });
});
