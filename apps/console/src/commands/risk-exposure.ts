import type { ExposureReport, LimitUse } from '@garde/contracts';
import { Decimal, SCOPE_ID_PATTERN, formatAmount, formatLimit } from '@garde/domain';
import { EXIT } from '../api-client.js';
import { str, UsageError, type ParsedArgs } from '../args.js';
import type { Command } from '../command.js';
import { table, when } from '../output.js';

/** An id option, checked before anything is sent. */
function idOf(args: ParsedArgs, name: 'exchange' | 'bot'): string | undefined {
  const value = str(args, name);
  if (value !== undefined && !SCOPE_ID_PATTERN.test(value)) {
    throw new UsageError(`invalid --${name}="${value}": expected the ${name} id (1-64 letters, digits, "_", "-" or ".")`);
  }
  return value;
}

/** An amount in quote, for people: two decimals, thousands grouped; `-` when unknown. */
const amount = (v: string | null): string => (v === null ? 'unknown' : formatAmount(Decimal.of(v)));

/** `value / limit (p %)`, or the value alone without a limit. */
function against(use: LimitUse, asAmount = true): string {
  const value = use.value === null ? 'unknown' : asAmount ? formatAmount(Decimal.of(use.value)) : use.value;
  if (use.limit === null) return value;
  const limit = asAmount ? formatLimit(Decimal.of(use.limit)) : use.limit;
  return `${value} / ${limit} (${use.utilizationPercent ?? '?'} %)`;
}

const unpriced = (fees: Record<string, string>): string =>
  Object.entries(fees)
    .map(([currency, fee]) => `${fee} ${currency}`)
    .join(', ');

/** The report as tables: positions, bots, exchanges, then the firm total. */
export function exposureTables(report: ExposureReport): string {
  const lines: string[] = [];
  const filter = [report.botId ? `bot ${report.botId}` : '', report.exchangeId ? `exchange ${report.exchangeId}` : ''].filter(Boolean).join(', ');
  lines.push(
    `Exposure report at ${when(report.generatedAt)}${filter ? ` (${filter})` : ''}; amounts in ${report.firm.currency ?? "each position's quote currency"}`,
  );
  if (report.positions.length === 0) {
    lines.push('', `No position, open order or fill${filter ? ` for ${filter}` : ''}.`);
  } else {
    lines.push(
      '',
      table(
        [
          'BOT',
          'EXCHANGE',
          'SYMBOL',
          'POSITION',
          'AVG COST',
          'MARK',
          'NOTIONAL',
          'OPEN BUY',
          'OPEN SELL',
          'OPEN NOTIONAL',
          'REALIZED',
          'UNREALIZED',
          'FEES',
          'EQUITY',
        ],
        report.positions.map((p) => [
          p.botId ?? '(manual)',
          p.exchangeId,
          p.symbol,
          p.quantity,
          p.averageCost === null ? '-' : formatAmount(Decimal.of(p.averageCost)),
          p.markPrice === null ? 'unknown' : `${p.markPrice}${p.markSource === 'market' ? '' : ` (${p.markSource})`}`,
          amount(p.notional),
          p.openBuy,
          p.openSell,
          amount(p.openOrderNotional),
          amount(p.realizedPnl),
          amount(p.unrealizedPnl),
          amount(p.fees),
          amount(p.equity),
        ]),
      ),
    );
  }
  if (report.bots.length) {
    lines.push(
      '',
      table(
        [
          'BOT',
          'EXPOSURE / LIMIT',
          'REALIZED',
          'UNREALIZED',
          'FEES',
          'EQUITY',
          'PEAK',
          'DRAWDOWN / LIMIT',
          'DAY PNL',
          'DAY LOSS / LIMIT',
          'FILLS/MIN',
          'DENIALS/MIN',
          'KILL SWITCH',
        ],
        report.bots.map((b) => [
          b.botId ?? '(manual)',
          against(b.exposure),
          amount(b.realizedPnl),
          amount(b.unrealizedPnl),
          amount(b.fees),
          amount(b.equity),
          amount(b.peak),
          against(b.drawdown),
          amount(b.dailyPnl),
          against(b.dailyLoss),
          b.botId === null ? '-' : against(b.fillsLastMinute, false),
          b.botId === null ? '-' : against(b.deniedLastMinute, false),
          b.killSwitch ?? '-',
        ]),
      ),
    );
  }
  if (report.exchanges.length) {
    lines.push(
      '',
      table(
        ['EXCHANGE', 'EXPOSURE / LIMIT', 'OPEN NOTIONAL', 'REALIZED', 'UNREALIZED', 'FEES'],
        report.exchanges.map((e) => [
          e.exchangeId,
          against(e.exposure),
          amount(e.openOrderNotional),
          amount(e.realizedPnl),
          amount(e.unrealizedPnl),
          amount(e.fees),
        ]),
      ),
    );
  }
  const { firm } = report;
  lines.push(
    '',
    'Firm total (everyone, whatever the filters):',
    `  exposure        ${against(firm.exposure)}`,
    `  open notional   ${amount(firm.openOrderNotional)}`,
    `  realized PnL    ${amount(firm.realizedPnl)}`,
    `  unrealized PnL  ${amount(firm.unrealizedPnl)}`,
    `  fees            ${amount(firm.fees)}`,
    `  equity          ${amount(firm.equity)} (peak ${amount(firm.peak)})`,
    `  drawdown        ${against(firm.drawdown)}`,
    `  day PnL         ${amount(firm.dailyPnl)} (loss ${against(firm.dailyLoss)})`,
    `  kill switch     global ${firm.killSwitch}`,
  );
  const notValued = unpriced(firm.unpricedFees);
  if (notValued) lines.push(`  fees not valued (no price for their currency, not in the equity): ${notValued}`);
  return lines.join('\n');
}

export const riskExposureReport: Command = {
  name: 'risk:exposure:report',
  summary: 'Positions, open orders, PnL, fees and drawdown per bot, exchange and firm, each against its limit with its utilization',
  usage: [
    'risk:exposure:report [--exchange=<exchange-id>] [--bot=<bot-id>] [--json]',
    '  --exchange  only the positions and open orders on this exchange',
    "  --bot       only this bot's positions and open orders",
    "  The firm total is always everyone's. Positions come from the fills (average cost), marked to the",
    "  gateway's latest price; amounts are in the quote currency. A figure over its limit makes",
    '  risk-service halt the scope itself (maxDrawdown, maxDailyLoss, runaway bot: RB-014).',
  ],
  values: ['exchange', 'bot'],
  flags: [],
  async run(args, ctx) {
    if (args.positionals.length) throw new UsageError(`risk:exposure:report takes no argument (got "${args.positionals.join(' ')}"): use --bot=<bot-id>`);
    const exchange = idOf(args, 'exchange');
    const bot = idOf(args, 'bot');
    const query = new URLSearchParams({ ...(exchange ? { exchange } : {}), ...(bot ? { bot } : {}) }).toString();
    const report = await ctx.api.call<ExposureReport>('GET', `/api/v1/risk/exposure${query ? `?${query}` : ''}`);
    ctx.out(ctx.json ? JSON.stringify(report) : exposureTables(report));
    return EXIT.OK;
  },
};
