import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import type { Bot, BotOpenOrders, BotOrderReport, BotOrdersCancellation, BotStatus, BotStopResult } from '@garde/contracts';
import { Decimal } from '@garde/domain';
import { ApiError, EXIT } from '../api-client.js';
import { flag, str, UsageError, type ParsedArgs } from '../args.js';
import type { Command } from '../command.js';
import { table, when } from '../output.js';

const botRow = (b: BotStatus) => [
  b.id,
  b.name,
  b.state,
  b.strategy,
  b.exchangeId,
  b.symbol,
  `${shown(b.position.quantity)} ${b.position.baseCurrency}`,
  openCell(b.openOrders),
  `${shown(b.position.realizedPnl)} ${b.position.quoteCurrency}`,
  b.position.unrealizedPnl === null ? 'unknown' : `${shown(b.position.unrealizedPnl)} ${b.position.quoteCurrency}`,
  when(b.since),
  b.lastError ? `${when(b.lastError.at)} ${clip(b.lastError.message, 40)}` : '-',
  b.stateReason,
];
const BOT_HEADERS = [
  'ID',
  'NAME',
  'STATE',
  'STRATEGY',
  'EXCHANGE',
  'SYMBOL',
  'POSITION',
  'OPEN',
  'REALIZED PNL',
  'UNREALIZED PNL',
  'SINCE',
  'LAST ERROR',
  'REASON',
];

/** Digits shown after the point; the JSON output keeps every digit. */
const SHOWN_DIGITS = 8;

/** A decimal as written, or `≈` and rounded when it has more than SHOWN_DIGITS digits after the point. */
function shown(value: string): string {
  const d = Decimal.of(value);
  const rounded = d.round(SHOWN_DIGITS, 'half-up');
  return rounded.eq(d) ? d.toString() : `≈${rounded.toString()}`;
}

/**
 * The OPEN cell: the strategy's count, and the gateway's when it differs (a halted bot's strategy
 * still counts the orders a kill switch cancelled) or is unknown.
 */
function openCell(o: BotOpenOrders): string {
  if (o.atGateway === null) return `${o.count} (gw ?)`;
  return o.atGateway === o.count ? String(o.count) : `${o.count} (gw ${o.atGateway})`;
}

/** The `open orders:` line's counts, in words. */
function openLine(o: BotOpenOrders): string {
  if (o.atGateway === o.count) return String(o.count);
  const gateway = o.atGateway === null ? "the gateway's count unknown (no answer)" : `${o.atGateway} not final at the gateway`;
  return `${o.count} by the strategy's last step, ${gateway}`;
}

const clip = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** The position, PnL, open orders and last error lines of `bot:status <id>`. */
function describeTrading(b: BotStatus): string[] {
  const p = b.position;
  const average = p.averagePrice === null ? '' : `, average entry ${shown(p.averagePrice)} ${p.quoteCurrency}`;
  const unrealized =
    p.unrealizedPnl === null
      ? `unknown (${p.unrealizedPnlNote ?? 'no mark price'})`
      : `${shown(p.unrealizedPnl)} ${p.quoteCurrency}${p.markPrice === null ? '' : ` at ${shown(p.markPrice)} (${when(p.markPriceAt ?? '')})`}`;
  const fees = Object.entries(p.fees).map(([currency, fee]) => `${shown(fee)} ${currency}`);
  const unsent = [
    ...(b.openOrders.unsent ? [`${b.openOrders.unsent} not sent yet`] : []),
    ...(b.openOrders.unsentCancels ? [`${b.openOrders.unsentCancels} cancel(s) not sent yet`] : []),
  ];
  return [
    `  position:    ${shown(p.quantity)} ${p.baseCurrency}${average}`,
    `  PnL:         realized ${shown(p.realizedPnl)} ${p.quoteCurrency}; unrealized ${unrealized}`,
    `  fees:        ${fees.length ? fees.join(', ') : 'none'}`,
    `  fills:       ${p.fillCount}${p.fillsWithoutDetails ? ` (and ${p.fillsWithoutDetails} recorded without price or quantity, not counted: the position misses them)` : ''}`,
    `  open orders: ${openLine(b.openOrders)}${unsent.length ? ` (${unsent.join(', ')})` : ''}`,
    `  last error:  ${b.lastError ? `${when(b.lastError.at)} (${b.lastError.source === 'state' ? 'put it in ERROR' : 'engine'}): ${b.lastError.message}` : 'none'}`,
  ];
}

