import { randomUUID } from 'node:crypto';
import type { SubmitOrder } from '@garde/contracts';

/** A valid limit order (0.01 BTC/USDT at 65000 on binance) with a fresh client order id; override any field. */
export function testOrder(overrides: Partial<SubmitOrder> | Record<string, unknown> = {}): SubmitOrder {
  return {
    clientOrderId: `t-${randomUUID().slice(0, 13)}`,
    exchangeId: 'binance',
    symbol: 'BTC/USDT',
    side: 'buy',
    type: 'limit',
    quantity: '0.01',
    price: '65000',
    reduceOnly: false,
    ...overrides,
  };
}
