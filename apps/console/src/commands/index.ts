import type { Command } from '../command.js';
import { auditErrors, auditTrail, auditVerify } from './audit.js';
import { auditExport, auditPublicKey, auditPurge } from './audit-export.js';
import { hashToken } from './auth.js';
import { botCreate, botPause, botResume, botStart, botStatus, botStop } from './bots.js';
import { activateKillSwitch, deactivateKillSwitch, killSwitchStatus } from './kill-switch.js';
import { riskLimitsSet, riskLimitsShow } from './risk-limits.js';
import { riskExposureReport } from './risk-exposure.js';
import { portfolioDiscrepancies, portfolioReconcile } from './portfolio.js';
import { orderSubmit } from './orders.js';
import { orderCancel } from './order-cancel.js';
import { exchangeHealthCheck } from './exchange-health.js';
import { rateLimitResume, rateLimitStatus } from './rate-limits.js';
import { marketTickers } from './market-data.js';
import { orderResolve, ordersStuck } from './stuck-orders.js';
import { exchangeAccountAdd, exchangeAccountList, exchangeAccountRemove } from './exchange-accounts.js';

/** Every command of bin/console, in the order `help` lists them. */
export const COMMANDS: readonly Command[] = [
  activateKillSwitch,
  deactivateKillSwitch,
  killSwitchStatus,
  riskLimitsShow,
  riskLimitsSet,
  riskExposureReport,
  portfolioDiscrepancies,
  portfolioReconcile,
  botCreate,
  botStatus,
  botStart,
  botPause,
  botResume,
  botStop,
  orderSubmit,
  orderCancel,
  exchangeHealthCheck,
  rateLimitStatus,
  rateLimitResume,
  marketTickers,
  ordersStuck,
  orderResolve,
  exchangeAccountAdd,
  exchangeAccountList,
  exchangeAccountRemove,
  auditVerify,
  auditErrors,
  auditTrail,
  auditExport,
  auditPublicKey,
  auditPurge,
  hashToken,
];
