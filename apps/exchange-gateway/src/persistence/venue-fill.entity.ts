import { Column, Entity, PrimaryColumn } from 'typeorm';

/** One execution at a venue, recorded once (account + venue trade id). */
@Entity({ name: 'venue_fill' })
export class VenueFillRow {
  @PrimaryColumn({ type: 'text', name: 'account_id' })
  accountId!: string;

  @PrimaryColumn({ type: 'text', name: 'trade_id' })
  tradeId!: string;

  @Column({ type: 'text', name: 'client_order_id' })
  clientOrderId!: string;

  @Column({ type: 'numeric' })
  price!: string;

  @Column({ type: 'numeric' })
  quantity!: string;

  @Column({ type: 'numeric' })
  fee!: string;

  @Column({ type: 'text', name: 'fee_currency', nullable: true })
  feeCurrency!: string | null;

  @Column({ type: 'timestamptz', name: 'executed_at' })
  executedAt!: Date;
}
