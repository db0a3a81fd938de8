import type { RateLimitStatus } from '@garde/contracts';
import { EXIT } from '../api-client.js';
import { str, UsageError } from '../args.js';
import type { Command } from '../command.js';
import { table, when } from '../output.js';

const span = (ms: number) => (ms % 86_400_000 === 0 ? `${ms / 86_400_000}d` : ms % 60_000 === 0 ? `${ms / 60_000}m` : `${ms / 1000}s`);

export const rateLimitStatus: Command = {
  name: 'exchange:rate-limit:status',
  summary: "Each exchange account's rate-limit budget against the venue's limits, and its state (exit 1 if any is PAUSED or HALTED)",
  usage: ['exchange:rate-limit:status [--exchange=<exchange-id>] [--json]'],
  values: ['exchange'],
  flags: [],
  async run(args, ctx) {
    const exchange = str(args, 'exchange');
    const { accounts } = await ctx.api.call<{ accounts: RateLimitStatus[] }>(
      'GET',
      `/api/v1/venues/rate-limits${exchange ? `?exchange=${encodeURIComponent(exchange)}` : ''}`,
    );
    if (ctx.json) ctx.out(JSON.stringify({ accounts }));
    else if (accounts.length === 0) ctx.out(exchange ? `No exchange account for ${exchange}.` : 'No exchange account is configured.');
    else
      ctx.out(
        table(
          ['EXCHANGE', 'ACCOUNT', 'STATE', 'USED / CAP / VENUE LIMIT', '429', '418', 'REFUSED', 'UNTIL', 'SINCE', 'REASON'],
          accounts.map((a) => [
            a.exchangeId,
            a.accountId,
            a.state,
            a.windows.map((w) => `${w.unit} ${w.used}/${w.cap}/${w.limit} per ${span(w.intervalMs)} (${Math.round((100 * w.used) / w.limit)} %)`).join('; ') +
              (a.limitsSource === 'venue' ? '' : ' [ccxt default: the venue published no limits]'),
            String(a.count429),
            String(a.count418),
            String(a.refusedOrders),
            a.pausedUntil ? when(a.pausedUntil) : '-',
            when(a.since),
            a.reason ?? '',
          ]),
        ),
      );
    return accounts.some((a) => a.state !== 'OK') ? EXIT.REFUSED : EXIT.OK;
  },
};

export const rateLimitResume: Command = {
  name: 'exchange:rate-limit:resume',
  summary: 'Lift the halt of an account the venue banned (HTTP 418), once the ban is over (role risk)',
  usage: ['exchange:rate-limit:resume <account-id> --reason="…" [--json]'],
  values: ['reason'],
  flags: [],
  async run(args, ctx) {
    if (args.positionals.length !== 1) throw new UsageError('name one exchange account: exchange:rate-limit:resume <account-id> --reason="…"');
    const reason = str(args, 'reason');
    if (!reason?.trim()) throw new UsageError('a reason is required: --reason="why the ban will not happen again"');
    const status = await ctx.api.call<RateLimitStatus>('POST', `/api/v1/exchange-accounts/${encodeURIComponent(args.positionals[0]!)}/rate-limit/resume`, {
      reason,
    });
    ctx.out(ctx.json ? JSON.stringify(status) : `Account ${status.accountId} (${status.exchangeId}): ${status.state}; new orders accepted again.`);
    return EXIT.OK;
  },
};
