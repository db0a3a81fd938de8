import { Column, Entity, PrimaryColumn } from 'typeorm';

/** One link of the audit chain. Append-only: the database refuses UPDATE, DELETE and TRUNCATE. */
@Entity({ name: 'audit_event' })
export class AuditEventRow {
  /** 1, 2, 3… without gaps, assigned under the chain lock (bigint: pg returns it as a string). */
  @PrimaryColumn({ type: 'bigint' })
  sequence!: string;

  @Column({ type: 'uuid', name: 'message_id' })
  messageId!: string;

  @Column({ type: 'text' })
  type!: string;

  @Column({ type: 'text' })
  level!: string;

  @Column({ type: 'timestamptz', name: 'occurred_at' })
  occurredAt!: Date;

  @Column({ type: 'timestamptz', name: 'recorded_at' })
  recordedAt!: Date;

  @Column({ type: 'text' })
  producer!: string;

  @Column({ type: 'text', name: 'actor_id', nullable: true })
  actorId!: string | null;

  @Column({ type: 'text', name: 'correlation_id' })
  correlationId!: string;

  /** The envelope exactly as received (unknown members of newer producers included). */
  @Column({ type: 'jsonb' })
  envelope!: Record<string, unknown>;

  /** canonicalJson(envelope): the exact string that was hashed. */
  @Column({ type: 'text' })
  canonical!: string;

  @Column({ type: 'text', name: 'prev_hash' })
  prevHash!: string;

  @Column({ type: 'text' })
  hash!: string;
}
