import type {
  AccountAdjustment,
  AccountReconciliation,
  Discrepancy,
  DiscrepancyList,
  OrderDifference,
  ReconciliationApplied,
  ReconciliationReport,
} from '@garde/contracts';
import { SCOPE_ID_PATTERN } from '@garde/domain';
import { EXIT } from '../api-client.js';
import { flag, str, UsageError, type ParsedArgs } from '../args.js';
import type { Command, CommandContext } from '../command.js';
import { table, when } from '../output.js';

/** A reconciliation asks every venue and waits for the ledger: longer than an ordinary call (the gateway allows 45 s). */
const RECONCILE_TIMEOUT_MS = 60_000;

function exchangeOf(args: ParsedArgs): string | undefined {
  const exchange = str(args, 'exchange');
  if (exchange !== undefined && !SCOPE_ID_PATTERN.test(exchange)) {
    throw new UsageError(`invalid --exchange "${exchange}": expected an exchange id (1-64 letters, digits, "_", "-" or ".")`);
  }
  return exchange;
}

const KIND_LABEL: Record<Discrepancy['kind'], string> = {
  BALANCE: 'balance',
  UNKNOWN_VENUE_ORDER: 'order unknown to Garde',
  MISSING_VENUE_ORDER: 'order gone from venue',
};

function discrepancyTable(list: readonly Discrepancy[], all: boolean): string {
  return table(
    ['ID', 'ACCOUNT', 'KIND', 'SUBJECT', 'VENUE', 'LEDGER', 'DIFFERENCE', 'DETECTED', 'BOTS HALTED', ...(all ? ['STATUS', 'CLEARED BY', 'REASON'] : [])],
    list.map((d) => [
      d.id,
      `${d.accountId} (${d.exchangeId})`,
      KIND_LABEL[d.kind],
      d.subject,
      d.venue ?? '-',
      d.ledger ?? '-',
      d.difference ?? '-',
      when(d.detectedAt),
      d.haltedBots.join(',') || '-',
      ...(all ? [d.status, d.clearedBy ? `${d.clearedBy.id} ${when(d.clearedAt ?? '')}` : '-', d.clearReason ?? '-'] : []),
    ]),
  );
}

export const portfolioDiscrepancies: Command = {
  name: 'portfolio:discrepancies',
  summary: 'Reconciliation discrepancies between the venues and the ledger (RB-003): the open ones; --all for the cleared ones too',
  usage: [
    'portfolio:discrepancies [--exchange=<exchange-id>] [--all] [--json]',
    '  --exchange  only the accounts of this exchange',
    '  --all       also the cleared ones, with who cleared them and why',
  ],
  values: ['exchange'],
  flags: ['all'],
  async run(args, ctx) {
    const exchange = exchangeOf(args);
    const all = flag(args, 'all');
    const query = new URLSearchParams({ ...(all ? { all: 'true' } : {}), ...(exchange ? { exchange } : {}) }).toString();
    const list = await ctx.api.call<DiscrepancyList>('GET', `/api/v1/portfolio/discrepancies${query ? `?${query}` : ''}`);
    if (ctx.json) {
      ctx.out(JSON.stringify(list));
      return EXIT.OK;
    }
    if (list.discrepancies.length === 0) {
      ctx.out(all ? 'No discrepancy was ever recorded.' : 'No open discrepancy: the ledger matched the venues at the last reconciliation.');
      return EXIT.OK;
    }
    ctx.out(discrepancyTable(list.discrepancies, all));
    const open = list.discrepancies.filter((d) => d.status === 'OPEN');
    if (open.length) {
      ctx.out(
        [
          '',
          `${open.length} open. Their bots are HALTED. See the differences now: bin/console portfolio:reconcile${exchange ? ` --exchange=${exchange}` : ''}`,
          'Follow RB-003 (runbooks/rb-003-portfolio-discrepancy.md) before any manual reconciliation (RB-012).',
        ].join('\n'),
      );
    }
    return EXIT.OK;
  },
};

function ordersTable(orders: readonly OrderDifference[]): string {
  return table(
    ['ORDER', 'KIND', 'CLIENT ORDER ID', 'VENUE ORDER ID', 'BOT', 'SYMBOL', 'SIDE'],
    orders.map((o) => [o.subject, KIND_LABEL[o.kind], o.clientOrderId ?? '-', o.venueOrderId ?? '-', o.botId ?? '-', o.symbol, o.side]),
  );
}

function printAccount(ctx: CommandContext, a: AccountReconciliation): void {
  const open = a.openDiscrepancies ? `, ${a.openDiscrepancies} open discrepanc${a.openDiscrepancies === 1 ? 'y' : 'ies'}` : '';
  ctx.out(`${a.accountId} (${a.exchangeId}): ${a.status}${open}`);
  if (a.status === 'VENUE_ERROR') {
    ctx.out(`  the venue could not be read: ${a.error ?? 'unknown error'}`);
    return;
  }
  if (a.status === 'NOT_OPENED') {
    ctx.out('  the ledger has no opening balance yet: the next periodic reconciliation (or --apply) takes it from the venue.');
  } else {
    ctx.out(
      table(
        ['ASSET', 'VENUE', 'LEDGER', 'DIFFERENCE', 'TOLERANCE', ''],
        a.balances.map((b) => [
          b.asset,
          b.venue,
          b.ledger,
          b.difference,
          b.tolerance,
          b.overTolerance ? 'OVER TOLERANCE' : b.difference === '0' ? 'ok' : 'within tolerance',
        ]),
      ),
    );
  }
  if (a.orders.length) ctx.out(['Open orders only one side knows:', ordersTable(a.orders)].join('\n'));
  ctx.out('');
}

