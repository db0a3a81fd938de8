import { z } from 'zod';
import { DECIMAL_PATTERN, ORDER_STATES, SCOPE_ID_PATTERN, isPositiveDecimal } from '@garde/domain';
import { defineEvent, defineRequest } from './catalog.js';
import { BotId, BotOrdersCancellation, ExchangeId, MarketSymbol } from './bots.js';
import { ErrorBody } from './errors.js';
import { Reason } from './kill-switch.js';

/**
 * A positive decimal string, never a JS number: `0.01`, `65000.5`. One message for one fault: `-1`, `5e4`
 * or `1,000` are not in the wire format; `0` is, and is not greater than zero.
 */
export const PositiveDecimal = z
  .string()
  .regex(DECIMAL_PATTERN, 'expected a positive decimal string such as "0.01" (digits and one optional ".", no sign, exponent or separator)')
  // Judged only in the wire format: "not greater than zero" would be wrong about `5e4`.
  .refine(isPositiveDecimal, { message: 'must be greater than zero', when: (payload) => payload.issues.length === 0 });

export const SubmitOrder = z
  .object({
    /** Idempotency key: the same id twice never makes two orders. */
    clientOrderId: z.string().regex(/^[A-Za-z0-9_-]{1,36}$/, 'expected 1-36 letters, digits, "_" or "-"'),
    /** The bot that sends it; absent for an operator's manual order. */
    botId: BotId.optional(),
    exchangeId: ExchangeId,
    /** The exchange account to trade with; when absent, the one account configured for `exchangeId`. */
    accountId: z.string().regex(SCOPE_ID_PATTERN, 'expected 1-64 letters, digits, "_", "-" or "."').optional(),
    symbol: MarketSymbol,
    side: z.enum(['buy', 'sell']),
    type: z.enum(['limit', 'market']),
    /** Base quantity. */
    quantity: PositiveDecimal,
    /** Limit price; required for limit orders, absent for market orders. */
    price: PositiveDecimal.optional(),
    /** True when the sender asserts the order only shrinks a position (passes a REDUCING scope). */
    reduceOnly: z.boolean().default(false),
  })
  .refine((o) => (o.type === 'limit') === (o.price !== undefined), {
    message: 'a limit order needs a price and a market order must not have one',
    path: ['price'],
  });
export type SubmitOrder = z.infer<typeof SubmitOrder>;

export const OrderState = z.enum(ORDER_STATES);
export type OrderState = z.infer<typeof OrderState>;

/** An order as the gateway knows it. Amounts are decimal strings. */
export const Order = z.object({
  clientOrderId: z.string(),
  /** The venue's id for it, once the venue has answered. */
  venueOrderId: z.string().nullable(),
  accountId: z.string(),
  exchangeId: z.string(),
  botId: z.string().nullable(),
  symbol: z.string(),
  side: z.enum(['buy', 'sell']),
  type: z.enum(['limit', 'market']),
  quantity: z.string(),
  price: z.string().nullable(),
  state: OrderState,
  /** Base quantity filled so far, as the venue last reported it. */
  filled: z.string(),
  /** Why the venue rejected it, or why its outcome is unknown. */
  lastError: z.string().nullable(),
  createdAt: z.iso.datetime({ offset: true }),
  updatedAt: z.iso.datetime({ offset: true }),
});
export type Order = z.infer<typeof Order>;

export const OrderSubmitCmd = defineRequest({ type: 'gateway.cmd.order.submit', payload: SubmitOrder, result: Order });

/** The venue acknowledged the order (OPEN, PARTIALLY_FILLED or FILLED). */
export const OrderAcceptedEvt = defineEvent({ type: 'gateway.evt.order.accepted', payload: Order });
/** The venue refused the order. */
export const OrderRejectedEvt = defineEvent({ type: 'gateway.evt.order.rejected', payload: Order, level: 'error' });
/** The venue's answer never came (timeout, 5xx, reset): the order is UNKNOWN and will be looked up, never re-sent. */
export const OrderUnknownEvt = defineEvent({ type: 'gateway.evt.order.unknown', payload: Order, level: 'warning' });
/** One execution at the venue. Amounts are decimal strings. */
export const Fill = z.object({
  /** The venue's trade id (unique per account). */
  tradeId: z.string(),
  price: z.string(),
  /** Base quantity of this execution. */
  quantity: z.string(),
  /** Fee charged, in `feeCurrency`. */
  fee: z.string(),
  feeCurrency: z.string().nullable(),
  /** When the venue executed it (ISO-8601 UTC). */
  at: z.iso.datetime({ offset: true }),
});
export type Fill = z.infer<typeof Fill>;

