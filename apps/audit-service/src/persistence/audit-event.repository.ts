import { Injectable } from '@nestjs/common';
import { DataSource, In, LessThanOrEqual, MoreThan, And, type EntityManager } from 'typeorm';
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
  envelope: Record<string, unknown>;
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

  /** Rows after `afterSequence` (and up to `toSequence`), in chain order: one page of a walk. */
  async page(afterSequence: number, toSequence: number | undefined, limit: number): Promise<StoredAuditRow[]> {
    const after = MoreThan(String(afterSequence));
    const rows = await this.ds.getRepository(AuditEventRow).find({
      where: { sequence: toSequence === undefined ? after : And(after, LessThanOrEqual(String(toSequence))) },
      order: { sequence: 'ASC' },
      take: limit,
    });
    return rows.map(toStored);
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
    if (filter.since !== undefined) qb.andWhere('e.occurred_at >= :since', { since: filter.since });
    if (filter.beforeSequence !== undefined) qb.andWhere('e.sequence < :before', { before: filter.beforeSequence });
    if (filter.clientOrderId !== undefined) {
      // The order's story: the correlation ids of the events that name it (as `clientOrderId` or `order.clientOrderId`).
      qb.andWhere(
        `e.correlation_id IN (SELECT m.correlation_id FROM audit_event m
           WHERE m.envelope @> jsonb_build_object('payload', jsonb_build_object('clientOrderId', CAST(:order AS text)))
              OR m.envelope @> jsonb_build_object('payload', jsonb_build_object('order', jsonb_build_object('clientOrderId', CAST(:order AS text)))))`,
        { order: filter.clientOrderId },
      );
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
      // One multi-row INSERT per batch (13 parameters a row, far below PostgreSQL's 65535).
      const params: unknown[] = [];
      const tuples = rows.map((r) => {
        const values = [
          String(r.sequence),
          r.messageId,
          r.type,
          r.level,
          r.occurredAt,
          r.recordedAt,
          r.producer,
          r.actorId,
          r.correlationId,
          JSON.stringify(r.envelope),
          r.canonical,
          r.prevHash,
          r.hash,
        ];
        const first = params.length;
        params.push(...values);
        return `(${values.map((_, i) => `$${first + i + 1}`).join(', ')})`;
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
