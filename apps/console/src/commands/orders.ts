import { randomUUID } from 'node:crypto';
import { EXIT } from '../api-client.js';
import { flag, str, UsageError } from '../args.js';
import type { Command } from '../command.js';

export const orderSubmit: Command = {
  name: 'order:submit',
  summary: 'Send a manual order through the gateway (kill-switch gate; no venue connectivity yet)',
  usage: [
    'order:submit --exchange=<exchange-id> --symbol=<BASE/QUOTE> --side=<buy|sell> --type=<limit|market> --quantity=<decimal> [--price=<decimal>] [--bot=<bot-id>] [--client-order-id=<id>] [--reduce-only] [--json]',
  ],
  values: ['exchange', 'symbol', 'side', 'type', 'quantity', 'price', 'bot', 'client-order-id'],
  flags: ['reduce-only'],
  async run(args, ctx) {
    const missing = ['exchange', 'symbol', 'side', 'type', 'quantity'].filter((k) => !str(args, k));
    if (missing.length) throw new UsageError(`missing ${missing.map((m) => `--${m}`).join(', ')}`);
    const result = await ctx.api.call<{ clientOrderId: string; state: string }>('POST', '/api/v1/orders', {
      clientOrderId: str(args, 'client-order-id') ?? `manual-${randomUUID().slice(0, 18)}`,
      exchangeId: str(args, 'exchange'),
      symbol: str(args, 'symbol'),
      side: str(args, 'side'),
      type: str(args, 'type'),
      quantity: str(args, 'quantity'),
      ...(str(args, 'price') ? { price: str(args, 'price') } : {}),
      ...(str(args, 'bot') ? { botId: str(args, 'bot') } : {}),
      reduceOnly: flag(args, 'reduce-only'),
    });
    ctx.out(ctx.json ? JSON.stringify(result) : `Order ${result.clientOrderId}: ${result.state}`);
    return EXIT.OK;
  },
};
