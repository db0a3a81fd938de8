import { Column, Entity, PrimaryColumn } from 'typeorm';

/** An exchange account; its API key and secret are sealed with the master key (never stored in clear). */
@Entity({ name: 'exchange_account' })
export class ExchangeAccountRow {
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Column({ type: 'text', name: 'exchange_id' })
  exchangeId!: string;

  @Column({ type: 'text', name: 'ccxt_id' })
  ccxtId!: string;

  @Column({ type: 'text', name: 'url_override', nullable: true })
  urlOverride!: string | null;

  @Column({ type: 'boolean' })
  sandbox!: boolean;

  @Column({ type: 'text', name: 'api_key_sealed' })
  apiKeySealed!: string;

  @Column({ type: 'text', name: 'secret_sealed' })
  secretSealed!: string;

  @Column({ type: 'text', name: 'api_key_hint' })
  apiKeyHint!: string;

  @Column({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;

  @Column({ type: 'text', name: 'created_by' })
  createdBy!: string;

  /** Set while the account is HALTED after a venue ban (RB-004): reason, since and ban end (ISO-8601). */
  @Column({ type: 'jsonb', name: 'rate_limit_halt', nullable: true })
  rateLimitHalt!: { reason: string; since: string; bannedUntil: string } | null;
}
