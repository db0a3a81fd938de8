import { createHash } from 'node:crypto';
import { EXIT } from '../api-client.js';
import { UsageError } from '../args.js';
import type { Command } from '../command.js';

export const hashToken: Command = {
  name: 'auth:hash-token',
  summary: 'SHA-256 of an API token, for GARDE_API_TOKENS (offline; the token itself is never stored)',
  usage: ['auth:hash-token <token> [--actor=<name> --role=<viewer|operator|risk|admin>]'],
  values: ['actor', 'role'],
  flags: [],
  run(args, ctx) {
    if (args.positionals.length !== 1) throw new UsageError('give the token: auth:hash-token <token>');
    const token = args.positionals[0]!;
    if (token.length < 16) throw new UsageError('a token needs at least 16 characters');
    const digest = createHash('sha256').update(token, 'utf8').digest('hex');
    const actor = args.options.get('actor');
    const role = args.options.get('role');
    if ((actor === undefined) !== (role === undefined)) throw new UsageError('give --actor and --role together');
    if (role !== undefined && !['viewer', 'operator', 'risk', 'admin'].includes(String(role)))
      throw new UsageError('--role is one of viewer, operator, risk, admin');
    const line = actor ? `${String(actor)}:${String(role)}:${digest}` : digest;
    ctx.out(ctx.json ? JSON.stringify({ sha256: digest, ...(actor ? { entry: line } : {}) }) : line);
    return Promise.resolve(EXIT.OK);
  },
};