/** An execution of an order, recorded once per venue trade. */
export const OrderFilledEvt = defineEvent({ type: 'gateway.evt.order.filled', payload: z.object({ order: Order, fill: Fill }) });

/** The venue confirmed a cancel (CANCELED), or the order ended otherwise while being cancelled. */
export const OrderCanceledEvt = defineEvent({
  type: 'gateway.evt.order.canceled',
  payload: z.object({ order: Order, reason: z.string() }),
  level: 'warning',
});

/** After a kill-switch activation, every venue confirmed that no order of the scope is left open. */
export const FlatConfirmedEvt = defineEvent({
  type: 'gateway.evt.killswitch.flat-confirmed',
  payload: z.object({
    scope: z.string(),
    /** The kill switch's version this answers. */
    version: z.number().int(),
    /** Orders cancelled for it. */
    canceled: z.number().int().nonnegative(),
    /** Accounts asked. */
    accounts: z.array(z.string()),
    /** From the activation seen to the venues' confirmation, in ms. */
    elapsedMs: z.number().nonnegative(),
    /**
     * True when confirmed by the venues alone: the gateway could not read its database, so it cancelled
     * every open order of the scope's accounts straight at the venues; its book shows them open until the
     * database is back, when the sweep runs again and confirms once more.
     */
    venuesOnly: z.boolean().optional(),
  }),
  level: 'warning',
});

/** Orders of a halted scope still open at a venue after the confirmation deadline: a person must act. */
export const FlatFailedEvt = defineEvent({
  type: 'gateway.evt.killswitch.flat-failed',
  payload: z.object({
    scope: z.string(),
    version: z.number().int(),
    /** Client order ids (or venue ids of orders unknown to the gateway) still open, per account. */
    stillOpen: z.record(z.string(), z.array(z.string())),
    /** Accounts that could not be asked (venue unreachable). */
    unreachable: z.array(z.string()),
    elapsedMs: z.number().nonnegative(),
    /**
     * Why the gateway could not run the cancels and checks to their end (e.g. its database unreachable):
     * then what is still open is not known. The gateway keeps trying while the scope stays halted.
     */
    error: z.string().optional(),
  }),
  level: 'critical',
});

export const CancelOrder = z.object({
  clientOrderId: z.string().min(1),
  /** Why: mandatory. */
  reason: z.string().trim().min(3, 'a reason of at least 3 characters is required').max(500),
});

/** An UNKNOWN order looked up at the venue: now known (its state says what the venue has). */
export const OrderSettledEvt = defineEvent({ type: 'gateway.evt.order.settled', payload: Order, level: 'warning' });
/** The venue never heard of an UNKNOWN order after every lookup: LOST (it was not re-sent). Needs a person. */
export const OrderLostEvt = defineEvent({ type: 'gateway.evt.order.lost', payload: Order, level: 'critical' });

/** What a bot's strategy asked the gateway for: an order, or the cancel of one of its orders. */
export const BotIntent = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('place'),
    /** The order's client order id: also the correlation id of its whole story in the audit trail. */
    clientOrderId: z.string(),
    side: z.enum(['buy', 'sell']),
    type: z.enum(['limit', 'market']),
    /** Limit price (decimal string); absent for a market order. */
    price: PositiveDecimal.optional(),
    /** Base quantity (decimal string). */
    quantity: PositiveDecimal,
    /** The strategy asserts the order only shrinks its position. */
    reduceOnly: z.boolean(),
  }),
  z.object({
    kind: z.literal('cancel'),
    /** The order to cancel. */
    clientOrderId: z.string(),
  }),
]);
export type BotIntent = z.infer<typeof BotIntent>;

/**
 * A bot sent one of its strategy's intents to the gateway: the first event of an order's story in the
 * audit trail (the risk decision, the venue's answer and the fills follow under the same correlation id,
 * the client order id). Published again when an intent is sent again after a send that got no answer.
 */
export const BotIntentSentEvt = defineEvent({
  type: 'bot.evt.intent.sent',
  payload: z.object({
    botId: BotId,
    /** The strategy that made it. */
    strategy: z.string(),
    intent: BotIntent,
  }),
});

/** An order the gateway refused before it reached any venue. */
export const OrderRefusedEvt = defineEvent({
  type: 'gateway.evt.order.refused',
  payload: z.object({
    clientOrderId: z.string(),
    botId: z.string().optional(),
    exchangeId: z.string(),
    symbol: z.string(),
    side: z.string(),
    error: ErrorBody,
  }),
  level: 'error',
});

/** One asset's balance at a venue account. Amounts are decimal strings. */
export const AssetBalance = z.object({ asset: z.string(), free: z.string(), used: z.string(), total: z.string() });

