import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

/** Current state of each scope ever set. */
@Entity({ name: 'kill_switch_scope' })
export class KillSwitchScopeRow {
  @PrimaryColumn({ type: 'text' })
  scope!: string;

  @Column({ type: 'text' })
  state!: string;

  @Column({ type: 'text' })
  reason!: string;

  @Column({ type: 'jsonb' })
  actor!: { id: string; kind: string; role?: string };

  @Column({ type: 'timestamptz' })
  since!: Date;

  @Column({ type: 'integer' })
  version!: number;
}

/** Every change ever made, never updated. */
@Entity({ name: 'kill_switch_change' })
export class KillSwitchChangeRow {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ type: 'text' })
  scope!: string;

  @Column({ type: 'text', name: 'from_state' })
  fromState!: string;

  @Column({ type: 'text', name: 'to_state' })
  toState!: string;

  @Column({ type: 'text' })
  reason!: string;

  @Column({ type: 'jsonb' })
  actor!: { id: string; kind: string; role?: string };

  @Column({ type: 'timestamptz', name: 'changed_at' })
  changedAt!: Date;

  @Column({ type: 'integer' })
  version!: number;

  @Column({ type: 'text', name: 'correlation_id' })
  correlationId!: string;
}