function printApplied(ctx: CommandContext, applied: ReconciliationApplied): void {
  ctx.out(`Manual reconciliation by ${applied.actor.id} at ${when(applied.at)}, reason: ${applied.reason}`);
  for (const a of applied.accounts) printAdjusted(ctx, a);
  const halted = [...new Set(applied.accounts.flatMap((a) => a.haltedBots))].sort();
  if (halted.length) {
    ctx.out(
      [
        `Bots halted for the cleared discrepancies stay HALTED: ${halted.join(', ')}.`,
        'An operator resumes each one once the cause is understood (RB-012): bin/console risk:kill-switch:deactivate --bot=<bot-id> --reason="…" then bin/console bot:resume <bot-id> --reason="…"',
      ].join('\n'),
    );
  }
}

function printAdjusted(ctx: CommandContext, a: AccountAdjustment): void {
  if (a.error) {
    ctx.out(`${a.accountId} (${a.exchangeId}): NOT CHANGED, the venue could not be read: ${a.error}`);
    return;
  }
  if (a.opened) ctx.out(`${a.accountId} (${a.exchangeId}): ledger opened from the venue's balances`);
  else if (a.adjustments.length === 0) ctx.out(`${a.accountId} (${a.exchangeId}): the ledger already matched the venue, no entry`);
  else {
    ctx.out(`${a.accountId} (${a.exchangeId}): ${a.adjustments.length} adjusting entr${a.adjustments.length === 1 ? 'y' : 'ies'}`);
    ctx.out(
      table(
        ['ASSET', 'LEDGER BEFORE', 'VENUE', 'ADJUSTMENT'],
        a.adjustments.map((x) => [x.asset, x.ledgerBefore, x.venue, x.amount]),
      ),
    );
  }
  if (a.cleared.length) ctx.out(`  cleared discrepancies: ${a.cleared.map((id) => `#${id}`).join(', ')}`);
  if (a.orders.length) {
    ctx.out(
      [
        '  open orders only one side knows (no ledger entry fixes these: cancel or settle them, RB-005; the next reconciliation raises them again):',
        ordersTable(a.orders),
      ].join('\n'),
    );
  }
}

export const portfolioReconcile: Command = {
  name: 'portfolio:reconcile',
  summary: 'Reconcile now: venue balances and open orders against the ledger (changes nothing); --apply --reason adjusts the ledger to the venue (risk role)',
  usage: [
    'portfolio:reconcile [--exchange=<exchange-id>] [--json]',
    'portfolio:reconcile [--exchange=<exchange-id>] --apply --reason="…" [--json]',
    '  --exchange  only the accounts of this exchange (all accounts otherwise)',
    '  --apply     record adjusting ledger entries so the ledger matches the venue, with your identity and the',
    '              reason, and clear the discrepancies (risk or admin role). Bots stay HALTED: resume them yourself.',
    '  Without --apply nothing changes; exit 1 when a difference over tolerance is shown or a venue could not be read.',
  ],
  values: ['exchange', 'reason'],
  flags: ['apply'],
  async run(args, ctx) {
    const exchange = exchangeOf(args);
    const apply = flag(args, 'apply');
    const reason = str(args, 'reason');
    if (!apply) {
      if (reason !== undefined) throw new UsageError('--reason goes with --apply; without --apply portfolio:reconcile changes nothing');
      const report = await ctx.api.call<ReconciliationReport>(
        'GET',
        `/api/v1/portfolio/reconciliation${exchange ? `?exchange=${encodeURIComponent(exchange)}` : ''}`,
        undefined,
        RECONCILE_TIMEOUT_MS,
      );
      const differs = report.accounts.some((a) => a.status === 'DIFFERENCES' || a.status === 'VENUE_ERROR');
      if (ctx.json) {
        ctx.out(JSON.stringify(report));
        return differs ? EXIT.REFUSED : EXIT.OK;
      }
      ctx.out(`Reconciliation at ${when(report.at)} (nothing was changed)`);
      if (!report.ledgerCaughtUp) ctx.out('Warning: fills are still being booked in the ledger: a balance difference may be a fill in flight. Run it again.');
      ctx.out('');
      if (report.accounts.length === 0) ctx.out('No exchange account is configured.');
      for (const a of report.accounts) printAccount(ctx, a);
      if (differs) {
        ctx.out(
          `To make the ledger match the venue (risk role, after RB-003's diagnosis): bin/console portfolio:reconcile${exchange ? ` --exchange=${exchange}` : ''} --apply --reason="…"`,
        );
      }
      return differs ? EXIT.REFUSED : EXIT.OK;
    }
    if (!reason?.trim()) throw new UsageError('--apply needs a reason: --reason="why the ledger is adjusted to the venue"');
    const applied = await ctx.api.call<ReconciliationApplied>(
      'POST',
      '/api/v1/portfolio/reconciliation',
      { ...(exchange ? { exchangeId: exchange } : {}), reason },
      RECONCILE_TIMEOUT_MS,
    );
    if (ctx.json) ctx.out(JSON.stringify(applied));
    else printApplied(ctx, applied);
    return applied.accounts.some((a) => a.error) ? EXIT.REFUSED : EXIT.OK;
  },
};
