import type { Order } from '@garde/contracts';
import { EXIT } from '../api-client.js';
import { str, UsageError } from '../args.js';
import type { Command } from '../command.js';

export const orderCancel: Command = {
  name: 'exchange:order:cancel',
  summary: 'Cancel one order at its venue (never blocked by the kill switch)',
  usage: ['exchange:order:cancel <client-order-id> --reason="…" [--json]'],
  values: ['reason'],
  flags: [],
  async run(args, ctx) {
    if (args.positionals.length !== 1) throw new UsageError('name one order: exchange:order:cancel <client-order-id> --reason="…"');
    const reason = str(args, 'reason');
    if (!reason?.trim()) throw new UsageError('a reason is required: --reason="why"');
    const order = await ctx.api.call<Order>('POST', `/api/v1/orders/${encodeURIComponent(args.positionals[0]!)}/cancel`, { reason });
    ctx.out(ctx.json ? JSON.stringify(order) : `Order ${order.clientOrderId}: ${order.state} (filled ${order.filled} of ${order.quantity})`);
    return EXIT.OK;
  },
};
