import type { RiskLimitValues, RiskLimitsChange, RiskLimitsList, RiskLimitsVersion } from '@garde/contracts';
import { DECIMAL_PATTERN, LIMIT_SCOPE_PATTERN, isPositiveDecimal } from '@garde/domain';
import { EXIT } from '../api-client.js';
import { flag, str, UsageError, type ParsedArgs } from '../args.js';
import type { Command } from '../command.js';
import { table, when } from '../output.js';

type LimitName = keyof RiskLimitValues;

/** Each limit's option, how its value reads, and its column. */
const LIMIT_OPTIONS: ReadonlyArray<{ option: string; name: LimitName; kind: 'decimal' | 'integer'; column: string }> = [
  { option: 'max-order-notional', name: 'maxOrderNotional', kind: 'decimal', column: 'MAX ORDER NOTIONAL' },
  { option: 'max-order-quantity', name: 'maxOrderQuantity', kind: 'decimal', column: 'MAX ORDER QTY' },
  { option: 'max-open-notional', name: 'maxOpenNotional', kind: 'decimal', column: 'MAX OPEN NOTIONAL' },
  { option: 'max-messages-per-second', name: 'maxMessagesPerSecond', kind: 'integer', column: 'MSG/S' },
  { option: 'price-collar-percent', name: 'priceCollarPercent', kind: 'decimal', column: 'COLLAR %' },
  { option: 'max-reference-age-ms', name: 'maxReferenceAgeMs', kind: 'integer', column: 'MAX REF AGE MS' },
  { option: 'max-drawdown', name: 'maxDrawdown', kind: 'decimal', column: 'MAX DRAWDOWN' },
  { option: 'max-daily-loss', name: 'maxDailyLoss', kind: 'decimal', column: 'MAX DAILY LOSS' },
  { option: 'max-denials-per-minute', name: 'maxDenialsPerMinute', kind: 'integer', column: 'DENIALS/MIN' },
  { option: 'max-fills-per-minute', name: 'maxFillsPerMinute', kind: 'integer', column: 'FILLS/MIN' },
];

const SCOPE_HELP = '--scope=firm | exchange:<exchange-id> | bot:<bot-id> | instrument:<exchange-id>:<BASE/QUOTE>';

function scopeOf(args: ParsedArgs, required: boolean): string | undefined {
  const scope = str(args, 'scope');
  if (scope === undefined) {
    if (required) throw new UsageError(`name the scope: ${SCOPE_HELP}`);
    return undefined;
  }
  if (!LIMIT_SCOPE_PATTERN.test(scope)) throw new UsageError(`invalid scope "${scope}": ${SCOPE_HELP}`);
  return scope;
}

/** The limit options given, parsed; every bad value named at once. `none` removes a limit from the scope. */
export function limitChanges(args: ParsedArgs): Partial<RiskLimitValues> {
  const changes: Partial<Record<LimitName, string | number | null>> = {};
  const problems: string[] = [];
  for (const { option, name, kind } of LIMIT_OPTIONS) {
    const raw = str(args, option);
    if (raw === undefined) continue;
    if (raw === 'none') changes[name] = null;
    else if (kind === 'decimal' && DECIMAL_PATTERN.test(raw) && isPositiveDecimal(raw)) changes[name] = raw;
    else if (kind === 'integer' && /^[1-9][0-9]{0,8}$/.test(raw)) changes[name] = Number(raw);
    else problems.push(`--${option}=${raw}: expected ${kind === 'decimal' ? 'a positive decimal such as 25000 or 0.5' : 'a positive whole number'}, or none`);
  }
  if (problems.length) throw new UsageError(problems.join('\n'));
  if (Object.keys(changes).length === 0) throw new UsageError(`name at least one limit: ${LIMIT_OPTIONS.map((o) => `--${o.option}=…`).join(' ')}`);
  return changes as Partial<RiskLimitValues>;
}

const show = (v: string | number | null) => (v === null ? '-' : String(v));

function versionsTable(versions: RiskLimitsVersion[], withScope: boolean): string {
  return table(
    [...(withScope ? ['SCOPE'] : []), 'VERSION', ...LIMIT_OPTIONS.map((o) => o.column), 'SINCE', 'BY', 'REASON'],
    versions.map((v) => [
      ...(withScope ? [v.scope] : []),
      String(v.version),
      ...LIMIT_OPTIONS.map((o) => show(v.limits[o.name])),
      when(v.changedAt),
      v.actor.id,
      v.reason,
    ]),
  );
}

