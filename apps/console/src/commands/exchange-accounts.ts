import type { ExchangeAccount } from '@garde/contracts';
import { EXIT } from '../api-client.js';
import { flag, str, UsageError } from '../args.js';
import type { Command } from '../command.js';
import { table, when } from '../output.js';

const DEFAULT_KEY_ENV = 'GARDE_EXCHANGE_API_KEY';
const DEFAULT_SECRET_ENV = 'GARDE_EXCHANGE_SECRET';

export const exchangeAccountAdd: Command = {
  name: 'exchange:account:add',
  summary: 'Add an exchange account (admin): credentials checked with the venue, then stored sealed',
  usage: [
    'exchange:account:add --id=<account-id> --exchange=<exchange-id> --ccxt=<binance|…> [--url=<base-url>] [--sandbox] [--no-check] [--json]',
    '    The API key and secret are read from the environment, never from the command line:',
    `    ${DEFAULT_KEY_ENV} and ${DEFAULT_SECRET_ENV} (or the variables named by --api-key-env / --secret-env).`,
  ],
  values: ['id', 'exchange', 'ccxt', 'url', 'api-key-env', 'secret-env'],
  flags: ['sandbox', 'no-check'],
  async run(args, ctx) {
    const missing = ['id', 'exchange', 'ccxt'].filter((k) => !str(args, k));
    if (missing.length) throw new UsageError(`missing ${missing.map((m) => `--${m}`).join(', ')}`);
    const keyEnv = str(args, 'api-key-env') ?? DEFAULT_KEY_ENV;
    const secretEnv = str(args, 'secret-env') ?? DEFAULT_SECRET_ENV;
    const apiKey = ctx.env[keyEnv];
    const secret = ctx.env[secretEnv];
    if (!apiKey || !secret) throw new UsageError(`set the API key and secret in ${[!apiKey && keyEnv, !secret && secretEnv].filter(Boolean).join(' and ')}`);
    const account = await ctx.api.call<ExchangeAccount>('POST', '/api/v1/exchange-accounts', {
      id: str(args, 'id'),
      exchangeId: str(args, 'exchange'),
      ccxtId: str(args, 'ccxt'),
      urlOverride: str(args, 'url') ?? null,
      sandbox: flag(args, 'sandbox'),
      check: !flag(args, 'no-check'),
      apiKey,
      secret,
    });
    ctx.out(
      ctx.json
        ? JSON.stringify(account)
        : `Added exchange account ${account.id} (${account.ccxtId} as ${account.exchangeId}, key …${account.apiKeyHint})${flag(args, 'no-check') ? ', credentials NOT checked' : ', credentials checked with the venue'}`,
    );
    return EXIT.OK;
  },
};

export const exchangeAccountList: Command = {
  name: 'exchange:account:list',
  summary: 'Exchange accounts (never their secrets)',
  usage: ['exchange:account:list [--json]'],
  values: [],
  flags: [],
  async run(_args, ctx) {
    const { accounts } = await ctx.api.call<{ accounts: ExchangeAccount[] }>('GET', '/api/v1/exchange-accounts');
    if (ctx.json) {
      ctx.out(JSON.stringify({ accounts }));
      return EXIT.OK;
    }
    ctx.out(
      table(
        ['ID', 'EXCHANGE', 'CCXT', 'URL', 'KEY', 'ADDED', 'BY'],
        accounts.map((a) => [
          a.id,
          a.exchangeId,
          a.ccxtId + (a.sandbox ? ' (sandbox)' : ''),
          a.urlOverride ?? '-',
          `…${a.apiKeyHint}`,
          when(a.createdAt),
          a.createdBy,
        ]),
      ),
    );
    return EXIT.OK;
  },
};

export const exchangeAccountRemove: Command = {
  name: 'exchange:account:remove',
  summary: 'Remove an exchange account and its stored credentials (admin)',
  usage: ['exchange:account:remove <account-id> --reason="…" [--json]'],
  values: ['reason'],
  flags: [],
  async run(args, ctx) {
    if (args.positionals.length !== 1) throw new UsageError('name one account: exchange:account:remove <account-id> --reason="…"');
    const reason = str(args, 'reason');
    if (!reason?.trim()) throw new UsageError('a reason is required: --reason="why"');
    const account = await ctx.api.call<ExchangeAccount>('POST', `/api/v1/exchange-accounts/${encodeURIComponent(args.positionals[0]!)}/remove`, { reason });
    ctx.out(ctx.json ? JSON.stringify(account) : `Removed exchange account ${account.id} and its credentials (${reason})`);
    return EXIT.OK;
  },
};
