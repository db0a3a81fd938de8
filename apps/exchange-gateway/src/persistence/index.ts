import { ExchangeAccountRow } from './exchange-account.entity.js';
import { ExchangeAccounts1764489600000 } from './migrations/1764489600000-exchange-accounts.js';

export const GATEWAY_SCHEMA = 'gateway';
export const gatewayEntities = [ExchangeAccountRow];
export const gatewayMigrations = [ExchangeAccounts1764489600000];
