import type { VenueHealth } from '@garde/contracts';
import { EXIT } from '../api-client.js';
import { str } from '../args.js';
import type { Command } from '../command.js';
import { table, when } from '../output.js';

export const exchangeHealthCheck: Command = {
  name: 'exchange:health:check',
  summary: 'Venue health per exchange account: CONNECTED / DEGRADED / DISCONNECTED (exit 1 if any is DISCONNECTED)',
  usage: ['exchange:health:check [--exchange=<exchange-id>] [--json]'],
  values: ['exchange'],
  flags: [],
  async run(args, ctx) {
    const exchange = str(args, 'exchange');
    const { venues } = await ctx.api.call<{ venues: VenueHealth[] }>(
      'GET',
      `/api/v1/venues/health${exchange ? `?exchange=${encodeURIComponent(exchange)}` : ''}`,
    );
    if (ctx.json) ctx.out(JSON.stringify({ venues }));
    else if (venues.length === 0) ctx.out(exchange ? `No exchange account for ${exchange}.` : 'No exchange account is configured.');
    else
      ctx.out(
        table(
          ['EXCHANGE', 'ACCOUNT', 'STATE', 'LATENCY', 'FAILURES', 'SINCE', 'LAST ERROR'],
          venues.map((v) => [
            v.exchangeId,
            v.accountId,
            v.state + (v.reconciling ? ' (reconciling)' : ''),
            v.latencyMs === null ? '-' : `${v.latencyMs} ms`,
            String(v.consecutiveFailures),
            when(v.since),
            v.lastError ?? '',
          ]),
        ),
      );
    return venues.some((v) => v.state === 'DISCONNECTED') ? EXIT.REFUSED : EXIT.OK;
  },
};
