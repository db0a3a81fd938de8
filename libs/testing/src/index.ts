export * from './sandbox.js';
export * from './tcp-proxy.js';
export * from './processes.js';
export * from './orders.js';
export * from './nats-server.js';
