import { Injectable } from '@nestjs/common';
import { DataSource, In, type EntityManager } from 'typeorm';
import type { ChainRow, ExportRow } from '@garde/domain';
import { AuditEventRow } from './audit-event.entity.js';

/** The last link of the chain. */
export interface ChainLink {
  sequence: number;
  hash: string;
}

/** A row to insert, already linked and hashed by the caller. */
export interface NewAuditRow {
  sequence: number;
  messageId: string;
  type: string;
  level: string;
  occurredAt: Date;
  recordedAt: Date;
  producer: string;
  actorId: string | null;
  correlationId: string;
  /** canonicalJson(envelope): the hashed text, and the `envelope` column (jsonb) parsed from it by PostgreSQL. */
  canonical: string;
  prevHash: string;
  hash: string;
}

/** A stored row, with its sequence as a number. */
export type StoredAuditRow = Omit<AuditEventRow, 'sequence'> & { sequence: number };

/** What the appender may do while it holds the chain lock. */
export interface ChainWriter {
  /** The last row, or null for an empty chain. */
  head(): Promise<ChainLink | null>;
  /** Which of these message ids are already in the chain (lower-case). */
  existing(messageIds: string[]): Promise<Set<string>>;
  insert(rows: NewAuditRow[]): Promise<void>;
}

/** Same key for every replica: one writer of the chain at a time. */
const CHAIN_LOCK = 'garde-audit-chain';

export interface AuditEventFilter {
  type?: string | undefined;
  actorId?: string | undefined;
  correlationId?: string | undefined;
  clientOrderId?: string | undefined;
  levels?: string[] | undefined;
  producer?: string | undefined;
  botId?: string | undefined;
  since?: Date | undefined;
  beforeSequence?: number | undefined;
}

@Injectable()
export class AuditEventRepository {
  constructor(private readonly ds: DataSource) {}

  /**
   * Runs `work` in one transaction holding the chain's advisory lock, so that head, de-duplication
   * and inserts see a chain nobody else is extending (replicas included).
   */
  async withChainLock<T>(work: (writer: ChainWriter) => Promise<T>): Promise<T> {
    return this.ds.transaction(async (em) => {
      await em.query('SELECT pg_advisory_xact_lock(hashtext($1))', [CHAIN_LOCK]);
      return work(chainWriter(em));
    });
  }

  async head(): Promise<ChainLink | null> {
    return readHead(this.ds.manager);
  }

  async linkAt(sequence: number): Promise<ChainLink | null> {
    const row = await this.ds.getRepository(AuditEventRow).findOne({ select: { sequence: true, hash: true }, where: { sequence: String(sequence) } });
    return row ? { sequence: Number(row.sequence), hash: row.hash } : null;
  }

  /** The chain columns of rows after `afterSequence` (and up to `toSequence`), in chain order: one page of a walk. */
  async chainPage(afterSequence: number, toSequence: number | undefined, limit: number): Promise<ChainRow[]> {
    const rows = await this.ds.query<Array<{ sequence: string; prev_hash: string; hash: string; canonical: string }>>(
      `SELECT e.sequence::text AS sequence, e.prev_hash, e.hash, e.canonical FROM audit_event e
        WHERE e.sequence > $1 AND ($2::bigint IS NULL OR e.sequence <= $2::bigint) ORDER BY e.sequence LIMIT $3`,
      [afterSequence, toSequence ?? null, limit],
    );
    return rows.map((r) => ({ sequence: Number(r.sequence), prevHash: r.prev_hash, hash: r.hash, canonical: r.canonical }));
  }

