import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import type { Actor } from '@garde/contracts';

/** One bot: its definition and its current lifecycle state. */
@Entity({ name: 'bot' })
export class BotRow {
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text' })
  strategy!: string;

  @Column({ type: 'jsonb' })
  parameters!: Record<string, unknown>;

  @Column({ type: 'text', name: 'exchange_id' })
  exchangeId!: string;

  @Column({ type: 'text' })
  symbol!: string;

  @Column({ type: 'text' })
  state!: string;

  @Column({ type: 'text', name: 'state_reason' })
  stateReason!: string;

  /** Id of the actor who put the bot in its state. */
  @Column({ type: 'text', name: 'state_actor' })
  stateActor!: string;

  @Column({ type: 'timestamptz', name: 'state_since' })
  stateSince!: Date;

  @Column({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;

  /** +1 per change of the row. */
  @Column({ type: 'integer' })
  version!: number;
}

/** Every lifecycle transition ever made, never updated. */
@Entity({ name: 'bot_transition' })
export class BotTransitionRow {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ type: 'text', name: 'bot_id' })
  botId!: string;

  /** Null for the creation. */
  @Column({ type: 'text', name: 'from_state', nullable: true })
  fromState!: string | null;

  @Column({ type: 'text', name: 'to_state' })
  toState!: string;

  @Column({ type: 'text' })
  reason!: string;

  @Column({ type: 'jsonb' })
  actor!: Actor;

  /** The kill-switch scope behind a HALT, if any. */
  @Column({ type: 'text', nullable: true })
  scope!: string | null;

  @Column({ type: 'timestamptz' })
  at!: Date;

  @Column({ type: 'text', name: 'correlation_id' })
  correlationId!: string;
}
