import { Injectable } from '@nestjs/common';
import {
  BotOrdersCancelFailedEvt,
  BotOrdersCanceledEvt,
  type BotOrderReport,
  type BotOrdersCancellation,
  type CancelBotOrders as CancelBotOrdersInput,
} from '@garde/contracts';
import { MessageBus, type MessageContext } from '@garde/platform';
import { GatewayException } from '../../errors/gateway.exception.js';
import type { VenueOrderRow } from '../../persistence/venue-order.entity.js';
import { VenueOrderRepository, plain } from '../../persistence/venue-order.repository.js';
import { BOT_CANCEL_ALL_SWEEP, CancelOrdersInScope } from '../cancel-orders-in-scope/cancel-orders-in-scope.use-case.js';

/** States in which an order may still be open at its venue. */
const MAY_BE_OPEN = new Set(['OPEN', 'PARTIALLY_FILLED', 'PENDING_CANCEL']);
/** States whose outcome at the venue is not known yet. */
const UNSETTLED = new Set(['UNKNOWN', 'PENDING_SUBMIT']);

/**
 * `bot:stop --cancel-orders` at the gateway: every order of one bot cancelled at its venues and the
 * venues asked until none is left, through the kill switch's sweep of the scope `bot:<botId>` (cancels
 * never gated). Each cancel is published with the requester's actor and correlation id, then one event
 * says how it ended (error level when not flat, so `audit:errors` finds it). Asked again, it does the
 * same again: cancels are idempotent.
 */
@Injectable()
export class CancelBotOrders {
  constructor(
    private readonly sweeper: CancelOrdersInScope,
    private readonly orders: VenueOrderRepository,
    private readonly bus: MessageBus,
  ) {}

  async execute(input: CancelBotOrdersInput, ctx: MessageContext): Promise<BotOrdersCancellation> {
    const swept = await this.sweeper.sweep({ kind: 'bot', id: input.botId }, `bot ${input.botId} stopped: ${input.reason}`, ctx, BOT_CANCEL_ALL_SWEEP);
    // No `stopping` was given: a sweep is never interrupted here.
    if (swept === 'interrupted') throw new GatewayException('UNAVAILABLE', `the gateway is shutting down: the orders of bot ${input.botId} may still be open`);
    const openAtVenue = new Set(Object.values(swept.stillOpen).flat());
    const result: BotOrdersCancellation = {
      botId: input.botId,
      canceled: [],
      ended: [],
      stillOpen: [],
      unsettled: [],
      unreachable: swept.unreachable,
      flat: false,
      elapsedMs: swept.elapsedMs,
    };
    for (const row of await this.orders.byIds(swept.seen)) {
      const report = reportOf(row);
      if (openAtVenue.has(row.clientOrderId) || MAY_BE_OPEN.has(row.state)) result.stillOpen.push(report);
      else if (UNSETTLED.has(row.state)) result.unsettled.push(report);
      else if (row.state === 'CANCELED') result.canceled.push(report);
      else result.ended.push(report);
    }
    result.flat = swept.settled && result.stillOpen.length === 0 && result.unsettled.length === 0 && result.unreachable.length === 0;
    try {
      await this.bus.publish(result.flat ? BotOrdersCanceledEvt : BotOrdersCancelFailedEvt, { ...result, reason: input.reason }, ctx, input.botId);
    } catch (err) {
      throw new GatewayException(
        'UNAVAILABLE',
        `the orders of bot ${input.botId} were swept (${result.flat ? 'none left open' : 'some may still be open'}), but the audit event could not be published (${String(err)})`,
      );
    }
    return result;
  }
}

function reportOf(row: VenueOrderRow): BotOrderReport {
  return {
    clientOrderId: row.clientOrderId,
    state: row.state as BotOrderReport['state'],
    side: row.side,
    price: row.price === null ? null : plain(row.price),
    quantity: plain(row.quantity),
    filled: plain(row.filled),
    lastError: row.lastError,
  };
}
