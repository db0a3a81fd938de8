import { z } from 'zod';
import { defineRequest } from './catalog.js';
import { SubmitOrder } from './orders.js';

/** Why risk-service denies an order: a closed set (more checks come with the risk issue). */
export const DenialReason = z.enum([
  /** A kill-switch scope covering the order is HALTED. */
  'KILL_SWITCH_HALTED',
  /** A covering scope is REDUCING and the order does not reduce a position. */
  'KILL_SWITCH_REDUCING',
  /** risk-service does not know the kill-switch state (fail closed). */
  'RISK_STATE_UNKNOWN',
]);
export type DenialReason = z.infer<typeof DenialReason>;

export const OrderCheckDecision = z.discriminatedUnion('decision', [
  z.object({ decision: z.literal('APPROVED') }),
  z.object({
    decision: z.literal('DENIED'),
    reason: DenialReason,
    /** What the denial is about, for people. */
    message: z.string(),
    /** The kill-switch scope that denies it, when that is the reason. */
    scope: z.string().optional(),
  }),
]);
export type OrderCheckDecision = z.infer<typeof OrderCheckDecision>;

/** The pre-trade check the gateway asks before an order leaves (DESIGN §4); no answer in time = refused. */
export const OrderCheckQry = defineRequest({ type: 'risk.qry.order.check', payload: SubmitOrder, result: OrderCheckDecision });
