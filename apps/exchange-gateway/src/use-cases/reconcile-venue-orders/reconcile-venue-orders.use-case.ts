import { Injectable } from '@nestjs/common';
import { SettleUnknownOrders } from '../settle-unknown-orders/settle-unknown-orders.use-case.js';
import { TrackOpenOrders } from '../track-open-orders/track-open-orders.use-case.js';

/** Reads, now, what became of one account's live orders (after its venue was away): UNKNOWN ones looked up, open ones polled. */
@Injectable()
export class ReconcileVenueOrders {
  constructor(
    private readonly settle: SettleUnknownOrders,
    private readonly track: TrackOpenOrders,
  ) {}

  async execute(accountId: string): Promise<void> {
    const everythingDue = new Date(8.64e15);
    await this.settle.execute(everythingDue, accountId);
    await this.track.execute(everythingDue, accountId);
  }
}
