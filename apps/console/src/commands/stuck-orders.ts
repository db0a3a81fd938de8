import type { Order } from '@garde/contracts';
import { EXIT } from '../api-client.js';
import { str, UsageError } from '../args.js';
import type { Command } from '../command.js';
import { table, when } from '../output.js';

export const ordersStuck: Command = {
  name: 'exchange:orders:stuck',
  summary: 'Orders not final whose venue has not reported on them for too long (RB-005)',
  usage: ['exchange:orders:stuck [--exchange=<exchange-id>] [--json]'],
  values: ['exchange'],
  flags: [],
  async run(args, ctx) {
    const exchange = str(args, 'exchange');
    const { stuckAfterMs, orders } = await ctx.api.call<{ stuckAfterMs: number; orders: Order[] }>(
      'GET',
      `/api/v1/stuck-orders${exchange ? `?exchange=${encodeURIComponent(exchange)}` : ''}`,
    );
    if (ctx.json) ctx.out(JSON.stringify({ stuckAfterMs, orders }));
    else if (orders.length === 0) ctx.out(`No stuck order (no venue report for more than ${stuckAfterMs / 1000} s).`);
    else {
      ctx.out(
        table(
          ['CLIENT ORDER ID', 'EXCHANGE', 'STATE', 'ORDER', 'FILLED', 'UPDATED', 'LAST ERROR'],
          orders.map((o) => [
            o.clientOrderId,
            o.exchangeId,
            o.state,
            `${o.side} ${o.quantity} ${o.symbol}${o.price ? ` @ ${o.price}` : ''}`,
            o.filled,
            when(o.updatedAt),
            o.lastError ?? '',
          ]),
        ),
      );
      ctx.out(`\n${orders.length} stuck order(s). Settle one with: bin/console exchange:order:resolve <client-order-id>`);
    }
    return EXIT.OK;
  },
};

export const orderResolve: Command = {
  name: 'exchange:order:resolve',
  summary: 'Ask the venue what an order is and record it (never re-sends; LOST if the venue has none)',
  usage: ['exchange:order:resolve <client-order-id> [--json]'],
  values: [],
  flags: [],
  async run(args, ctx) {
    if (args.positionals.length !== 1) throw new UsageError('name one order: exchange:order:resolve <client-order-id>');
    const order = await ctx.api.call<Order>('POST', `/api/v1/orders/${encodeURIComponent(args.positionals[0]!)}/resolve`, {});
    ctx.out(
      ctx.json
        ? JSON.stringify(order)
        : `Order ${order.clientOrderId}: ${order.state} (filled ${order.filled} of ${order.quantity})${order.lastError ? `\n  ${order.lastError}` : ''}`,
    );
    return order.state === 'LOST' ? EXIT.REFUSED : EXIT.OK;
  },
};