  /**
   * The first row of [from, to] whose stored envelope or query columns (what the API shows and filters
   * on) do not say what its canonical text says (what the hash covers). Only for rows whose chain has
   * verified: their canonical text is then the service's own JSON, so PostgreSQL can parse it.
   * `level` and `recorded_at` are the service's annotations, outside the hash, and are not compared.
   */
  async firstContentMismatch(from: number, to: number): Promise<{ sequence: number; columns: string[] } | null> {
    // OFFSET 0 keeps the lateral subquery from being flattened: the text is parsed once per row, not once per use.
    const [row] = await this.ds.query<Array<{ sequence: string; columns: string[] }>>(
      `SELECT x.sequence::text AS sequence, x.columns FROM (
         SELECT e.sequence, array_remove(ARRAY[
             CASE WHEN e.envelope IS DISTINCT FROM c.j THEN 'envelope' END,
             CASE WHEN e.message_id::text IS DISTINCT FROM lower(c.j ->> 'messageId') THEN 'message_id' END,
             CASE WHEN e.type IS DISTINCT FROM c.j ->> 'type' THEN 'type' END,
             CASE WHEN e.producer IS DISTINCT FROM c.j ->> 'producer' THEN 'producer' END,
             CASE WHEN e.correlation_id IS DISTINCT FROM c.j ->> 'correlationId' THEN 'correlation_id' END,
             CASE WHEN e.actor_id IS DISTINCT FROM c.j -> 'actor' ->> 'id' THEN 'actor_id' END,
             CASE WHEN date_trunc('milliseconds', e.occurred_at) IS DISTINCT FROM date_trunc('milliseconds', (c.j ->> 'occurredAt')::timestamptz) THEN 'occurred_at' END
           ], NULL) AS columns
           FROM audit_event e CROSS JOIN LATERAL (SELECT e.canonical::jsonb AS j OFFSET 0) c
          WHERE e.sequence BETWEEN $1 AND $2) x
       WHERE cardinality(x.columns) > 0 ORDER BY x.sequence LIMIT 1`,
      [from, to],
    );
    return row ? { sequence: Number(row.sequence), columns: row.columns } : null;
  }

  /** The first sequence still in the table (1, or the one after the last purge); null when empty. */
  async firstSequence(): Promise<number | null> {
    const [row] = await this.ds.query<[{ first: string | null }]>('SELECT min(sequence)::text AS first FROM audit_event');
    return row.first === null ? null : Number(row.first);
  }

  /**
   * The contiguous slice of the chain from the first to the last row recorded in [from, to) (by sequence,
   * so the slice has no hole even if the clock stepped back; index-only scan of audit_event_recorded_at_idx).
   */
  async sliceRecordedBetween(from: Date, to: Date): Promise<{ first: number; last: number } | null> {
    const [row] = await this.ds.query<[{ first: string | null; last: string | null }]>(
      'SELECT min(sequence)::text AS first, max(sequence)::text AS last FROM audit_event WHERE recorded_at >= $1 AND recorded_at < $2',
      [from, to],
    );
    return row.first === null || row.last === null ? null : { first: Number(row.first), last: Number(row.last) };
  }

  /** The chain columns of rows after `afterSequence` up to `toSequence`, in order: what an export holds. */
  async exportRows(afterSequence: number, toSequence: number, limit: number): Promise<ExportRow[]> {
    // recorded_at as toISOString writes it, by PostgreSQL: parsing a Date per row, to print it, costs more than reading the row.
    const rows = await this.ds.query<Array<{ sequence: string; recorded_at: string; level: string; prev_hash: string; hash: string; canonical: string }>>(
      `SELECT sequence::text AS sequence, to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS recorded_at, level, prev_hash, hash, canonical
         FROM audit_event WHERE audit_event.sequence > $1 AND audit_event.sequence <= $2 ORDER BY audit_event.sequence LIMIT $3`,
      [afterSequence, toSequence, limit],
    );
    return rows.map((r) => ({
      sequence: Number(r.sequence),
      recordedAt: r.recorded_at,
      level: r.level,
      prevHash: r.prev_hash,
      hash: r.hash,
      canonical: r.canonical,
    }));
  }

