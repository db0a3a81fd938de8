import { KillSwitchChangeRow, KillSwitchScopeRow } from './kill-switch.entities.js';
import { KillSwitch1764230400000 } from './migrations/1764230400000-kill-switch.js';
import { ChangeKillSwitchFunction1764230500000 } from './migrations/1764230500000-change-kill-switch-function.js';

export const RISK_SCHEMA = 'risk';
export const riskEntities = [KillSwitchScopeRow, KillSwitchChangeRow];
export const riskMigrations = [KillSwitch1764230400000, ChangeKillSwitchFunction1764230500000];
export { KillSwitchScopeRow, KillSwitchChangeRow };
export * from './kill-switch.repository.js';