export const riskLimitsShow: Command = {
  name: 'risk:limits:show',
  summary: 'The risk limits in force per scope (firm first), with version, author and reason; --history for every version of a scope',
  usage: [
    'risk:limits:show [--scope=<scope>] [--history] [--json]',
    '  --scope     firm, exchange:<exchange-id>, bot:<bot-id> or instrument:<exchange-id>:<BASE/QUOTE>',
    '  --history   every version of that scope, newest first (needs --scope)',
    '  A scope without a limit of its own ("-") is bounded by the others that cover the order.',
  ],
  values: ['scope'],
  flags: ['history'],
  async run(args, ctx) {
    const scope = scopeOf(args, false);
    const history = flag(args, 'history');
    if (history && !scope) throw new UsageError(`--history needs a scope: ${SCOPE_HELP}`);
    const query = new URLSearchParams({ ...(scope ? { scope } : {}), ...(history ? { history: 'true' } : {}) }).toString();
    const list = await ctx.api.call<RiskLimitsList>('GET', `/api/v1/risk/limits${query ? `?${query}` : ''}`);
    if (ctx.json) {
      ctx.out(JSON.stringify(list));
      return EXIT.OK;
    }
    if (list.scopes.length === 0)
      ctx.out(`${scope} has no limits of its own: the other scopes that cover an order still apply (bin/console risk:limits:show).`);
    else ctx.out(versionsTable(list.scopes, true));
    if (list.history?.length) ctx.out(['', `History of ${scope}:`, versionsTable(list.history, false)].join('\n'));
    return EXIT.OK;
  },
};

export const riskLimitsSet: Command = {
  name: 'risk:limits:set',
  summary: "Change a scope's risk limits (risk or admin role): a new version, applied to the next order without restart",
  usage: [
    'risk:limits:set --scope=<scope> [--max-order-notional=…] [--max-order-quantity=…] [--max-open-notional=…] [--max-messages-per-second=…] [--price-collar-percent=…] [--max-reference-age-ms=…] [--max-drawdown=…] [--max-daily-loss=…] [--max-denials-per-minute=…] [--max-fills-per-minute=…] --reason="…" [--json]',
    '  --scope                    firm, exchange:<exchange-id>, bot:<bot-id> or instrument:<exchange-id>:<BASE/QUOTE>',
    '  --max-order-notional       largest notional of one order, in quote (quantity × price; × reference price for a market order)',
    '  --max-order-quantity       largest base quantity of one order',
    '  --max-open-notional        largest exposure of the scope, in quote (open orders and position at the reference price)',
    '  --max-messages-per-second  orders per second per bot (bot: or firm scope) and per account (exchange: or firm scope)',
    '  --price-collar-percent     how far a limit price may cross the reference (a buy above, a sell below), in %',
    '  --max-reference-age-ms     oldest reference price an order may be checked against',
    "  --max-drawdown             largest fall of the equity from its peak, in quote (bot: the bot's; firm: everyone's); beyond it risk-service halts bot:<id> or global itself",
    '  --max-daily-loss           largest loss since 00:00 UTC, in quote (bot: or firm scope); beyond it, the same automatic halt',
    "  --max-denials-per-minute   runaway bot: most orders of one bot denied in a minute (bot: or firm scope, the firm's is each bot's default); beyond it bot:<id> is halted",
    '  --max-fills-per-minute     runaway bot: most fills of one bot in a minute (bot: or firm scope); beyond it bot:<id> is halted',
    '  Limits not named keep their value; "none" removes one from the scope (the firm must keep a collar and a reference age).',
  ],
  values: ['scope', 'reason', ...LIMIT_OPTIONS.map((o) => o.option)],
  flags: [],
  async run(args, ctx) {
    const scope = scopeOf(args, true)!;
    const changes = limitChanges(args);
    const reason = str(args, 'reason');
    if (!reason?.trim()) throw new UsageError('a reason is required: --reason="why these limits"');
    const change = await ctx.api.call<RiskLimitsChange>('POST', '/api/v1/risk/limits', { scope, changes, reason });
    if (ctx.json) {
      ctx.out(JSON.stringify(change));
      return EXIT.OK;
    }
    const { current, previous } = change;
    ctx.out(`Limits of ${current.scope}: version ${current.version} (by ${current.actor.id}, reason: ${current.reason})`);
    for (const { option, name } of LIMIT_OPTIONS) {
      const before = previous ? previous.limits[name] : null;
      if (before !== current.limits[name]) ctx.out(`  ${option}: ${show(before)} -> ${show(current.limits[name])}`);
    }
    ctx.out('Applied to the next order checked, by every risk-service replica.');
    return EXIT.OK;
  },
};
