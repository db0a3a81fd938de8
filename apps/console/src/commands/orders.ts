import { randomUUID } from 'node:crypto';
import type { Order } from '@garde/contracts';
import { EXIT } from '../api-client.js';
import { flag, str, UsageError } from '../args.js';
import type { Command } from '../command.js';

export const orderSubmit: Command = {
  name: 'order:submit',
  summary: 'Send a manual order through the gateway to its venue (exit 1 when REJECTED or UNKNOWN)',
  usage: [
    'order:submit --exchange=<exchange-id> --symbol=<BASE/QUOTE> --side=<buy|sell> --type=<limit|market> --quantity=<decimal> [--price=<decimal>] [--account=<account-id>] [--bot=<bot-id>] [--client-order-id=<id>] [--reduce-only] [--json]',
  ],
  values: ['exchange', 'symbol', 'side', 'type', 'quantity', 'price', 'account', 'bot', 'client-order-id'],
  flags: ['reduce-only'],
  async run(args, ctx) {
    const missing = ['exchange', 'symbol', 'side', 'type', 'quantity'].filter((k) => !str(args, k));
    if (missing.length) throw new UsageError(`missing ${missing.map((m) => `--${m}`).join(', ')}`);
    const order = await ctx.api.call<Order>('POST', '/api/v1/orders', {
      clientOrderId: str(args, 'client-order-id') ?? `manual-${randomUUID().slice(0, 18)}`,
      exchangeId: str(args, 'exchange'),
      symbol: str(args, 'symbol'),
      side: str(args, 'side'),
      type: str(args, 'type'),
      quantity: str(args, 'quantity'),
      ...(str(args, 'price') ? { price: str(args, 'price') } : {}),
      ...(str(args, 'bot') ? { botId: str(args, 'bot') } : {}),
      ...(str(args, 'account') ? { accountId: str(args, 'account') } : {}),
      reduceOnly: flag(args, 'reduce-only'),
    });
    ctx.out(
      ctx.json
        ? JSON.stringify(order)
        : `Order ${order.clientOrderId} on ${order.accountId}: ${order.state} (${order.side} ${order.quantity} ${order.symbol}${order.price ? ` at ${order.price}` : ''}, filled ${order.filled})${order.lastError ? `\n  ${order.lastError}` : ''}`,
    );
    // Not at the venue, or not known to be: the caller must look before acting again.
    return order.state === 'REJECTED' || order.state === 'UNKNOWN' ? EXIT.REFUSED : EXIT.OK;
  },
};
