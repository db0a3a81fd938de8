import { Envelope, describeIssues, eventLevel, type EventLevel } from '@garde/contracts';
import { canonicalJson } from '@garde/domain';
import type { PoisonReason } from '../../metrics/audit.metrics.js';

/** An event ready to be linked into the chain. */
export interface AuditCandidate {
  /** Lower-case, as PostgreSQL returns uuids: the de-duplication key. */
  messageId: string;
  type: string;
  level: EventLevel;
  occurredAt: Date;
  producer: string;
  actorId: string | null;
  correlationId: string;
  /** The envelope as received, unknown members included (zod would strip them). */
  envelope: Record<string, unknown>;
  /** canonicalJson(envelope): what the hash covers. */
  canonical: string;
}

export type ParsedAuditMessage = { ok: true; candidate: AuditCandidate } | { ok: false; reason: PoisonReason; detail: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Turns a message of the AUDIT stream into a chain candidate, or says why it can never be one.
 * Pure: the same bytes always give the same answer, so a refused message is refused for good.
 */
export function parseAuditMessage(data: Uint8Array): ParsedAuditMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(utf8.decode(data));
  } catch (err) {
    return { ok: false, reason: 'unparseable', detail: `not UTF-8 JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  const parsed = Envelope.safeParse(raw);
  if (!parsed.success) return { ok: false, reason: 'invalid-envelope', detail: describeIssues(parsed.error) };
  const envelope = raw as Record<string, unknown>;
  // jsonb refuses NUL characters and lone surrogates: such an event could never be stored.
  const unstorable = findUnstorableString(envelope);
  if (unstorable) return { ok: false, reason: 'unstorable', detail: `${unstorable} holds a character PostgreSQL cannot store (NUL or lone surrogate)` };
  let canonical: string;
  try {
    canonical = canonicalJson(envelope);
  } catch (err) {
    return { ok: false, reason: 'unstorable', detail: err instanceof Error ? err.message : String(err) };
  }
  const env = parsed.data;
  return {
    ok: true,
    candidate: {
      messageId: env.messageId.toLowerCase(),
      type: env.type,
      level: eventLevel(env.type, env.payload),
      occurredAt: new Date(env.occurredAt),
      producer: env.producer,
      actorId: env.actor?.id ?? null,
      correlationId: env.correlationId,
      envelope,
      canonical,
    },
  };
}

const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Path of the first key or string value jsonb would refuse, if any. */
function findUnstorableString(value: unknown, path = '$'): string | undefined {
  if (typeof value === 'string') return UNSTORABLE.test(value) ? path : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnstorableString(value[i], `${path}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  for (const [key, member] of Object.entries(value as Record<string, unknown>)) {
    if (UNSTORABLE.test(key)) return `${path} (a key)`;
    const found = findUnstorableString(member, `${path}.${key}`);
    if (found) return found;
  }
  return undefined;
}
