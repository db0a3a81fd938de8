import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import type { Bot } from '@garde/contracts';
import { EXIT } from '../api-client.js';
import { flag, str, UsageError, type ParsedArgs } from '../args.js';
import type { Command } from '../command.js';
import { table, when } from '../output.js';

const botRow = (b: Bot) => [b.id, b.name, b.state, b.strategy, b.exchangeId, b.symbol, when(b.since), b.stateReason];
const BOT_HEADERS = ['ID', 'NAME', 'STATE', 'STRATEGY', 'EXCHANGE', 'SYMBOL', 'SINCE', 'REASON'];

function describeBot(b: Bot): string {
  return [
    `Bot ${b.id} (${b.name})`,
    `  state:     ${b.state} since ${when(b.since)} (by ${b.stateActor}: ${b.stateReason})`,
    `  strategy:  ${b.strategy} ${JSON.stringify(b.parameters)}`,
    `  market:    ${b.symbol} on ${b.exchangeId}`,
    `  trading:   ${b.trading ? 'yes' : 'no'} (${b.note})`,
    `  created:   ${when(b.createdAt)}`,
  ].join('\n');
}

function oneBotId(args: ParsedArgs, usage: string): string {
  if (args.positionals.length !== 1) throw new UsageError(`name one bot: ${usage}`);
  return args.positionals[0]!;
}

