import { ExchangeAccountRow } from './exchange-account.entity.js';
import { ExchangeAccounts1764489600000 } from './migrations/1764489600000-exchange-accounts.js';
import { VenueOrders1764576000000 } from './migrations/1764576000000-venue-orders.js';
import { OrderLookups1764576100000 } from './migrations/1764576100000-order-lookups.js';
import { VenueOrderRow } from './venue-order.entity.js';
import { VenueFillRow } from './venue-fill.entity.js';
import { VenueFills1764576200000 } from './migrations/1764576200000-venue-fills.js';
import { VenueSeenAt1764576300000 } from './migrations/1764576300000-venue-seen-at.js';
import { RateLimitHalt1764662400000 } from './migrations/1764662400000-rate-limit-halt.js';
import { FillsPending1764662500000 } from './migrations/1764662500000-fills-pending.js';
import { BotOrders1764662700000 } from './migrations/1764662700000-bot-orders.js';
import { LiveMarkets1764662800000 } from './migrations/1764662800000-live-markets.js';

export const GATEWAY_SCHEMA = 'gateway';
export const gatewayEntities = [ExchangeAccountRow, VenueOrderRow, VenueFillRow];
export const gatewayMigrations = [
  ExchangeAccounts1764489600000,
  VenueOrders1764576000000,
  OrderLookups1764576100000,
  VenueFills1764576200000,
  VenueSeenAt1764576300000,
  RateLimitHalt1764662400000,
  FillsPending1764662500000,
  BotOrders1764662700000,
  LiveMarkets1764662800000,
];