export const AccountQuery = z.object({
  /** The account to ask; every account when absent. */
  accountId: z.string().optional(),
});

/** What each account's venue reports, read now; `error` when a venue could not be asked. */
export const AccountBalances = z.object({
  accounts: z.array(
    z.object({
      accountId: z.string(),
      exchangeId: z.string(),
      balances: z.array(AssetBalance),
      error: z.string().optional(),
      at: z.iso.datetime({ offset: true }),
    }),
  ),
});

export const VenueOpenOrders = z.object({
  accounts: z.array(
    z.object({
      accountId: z.string(),
      exchangeId: z.string(),
      orders: z.array(
        z.object({
          venueOrderId: z.string(),
          /** Null for an order the venue has without our client id (placed outside Garde). */
          clientOrderId: z.string().nullable(),
          symbol: z.string(),
          side: z.string(),
          price: z.string().nullable(),
          quantity: z.string(),
          filled: z.string(),
        }),
      ),
      error: z.string().optional(),
      at: z.iso.datetime({ offset: true }),
    }),
  ),
});

export type AccountBalances = z.infer<typeof AccountBalances>;
export type VenueOpenOrders = z.infer<typeof VenueOpenOrders>;

/** Balances at the venues, for reconciliation (RB-003, RB-012). */
export const BalancesQry = defineRequest({ type: 'gateway.qry.account.balances', payload: AccountQuery, result: AccountBalances });
/** Open orders at the venues, as the venues see them, for reconciliation. */
export const OpenOrdersQry = defineRequest({ type: 'gateway.qry.account.open-orders', payload: AccountQuery, result: VenueOpenOrders });

/** Cancels one order (never gated by the kill switch): what a bot asks when its strategy cancels. */
export const OrderCancelCmd = defineRequest({ type: 'gateway.cmd.order.cancel', payload: CancelOrder, result: Order });

/** An execution of one of the listed orders. */
export const OrderFill = Fill.extend({ clientOrderId: z.string() });
export type OrderFill = z.infer<typeof OrderFill>;

/**
 * A bot's orders as the gateway has them, with their recorded fills: its orders not final, and those
 * that changed since `since` (what a bot reconciles before its first new intent after a restart).
 */
export const BotOrdersQry = defineRequest({
  type: 'gateway.qry.order.list',
  payload: z.object({
    botId: z.string().min(1),
    /** Also the orders (final ones included) updated at or after this time (ISO-8601). */
    since: z.iso.datetime({ offset: true }).optional(),
  }),
  result: z.object({ orders: z.array(Order), fills: z.array(OrderFill) }),
});

/**
 * How many orders of each bot are not final in the gateway's books (being sent, open, partly filled,
 * unknown, being cancelled): what may be open at the venues, for `bot:status`. One request for a
 * whole fleet.
 */
export const BotLiveOrderCountsQry = defineRequest({
  type: 'gateway.qry.order.live-counts',
  payload: z.object({
    /** The bots asked about. */
    botIds: z.array(BotId).min(1).max(100_000),
  }),
  /** Per bot id, its orders not final; a bot without any is absent. */
  result: z.object({ counts: z.record(z.string(), z.number().int().positive()) }),
});

export const CancelBotOrders = z.object({
  /** The bot whose orders are cancelled (kill-switch scope `bot:<botId>`: its orders only). */
  botId: BotId,
  /** Why (the operator's reason for stopping the bot): recorded on every cancel. */
  reason: Reason,
});
export type CancelBotOrders = z.infer<typeof CancelBotOrders>;

/**
 * Cancels every order of one bot at its venues and confirms with them that none is left open
 * (`bot:stop --cancel-orders`, once the bot is STOPPED and sends nothing more). Never gated by the kill
 * switch. Each cancel is published with the requester's actor and correlation id. The reply says what
 * became of each order; `flat` is false when one is still open, unsettled, or a venue could not be asked.
 */
export const OrdersCancelForBotCmd = defineRequest({ type: 'gateway.cmd.order.cancel-all', payload: CancelBotOrders, result: BotOrdersCancellation });

/** A bot's orders were cancelled on request and its venues confirmed none is open (`bot:stop --cancel-orders`). */
export const BotOrdersCanceledEvt = defineEvent({
  type: 'gateway.evt.order.all-canceled',
  payload: BotOrdersCancellation.extend({ reason: z.string() }),
  level: 'warning',
});

/** Orders of a bot asked to be cancelled are still open, unsettled, or on a venue that could not be asked: a person must act. */
export const BotOrdersCancelFailedEvt = defineEvent({
  type: 'gateway.evt.order.cancel-all-failed',
  payload: BotOrdersCancellation.extend({ reason: z.string() }),
  level: 'error',
});
