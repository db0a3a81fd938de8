export * from './kill-switch.js';
export * from './bot-lifecycle.js';
export * from './audit-chain.js';
export * from './decimal.js';
