export * from './kill-switch.js';
export * from './bot-lifecycle.js';
export * from './audit-chain.js';
export * from './decimal-math.js';
export * from './order-state.js';
export * from './rate-budget.js';