export const botStatus: Command = {
  name: 'bot:status',
  summary: 'One bot in detail, or every bot (--all), with state, strategy and market',
  usage: ['bot:status <bot-id> [--json]', 'bot:status --all [--state=<STATE>] [--exchange=<exchange-id>] [--json]'],
  values: ['state', 'exchange'],
  flags: ['all'],
  async run(args, ctx) {
    if (flag(args, 'all')) {
      if (args.positionals.length) throw new UsageError('give either --all or one bot id, not both');
      const query = new URLSearchParams();
      if (str(args, 'state')) query.set('state', str(args, 'state')!.toUpperCase());
      if (str(args, 'exchange')) query.set('exchangeId', str(args, 'exchange')!);
      const { bots } = await ctx.api.call<{ bots: Bot[] }>('GET', `/api/v1/bots${query.size ? `?${query.toString()}` : ''}`);
      if (ctx.json) {
        ctx.out(JSON.stringify({ bots }));
        return EXIT.OK;
      }
      const counts = new Map<string, number>();
      for (const b of bots) counts.set(b.state, (counts.get(b.state) ?? 0) + 1);
      ctx.out(table(BOT_HEADERS, bots.map(botRow)));
      ctx.out(`\n${bots.length} bot(s)${counts.size ? `: ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ')}` : ''}`);
      return EXIT.OK;
    }
    if (str(args, 'state') || str(args, 'exchange')) throw new UsageError('--state and --exchange filter --all');
    const bot = await ctx.api.call<Bot>('GET', `/api/v1/bots/${encodeURIComponent(oneBotId(args, 'bot:status <bot-id> or bot:status --all'))}`);
    ctx.out(ctx.json ? JSON.stringify(bot) : describeBot(bot));
    return EXIT.OK;
  },
};

export const botCreate: Command = {
  name: 'bot:create',
  summary: 'Create a bot (state CREATED; start it with bot:start)',
  usage: [
    'bot:create --name=<name> --strategy=<grid|dca> --exchange=<exchange-id> --symbol=<BASE/QUOTE> [--id=<bot-id>] --params=\'{"lower":"60000","upper":"70000","levels":10,"orderSize":"0.001"}\' [--json]',
    'bot:create --file=<bot.yaml|bot.json> [--name=… and the other options, which win over the file] [--json]',
  ],
  values: ['name', 'strategy', 'exchange', 'symbol', 'id', 'params', 'file'],
  flags: [],
  async run(args, ctx) {
    const file = str(args, 'file');
    const fromFile = file === undefined ? {} : readBotFile(file);
    const pick = (option: string, key: string): unknown => str(args, option) ?? fromFile[key];
    const missing = [
      ['name', 'name'],
      ['strategy', 'strategy'],
      ['exchange', 'exchange'],
      ['symbol', 'symbol'],
    ].filter(([option, key]) => pick(option!, key!) === undefined);
    if (missing.length) throw new UsageError(`missing ${missing.map(([m]) => `--${m}`).join(', ')}${file ? ` (neither given nor in ${file})` : ''}`);
    let parameters: unknown = fromFile.parameters ?? {};
    if (str(args, 'params')) {
      try {
        parameters = JSON.parse(str(args, 'params')!);
      } catch {
        throw new UsageError('--params must be a JSON object, e.g. --params=\'{"quoteAmount":"50","intervalMinutes":60}\'');
      }
    }
    if (!parameters || typeof parameters !== 'object' || Array.isArray(parameters))
      throw new UsageError('the parameters must be an object (--params or `parameters:` in the file)');
    const id = pick('id', 'id');
    const bot = await ctx.api.call<Bot>('POST', '/api/v1/bots', {
      name: pick('name', 'name'),
      strategy: pick('strategy', 'strategy'),
      exchangeId: pick('exchange', 'exchange'),
      symbol: pick('symbol', 'symbol'),
      parameters,
      ...(id !== undefined ? { id } : {}),
    });
    ctx.out(ctx.json ? JSON.stringify(bot) : `Created bot ${bot.id} (${bot.name}), state ${bot.state}\n${describeBot(bot)}`);
    return EXIT.OK;
  },
};

/**
 * A bot definition file, YAML or JSON (by its extension): `name`, `strategy`, `exchange`, `symbol`,
 * optional `id`, and `parameters`. Only these keys are accepted, so a typo is named, not ignored.
 */
function readBotFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read --file=${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let doc: unknown;
  try {
    doc = /\.ya?ml$/i.test(file) ? YAML.parse(text) : JSON.parse(text);
  } catch (err) {
    throw new UsageError(
      `${file} is not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
    );
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new UsageError(`${file} must hold one bot: name, strategy, exchange, symbol, parameters`);
  const unknown = Object.keys(doc).filter((k) => !BOT_FILE_KEYS.includes(k));
  if (unknown.length) throw new UsageError(`${file}: unknown key(s) ${unknown.join(', ')} (expected ${BOT_FILE_KEYS.join(', ')})`);
  return doc as Record<string, unknown>;
}

const BOT_FILE_KEYS = ['id', 'name', 'strategy', 'exchange', 'symbol', 'parameters'];

function lifecycle(name: string, action: 'start' | 'pause' | 'resume' | 'stop', summary: string): Command {
  const usage = `${name} <bot-id> --reason="…" [--json]`;
  return {
    name,
    summary,
    usage: [usage],
    values: ['reason'],
    flags: [],
    async run(args, ctx) {
      const id = oneBotId(args, usage);
      const reason = str(args, 'reason');
      if (!reason?.trim()) throw new UsageError('a reason is required: --reason="why"');
      const bot = await ctx.api.call<Bot>('POST', `/api/v1/bots/${encodeURIComponent(id)}/${action}`, { reason });
      ctx.out(ctx.json ? JSON.stringify(bot) : `Bot ${bot.id} is now ${bot.state} (${bot.stateReason})`);
      return EXIT.OK;
    },
  };
}

export const botStart = lifecycle('bot:start', 'start', 'Start a CREATED bot');
export const botPause = lifecycle('bot:pause', 'pause', 'Pause a RUNNING bot');
export const botResume = lifecycle('bot:resume', 'resume', 'Resume a PAUSED, HALTED or ERROR bot (refused while a kill switch covers it)');
export const botStop = lifecycle('bot:stop', 'stop', 'Stop a bot for good (STOPPED is final)');
