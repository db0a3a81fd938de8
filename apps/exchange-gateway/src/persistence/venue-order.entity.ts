import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Every order sent (or about to be sent) to a venue; the client order id makes a submit idempotent. */
@Entity({ name: 'venue_order' })
export class VenueOrderRow {
  @PrimaryColumn({ type: 'text', name: 'client_order_id' })
  clientOrderId!: string;

  @Column({ type: 'text', name: 'venue_order_id', nullable: true })
  venueOrderId!: string | null;

  @Column({ type: 'text', name: 'account_id' })
  accountId!: string;

  @Column({ type: 'text', name: 'exchange_id' })
  exchangeId!: string;

  @Column({ type: 'text', name: 'bot_id', nullable: true })
  botId!: string | null;

  @Column({ type: 'text' })
  symbol!: string;

  @Column({ type: 'text' })
  side!: 'buy' | 'sell';

  @Column({ type: 'text' })
  type!: 'limit' | 'market';

  /** Decimal strings, never floats. */
  @Column({ type: 'numeric' })
  quantity!: string;

  @Column({ type: 'numeric', nullable: true })
  price!: string | null;

  @Column({ type: 'text' })
  state!: string;

  @Column({ type: 'numeric' })
  filled!: string;

  /** Its filled quantity is ahead of its recorded fills: they are still to be read from the venue. */
  @Column({ type: 'boolean', name: 'fills_pending', default: false })
  fillsPending!: boolean;

  @Column({ type: 'text', name: 'last_error', nullable: true })
  lastError!: string | null;

  /** Lookups made at the venue while UNKNOWN. */
  @Column({ type: 'integer', default: 0 })
  lookups!: number;

  /** When the next lookup of an UNKNOWN order is due. */
  @Column({ type: 'timestamptz', name: 'next_check_at', nullable: true })
  nextCheckAt!: Date | null;

  /** When the venue last reported on it (answer, poll, lookup). */
  @Column({ type: 'timestamptz', name: 'venue_seen_at', nullable: true })
  venueSeenAt!: Date | null;

  @Column({ type: 'text', name: 'correlation_id' })
  correlationId!: string;

  @Column({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;

  @Column({ type: 'timestamptz', name: 'updated_at' })
  updatedAt!: Date;
}
