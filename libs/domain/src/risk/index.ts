export * from './limits.js';
export * from './market-quote.js';
export * from './exposure-book.js';
export * from './pre-trade-checks.js';
