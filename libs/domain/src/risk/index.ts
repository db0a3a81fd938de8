export * from './limits.js';
export * from './market-quote.js';
export * from './exposure-book.js';
export * from './pre-trade-checks.js';
export * from './reconciliation.js';
export * from './pnl-ledger.js';
export * from './loss-limits.js';
