import { z } from 'zod';
import { DECIMAL_PATTERN, isPositiveDecimal } from '@garde/domain';
import { defineEvent, defineRequest } from './catalog.js';
import { BotId, ExchangeId, MarketSymbol } from './bots.js';
import { ErrorBody } from './errors.js';

/** A positive decimal string, never a JS number: `0.01`, `65000.5`. */
export const PositiveDecimal = z
  .string()
  .regex(DECIMAL_PATTERN, 'expected a decimal string such as "0.01"')
  .refine(isPositiveDecimal, 'must be greater than zero');

export const SubmitOrder = z
  .object({
    /** Idempotency key: the same id twice never makes two orders. */
    clientOrderId: z.string().regex(/^[A-Za-z0-9_-]{1,36}$/, 'expected 1-36 letters, digits, "_" or "-"'),
    /** The bot that sends it; absent for an operator's manual order. */
    botId: BotId.optional(),
    exchangeId: ExchangeId,
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

export const OrderAccepted = z.object({
  clientOrderId: z.string(),
  /** Order state after submission. */
  state: z.string(),
});

export const OrderSubmitCmd = defineRequest({ type: 'gateway.cmd.order.submit', payload: SubmitOrder, result: OrderAccepted });

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