  /** Most recent first. */
  async latest(filter: AuditEventFilter, limit: number): Promise<StoredAuditRow[]> {
    const qb = this.ds.getRepository(AuditEventRow).createQueryBuilder('e');
    if (filter.type !== undefined) qb.andWhere('e.type = :type', { type: filter.type });
    if (filter.actorId !== undefined) qb.andWhere('e.actor_id = :actorId', { actorId: filter.actorId });
    if (filter.correlationId !== undefined) qb.andWhere('e.correlation_id = :correlationId', { correlationId: filter.correlationId });
    if (filter.levels !== undefined) qb.andWhere('e.level IN (:...levels)', { levels: filter.levels });
    // A producer is `<service>/<instance>`: a service name matches all its instances.
    if (filter.producer !== undefined) qb.andWhere("(e.producer = :producer OR starts_with(e.producer, :producer || '/'))", { producer: filter.producer });
    // The expression of the index audit_event_bot_idx, word for word, so that the planner uses it.
    if (filter.botId !== undefined) qb.andWhere('audit_event_bot_id(e.envelope) = :botId', { botId: filter.botId });
    if (filter.since !== undefined) qb.andWhere('e.occurred_at >= :since', { since: filter.since });
    if (filter.beforeSequence !== undefined) qb.andWhere('e.sequence < :before', { before: filter.beforeSequence });
    if (filter.clientOrderId !== undefined) {
      // The order's story: the correlation ids of the events that name it (as `clientOrderId` or `order.clientOrderId`),
      // through audit_event_order_idx (its expression word for word).
      qb.andWhere('e.correlation_id IN (SELECT m.correlation_id FROM audit_event m WHERE audit_event_client_order_id(m.envelope) = :order)', {
        order: filter.clientOrderId,
      });
    }
    const rows = await qb.orderBy('e.sequence', 'DESC').take(limit).getMany();
    return rows.map(toStored);
  }
}

function chainWriter(em: EntityManager): ChainWriter {
  return {
    head: () => readHead(em),
    existing: async (messageIds) => {
      if (messageIds.length === 0) return new Set();
      const rows = await em.find(AuditEventRow, { select: { messageId: true }, where: { messageId: In(messageIds) } });
      return new Set(rows.map((r) => r.messageId.toLowerCase()));
    },
    insert: async (rows) => {
      if (rows.length === 0) return;
      // One multi-row INSERT per batch (12 parameters a row, far below PostgreSQL's 65535); the envelope
      // column is the canonical text as jsonb, so the event is sent once. Both uses say `::text`: a parameter
      // takes the type of its first use, and jsonb printed back as text is not the canonical text.
      const params: unknown[] = [];
      const tuples = rows.map((r) => {
        const at = params.length;
        params.push(
          String(r.sequence),
          r.messageId,
          r.type,
          r.level,
          r.occurredAt,
          r.recordedAt,
          r.producer,
          r.actorId,
          r.correlationId,
          r.canonical,
          r.prevHash,
          r.hash,
        );
        const $ = (i: number) => `$${at + i}`;
        return `(${$(1)}, ${$(2)}, ${$(3)}, ${$(4)}, ${$(5)}, ${$(6)}, ${$(7)}, ${$(8)}, ${$(9)}, ${$(10)}::text::jsonb, ${$(10)}::text, ${$(11)}, ${$(12)})`;
      });
      await em.query(
        `INSERT INTO audit_event (sequence, message_id, type, level, occurred_at, recorded_at, producer, actor_id, correlation_id, envelope, canonical, prev_hash, hash)
         VALUES ${tuples.join(', ')}`,
        params,
      );
    },
  };
}

async function readHead(em: EntityManager): Promise<ChainLink | null> {
  const [row] = await em.find(AuditEventRow, { select: { sequence: true, hash: true }, order: { sequence: 'DESC' }, take: 1 });
  return row ? { sequence: Number(row.sequence), hash: row.hash } : null;
}

function toStored(row: AuditEventRow): StoredAuditRow {
  return { ...row, sequence: Number(row.sequence) };
}
