import { KillSwitchChangeRow, KillSwitchScopeRow } from './kill-switch.entities.js';
import { RiskLimitVersionRow } from './risk-limits.entities.js';
import { KillSwitch1764230400000 } from './migrations/1764230400000-kill-switch.js';
import { ChangeKillSwitchFunction1764230500000 } from './migrations/1764230500000-change-kill-switch-function.js';
import { RiskLimits1765200000000 } from './migrations/1765200000000-risk-limits.js';
import { PortfolioLedger1765350000000 } from './migrations/1765350000000-portfolio-ledger.js';

export const RISK_SCHEMA = 'risk';
export const riskEntities = [KillSwitchScopeRow, KillSwitchChangeRow, RiskLimitVersionRow];
export const riskMigrations = [KillSwitch1764230400000, ChangeKillSwitchFunction1764230500000, RiskLimits1765200000000, PortfolioLedger1765350000000];
export { KillSwitchScopeRow, KillSwitchChangeRow, RiskLimitVersionRow };
export * from './kill-switch.repository.js';
export * from './risk-limits.repository.js';
export * from './ledger.repository.js';
export * from './discrepancy.repository.js';
