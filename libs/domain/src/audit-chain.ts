import { hash } from 'node:crypto';

/**
 * Canonical JSON: object keys sorted by code point, no whitespace, `undefined` members dropped.
 * Two structurally equal values always give the same string, so their hash is stable.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error('canonicalJson: non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** Hash of the chain's first link's predecessor. */
export const GENESIS_HASH = '0'.repeat(64);

/** `sha256(prevHash ‖ canonical(event))`, hex (one-shot: a Hash object per row costs more than hashing it). */
export function chainHash(prevHash: string, canonicalEvent: string): string {
  return hash('sha256', prevHash + canonicalEvent, 'hex');
}

export interface ChainRow {
  sequence: number;
  prevHash: string;
  hash: string;
  canonical: string;
}

export type ChainVerdict = { ok: true; checked: number; head: string } | { ok: false; checked: number; badSequence: number; reason: string };

/**
 * Verifies consecutive rows of the chain, starting after `previous` (the row before the first, or none).
 * Stops at the first bad row and names it.
 */
export function verifyChain(rows: Iterable<ChainRow>, previous?: { sequence: number; hash: string }): ChainVerdict {
  let prevHash = previous?.hash ?? GENESIS_HASH;
  let expectedSequence = (previous?.sequence ?? 0) + 1;
  let checked = 0;
  for (const row of rows) {
    if (row.sequence !== expectedSequence) {
      return { ok: false, checked, badSequence: row.sequence, reason: `sequence gap: expected ${expectedSequence}, found ${row.sequence}` };
    }
    if (row.prevHash !== prevHash) {
      return { ok: false, checked, badSequence: row.sequence, reason: 'prev_hash does not match the hash of the previous row' };
    }
    const recomputed = chainHash(prevHash, row.canonical);
    if (recomputed !== row.hash) {
      return { ok: false, checked, badSequence: row.sequence, reason: 'hash does not match the row content' };
    }
    prevHash = row.hash;
    expectedSequence += 1;
    checked += 1;
  }
  return { ok: true, checked, head: prevHash };
}
