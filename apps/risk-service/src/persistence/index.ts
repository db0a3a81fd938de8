import { KillSwitchChangeRow, KillSwitchScopeRow } from './kill-switch.entities.js';
import { KillSwitch1764230400000 } from './migrations/1764230400000-kill-switch.js';

export const RISK_SCHEMA = 'risk';
export const riskEntities = [KillSwitchScopeRow, KillSwitchChangeRow];
export const riskMigrations = [KillSwitch1764230400000];
export { KillSwitchScopeRow, KillSwitchChangeRow };
export * from './kill-switch.repository.js';
