/** A plain text table: one header row, columns padded to the widest cell. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** `2026-11-27T07:05:00.123Z` → `2026-11-27 07:05:00Z`: readable, still UTC. */
export const when = (iso: string): string => (iso.startsWith('1970-01-01') ? '-' : iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z'));
