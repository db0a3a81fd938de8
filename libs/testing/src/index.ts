export * from './sandbox.js';
export * from './tcp-proxy.js';
