import type { EventDef, EventLevel } from './catalog.js';
import { BotCreatedEvt, BotFailedEvt, BotStateChangedEvt } from './bots.js';
import { KillSwitchActivatedEvt, KillSwitchDeactivatedEvt } from './kill-switch.js';
import {
  BotIntentSentEvt,
  BotOrdersCancelFailedEvt,
  BotOrdersCanceledEvt,
  FlatConfirmedEvt,
  FlatFailedEvt,
  OrderAcceptedEvt,
  OrderCanceledEvt,
  OrderFilledEvt,
  OrderLostEvt,
  OrderRefusedEvt,
  OrderRejectedEvt,
  OrderSettledEvt,
  OrderUnknownEvt,
} from './orders.js';
import { ExchangeAccountAddedEvt, ExchangeAccountRemovedEvt } from './accounts.js';
import { RateLimitChangedEvt, VenueHealthChangedEvt } from './venues.js';
import { AuditTrailPurgedEvt } from './audit.js';
import { OrderApprovedEvt, OrderDeniedEvt, RiskLimitsChangedEvt } from './risk-checks.js';
import { DiscrepancyFoundEvt, LedgerAdjustedEvt, LedgerOpenedEvt } from './reconciliation.js';

/** Every event type, so a consumer (the audit-service) can validate and grade what it receives. */
export const EVENT_CATALOG: ReadonlyMap<string, EventDef> = new Map(
  [
    KillSwitchActivatedEvt,
    KillSwitchDeactivatedEvt,
    OrderApprovedEvt,
    OrderDeniedEvt,
    RiskLimitsChangedEvt,
    DiscrepancyFoundEvt,
    LedgerOpenedEvt,
    LedgerAdjustedEvt,
    BotCreatedEvt,
    BotStateChangedEvt,
    BotFailedEvt,
    BotIntentSentEvt,
    OrderRefusedEvt,
    OrderAcceptedEvt,
    OrderRejectedEvt,
    OrderUnknownEvt,
    OrderSettledEvt,
    OrderLostEvt,
    OrderCanceledEvt,
    OrderFilledEvt,
    FlatConfirmedEvt,
    FlatFailedEvt,
    BotOrdersCanceledEvt,
    BotOrdersCancelFailedEvt,
    ExchangeAccountAddedEvt,
    ExchangeAccountRemovedEvt,
    VenueHealthChangedEvt,
    RateLimitChangedEvt,
    AuditTrailPurgedEvt,
  ].map((d) => [d.type, d as EventDef]),
);

/**
 * Level of an event: its type's, or, for a type graded event by event, what its payload says (a payload
 * its schema refuses gets the type's level). Unknown types (from a newer producer) are `info`.
 */
export function eventLevel(type: string, payload?: unknown): EventLevel {
  const def = EVENT_CATALOG.get(type);
  if (!def) return 'info';
  if (def.levelOf && payload !== undefined) {
    const parsed = def.payload.safeParse(payload);
    if (parsed.success) return def.levelOf(parsed.data);
  }
  return def.level;
}
