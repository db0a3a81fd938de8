import { canonicalJson, verifyChain, type ChainVerdict } from '@garde/domain';

/** What the inspector needs of a stored row: the chain columns and the columns derived from the envelope. */
export interface InspectedRow {
  sequence: number;
  messageId: string;
  type: string;
  occurredAt: Date;
  producer: string;
  actorId: string | null;
  correlationId: string;
  envelope: unknown;
  canonical: string;
  prevHash: string;
  hash: string;
}

/**
 * Checks consecutive rows: the hash chain (verifyChain recomputes each hash from the stored canonical
 * text) and, for each row, that the canonical text and the query columns still say what the stored
 * envelope says. So a change to any of them names the row. `level` and `recorded_at` are the service's
 * own annotations, outside the hash, and are not checked.
 */
export function inspectRows(rows: readonly InspectedRow[], previous?: { sequence: number; hash: string }): ChainVerdict {
  const firstMismatch = rows.findIndex((row) => contentProblem(row) !== undefined);
  const linked = firstMismatch === -1 ? rows : rows.slice(0, firstMismatch + 1);
  const chain = verifyChain(linked, previous);
  if (!chain.ok || firstMismatch === -1) return chain;
  const bad = rows[firstMismatch]!;
  return { ok: false, checked: firstMismatch, badSequence: bad.sequence, reason: contentProblem(bad)! };
}

/** Why a row's columns disagree with its envelope, if they do. */
export function contentProblem(row: InspectedRow): string | undefined {
  let canonical: string;
  try {
    canonical = canonicalJson(row.envelope);
  } catch (err) {
    return `the stored envelope cannot be canonicalised: ${err instanceof Error ? err.message : String(err)}`;
  }
  if (canonical !== row.canonical) return 'the canonical text does not match the stored envelope';
  const env = (row.envelope ?? {}) as Record<string, unknown>;
  const actor = env.actor as { id?: unknown } | undefined;
  const mismatched = [
    ['message_id', row.messageId.toLowerCase() === String(env.messageId).toLowerCase()],
    ['type', row.type === env.type],
    ['producer', row.producer === env.producer],
    ['correlation_id', row.correlationId === env.correlationId],
    ['actor_id', row.actorId === (actor?.id ?? null)],
    ['occurred_at', row.occurredAt.getTime() === new Date(String(env.occurredAt)).getTime()],
  ].filter(([, same]) => !same);
  return mismatched.length ? `column ${mismatched.map(([name]) => name).join(', ')} does not match the stored envelope` : undefined;
}
