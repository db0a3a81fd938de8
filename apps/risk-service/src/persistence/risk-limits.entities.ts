import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { Actor, RiskLimitValues } from '@garde/contracts';

/** Every version of every scope's limits: appended, never updated nor deleted (the database refuses it). */
@Entity({ name: 'risk_limit_version' })
export class RiskLimitVersionRow {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ type: 'text' })
  scope!: string;

  @Column({ type: 'integer' })
  version!: number;

  @Column({ type: 'jsonb' })
  limits!: RiskLimitValues;

  @Column({ type: 'jsonb' })
  actor!: Actor;

  @Column({ type: 'text' })
  reason!: string;

  @Column({ type: 'timestamptz', name: 'changed_at' })
  changedAt!: Date;

  @Column({ type: 'text', name: 'correlation_id' })
  correlationId!: string;
}