function describeBot(b: Bot | BotStatus): string {
  return [
    `Bot ${b.id} (${b.name})`,
    `  state:       ${b.state} since ${when(b.since)} (by ${b.stateActor}: ${b.stateReason})`,
    `  strategy:    ${b.strategy} ${JSON.stringify(b.parameters)}`,
    `  market:      ${b.symbol} on ${b.exchangeId}`,
    `  trading:     ${b.trading ? 'yes' : 'no'} (${b.note})`,
    ...('position' in b ? describeTrading(b) : []),
    `  created:     ${when(b.createdAt)}`,
  ].join('\n');
}

function oneBotId(args: ParsedArgs, usage: string): string {
  if (args.positionals.length !== 1) throw new UsageError(`name one bot: ${usage}`);
  return args.positionals[0]!;
}

export const botStatus: Command = {
  name: 'bot:status',
  summary: 'One bot in detail, or every bot (--all): state, strategy, market, position, open orders, PnL, last error, since',
  usage: ['bot:status <bot-id> [--json]', 'bot:status --all [--state=<STATE>] [--exchange=<exchange-id>] [--json]'],
  values: ['state', 'exchange'],
  flags: ['all'],
  async run(args, ctx) {
    if (flag(args, 'all')) {
      if (args.positionals.length) throw new UsageError('give either --all or one bot id, not both');
      const query = new URLSearchParams();
      if (str(args, 'state')) query.set('state', str(args, 'state')!.toUpperCase());
      if (str(args, 'exchange')) query.set('exchangeId', str(args, 'exchange')!);
      const { bots } = await ctx.api.call<{ bots: BotStatus[] }>('GET', `/api/v1/bots${query.size ? `?${query.toString()}` : ''}`);
      if (ctx.json) {
        ctx.out(JSON.stringify({ bots }));
        return EXIT.OK;
      }
      const counts = new Map<string, number>();
      for (const b of bots) counts.set(b.state, (counts.get(b.state) ?? 0) + 1);
      ctx.out(table(BOT_HEADERS, bots.map(botRow)));
      ctx.out(`\n${bots.length} bot(s)${counts.size ? `: ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ')}` : ''}`);
      // Why an unrealized PnL is unknown, once per reason.
      const unknown = new Map<string, string[]>();
      for (const b of bots) {
        const why = b.position.unrealizedPnlNote;
        if (why) unknown.set(why, [...(unknown.get(why) ?? []), b.id]);
      }
      for (const [why, ids] of unknown) ctx.out(`unrealized PnL unknown for ${ids.join(', ')}: ${why}`);
      const partial = bots.filter((b) => b.position.fillsWithoutDetails > 0).map((b) => b.id);
      if (partial.length) ctx.out(`position incomplete for ${partial.join(', ')}: fills recorded before their details were kept are not counted`);
      return EXIT.OK;
    }
    if (str(args, 'state') || str(args, 'exchange')) throw new UsageError('--state and --exchange filter --all');
    const bot = await ctx.api.call<BotStatus>('GET', `/api/v1/bots/${encodeURIComponent(oneBotId(args, 'bot:status <bot-id> or bot:status --all'))}`);
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
    let bot: Bot;
    try {
      bot = await ctx.api.call<Bot>('POST', '/api/v1/bots', {
        name: pick('name', 'name'),
        strategy: pick('strategy', 'strategy'),
        exchangeId: pick('exchange', 'exchange'),
        symbol: pick('symbol', 'symbol'),
        parameters,
        ...(id !== undefined ? { id } : {}),
      });
    } catch (err) {
      // A definition bot-service judged and refused (its parameters, its market) is a refusal (exit 1);
      // a malformed one (CONTRACT_VIOLATION, e.g. a symbol that is not BASE/QUOTE) stays a usage error (2).
      if (err instanceof ApiError && err.body.code === 'INVALID_REQUEST') throw new DefinitionRefused(err.status, err.body);
      throw err;
    }
    ctx.out(ctx.json ? JSON.stringify(bot) : `Created bot ${bot.id} (${bot.name}), state ${bot.state}\n${describeBot(bot)}`);
    return EXIT.OK;
  },
};

/** bot-service refused a bot definition for its values: the system refused it (exit 1), whatever its HTTP status. */
class DefinitionRefused extends ApiError {
  override get exitCode(): number {
    return EXIT.REFUSED;
  }
}

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

function lifecycle(name: string, action: 'start' | 'pause' | 'resume', summary: string): Command {
  // A start may go without a reason (the contract's BotStartCommand gives it one); the others need theirs.
  const reasonRequired = action !== 'start';
  const usage = `${name} <bot-id> ${reasonRequired ? '--reason="…"' : '[--reason="…"]'} [--json]`;
  return {
    name,
    summary,
    usage: [usage],
    values: ['reason'],
    flags: [],
    async run(args, ctx) {
      const id = oneBotId(args, usage);
      const reason = str(args, 'reason');
      if (reasonRequired && !reason?.trim()) throw new UsageError('a reason is required: --reason="why"');
      const bot = await ctx.api.call<Bot>('POST', `/api/v1/bots/${encodeURIComponent(id)}/${action}`, reason === undefined ? {} : { reason });
      // What the new state means for its orders (a pause leaves them at the venue), as bot:status says it.
      ctx.out(ctx.json ? JSON.stringify(bot) : `Bot ${bot.id} is now ${bot.state} (${bot.stateReason})\n  ${bot.note}`);
      return EXIT.OK;
    },
  };
}

export const botStart = lifecycle('bot:start', 'start', 'Start a CREATED bot');
export const botPause = lifecycle('bot:pause', 'pause', 'Pause a RUNNING bot');
export const botResume = lifecycle('bot:resume', 'resume', 'Resume a PAUSED, HALTED or ERROR bot (refused while a kill switch covers it)');
/** How long `bot:stop --cancel-orders` waits: the stop, the bot's sends in flight, the cancels and the venues' confirmation. */
const STOP_CANCEL_WAIT_MS = 60_000;

/**
 * `bot:stop`: STOPPED for good. With --cancel-orders, its orders are then cancelled at the venue and the
 * venue asked until none is left (again when the bot is STOPPED already); without it they stay there.
 */
export const botStop: Command = {
  name: 'bot:stop',
  summary: 'Stop a bot for good (STOPPED is final); --cancel-orders also cancels its open orders at the venue (retried on a STOPPED bot)',
  usage: [
    'bot:stop <bot-id> --reason="…" [--cancel-orders] [--json]',
    '  without --cancel-orders its open orders stay at the venue; with it, they are cancelled and the venue confirms none is left',
  ],
  values: ['reason'],
  flags: ['cancel-orders'],
  async run(args, ctx) {
    const id = oneBotId(args, 'bot:stop <bot-id> --reason="…" [--cancel-orders]');
    const reason = str(args, 'reason');
    if (!reason?.trim()) throw new UsageError('a reason is required: --reason="why"');
    const cancelOrders = flag(args, 'cancel-orders');
    let bot: BotStopResult;
    try {
      bot = await ctx.api.call<BotStopResult>(
        'POST',
        `/api/v1/bots/${encodeURIComponent(id)}/stop`,
        { reason, cancelOrders },
        cancelOrders ? STOP_CANCEL_WAIT_MS : undefined,
      );
    } catch (err) {
      // Stopped, but its orders not all cancelled: say which are left (--json keeps the details as they are).
      if (!ctx.json && err instanceof ApiError && err.body.details?.state === 'STOPPED') {
        const left = err.body.details.cancellation as BotOrdersCancellation | undefined;
        throw new ApiError(err.status, { code: err.body.code, message: [err.body.message, ...(left ? cancellationLines(left) : [])].join('\n') });
      }
      throw err;
    }
    if (ctx.json) {
      ctx.out(JSON.stringify(bot));
      return EXIT.OK;
    }
    ctx.out(`Bot ${bot.id} is now ${bot.state} (${bot.stateReason})`);
    if (!bot.cancellation) {
      ctx.out(`Its open orders, if any, stay at the venue (not cancelled). To cancel them: bin/console bot:stop ${bot.id} --reason="…" --cancel-orders`);
      return EXIT.OK;
    }
    const c = bot.cancellation;
    const seen = c.canceled.length + c.ended.length;
    ctx.out(
      seen === 0
        ? 'It had no open order: nothing to cancel.'
        : `Cancelled ${c.canceled.length} order(s); the venue confirmed no order of ${bot.id} is open (${c.elapsedMs} ms).`,
    );
    for (const line of cancellationLines(c)) ctx.out(line);
    return EXIT.OK;
  },
};

/** One line per order a cancel-all reported, grouped by what became of it. */
function cancellationLines(c: BotOrdersCancellation): string[] {
  const order = (o: BotOrderReport) =>
    `${o.clientOrderId} ${o.side} ${o.quantity}${o.price === null ? '' : ` @ ${o.price}`} ${o.state}${o.lastError && o.state !== 'CANCELED' ? ` (${clip(o.lastError, 120)})` : ''}`;
  const group = (title: string, orders: BotOrderReport[]) => (orders.length ? [`  ${title}`, ...orders.map((o) => `    ${order(o)}`)] : []);
  return [
    ...group('cancelled:', c.canceled),
    ...group('ended before the cancel (nothing to cancel):', c.ended),
    ...group('STILL OPEN at the venue (or cancel not confirmed):', c.stillOpen),
    ...group('outcome NOT KNOWN yet (may be or become open; see RB-005):', c.unsettled),
    ...(c.unreachable.length ? [`  venue account(s) not reachable: ${c.unreachable.join(', ')}`] : []),
  ];
}
