import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

/** A signed statement that the chain's row `sequence` has hash `head`. */
export interface StoredCheckpoint {
  sequence: number;
  head: string;
  signedAt: Date;
  keyId: string;
  publicKey: string;
  /** Ed25519, base64, of the statement `{ sequence, head, signedAt, keyId }` (see checkpointStatement). */
  signature: string;
}

/** A purge of the start of the chain, as recorded by audit_purge(). */
export interface StoredPurge {
  fromSequence: number;
  throughSequence: number;
  rows: number;
  cutoff: Date;
  anchorHead: string;
  actorId: string;
  reason: string;
  purgedAt: Date;
}

interface CheckpointRecord {
  sequence: string;
  head: string;
  signed_at: Date;
  key_id: string;
  public_key: string;
  signature: string;
}

/** Sequences as text (bigint); ORDER BY must then name the column through the table alias `c`, not the text output. */
const CHECKPOINT_COLUMNS = 'c.sequence::text AS sequence, c.head, c.signed_at, c.key_id, c.public_key, c.signature';

const toCheckpoint = (r: CheckpointRecord): StoredCheckpoint => ({
  sequence: Number(r.sequence),
  head: r.head,
  signedAt: r.signed_at,
  keyId: r.key_id,
  publicKey: r.public_key,
  signature: r.signature,
});

/** Checkpoints and purges (append-only tables; the only DELETE of the trail is audit_purge()). */
@Injectable()
export class AuditCheckpointRepository {
  constructor(private readonly ds: DataSource) {}

  /** Stores a checkpoint; false when one already exists at that sequence (another replica's). */
  async insert(cp: StoredCheckpoint): Promise<boolean> {
    const inserted = await this.ds.query<unknown[]>(
      `INSERT INTO audit_checkpoint (sequence, head, signed_at, key_id, public_key, signature) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (sequence) DO NOTHING RETURNING sequence`,
      [String(cp.sequence), cp.head, cp.signedAt, cp.keyId, cp.publicKey, cp.signature],
    );
    return inserted.length === 1;
  }

  async latest(): Promise<StoredCheckpoint | null> {
    const [row] = await this.ds.query<CheckpointRecord[]>(`SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoint c ORDER BY c.sequence DESC LIMIT 1`);
    return row ? toCheckpoint(row) : null;
  }

  async at(sequence: number): Promise<StoredCheckpoint | null> {
    const [row] = await this.ds.query<CheckpointRecord[]>(`SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoint c WHERE c.sequence = $1`, [String(sequence)]);
    return row ? toCheckpoint(row) : null;
  }

  /** Checkpoints with from <= sequence <= to (to: none = no upper bound), in order. */
  async between(from: number, to: number | undefined): Promise<StoredCheckpoint[]> {
    const rows = await this.ds.query<CheckpointRecord[]>(
      `SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoint c WHERE c.sequence >= $1 AND ($2::bigint IS NULL OR c.sequence <= $2::bigint) ORDER BY c.sequence`,
      [String(from), to === undefined ? null : String(to)],
    );
    return rows.map(toCheckpoint);
  }

  /** The last checkpoint signed before `cutoff` at a sequence at or after `fromSequence`: how far a purge may go. */
  async latestSignedBefore(cutoff: Date, fromSequence: number): Promise<StoredCheckpoint | null> {
    const [row] = await this.ds.query<CheckpointRecord[]>(
      `SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoint c WHERE c.signed_at < $1 AND c.sequence >= $2 ORDER BY c.signed_at DESC, c.sequence DESC LIMIT 1`,
      [cutoff, String(fromSequence)],
    );
    return row ? toCheckpoint(row) : null;
  }

  /** The purge that ended at `throughSequence`, if any. */
  async purgeThrough(throughSequence: number): Promise<StoredPurge | null> {
    const [row] = await this.ds.query<
      Array<{
        from_sequence: string;
        through_sequence: string;
        rows: string;
        cutoff: Date;
        anchor_head: string;
        actor_id: string;
        reason: string;
        purged_at: Date;
      }>
    >(
      `SELECT from_sequence::text AS from_sequence, through_sequence::text AS through_sequence, rows::text AS rows, cutoff, anchor_head, actor_id, reason, purged_at
         FROM audit_purge WHERE through_sequence = $1`,
      [String(throughSequence)],
    );
    if (!row) return null;
    return {
      fromSequence: Number(row.from_sequence),
      throughSequence: Number(row.through_sequence),
      rows: Number(row.rows),
      cutoff: row.cutoff,
      anchorHead: row.anchor_head,
      actorId: row.actor_id,
      reason: row.reason,
      purgedAt: row.purged_at,
    };
  }

  /**
   * Deletes the start of the chain through `throughSequence` with audit_purge() (the one path past the
   * append-only trigger; it checks the boundary checkpoint and the cutoff itself). Returns the rows deleted.
   */
  async purge(throughSequence: number, cutoff: Date, actorId: string, reason: string): Promise<number> {
    const [row] = await this.ds.query<[{ deleted: string }]>('SELECT audit_purge($1, $2, $3, $4)::text AS deleted', [
      String(throughSequence),
      cutoff,
      actorId,
      reason,
    ]);
    return Number(row.deleted);
  }
}
