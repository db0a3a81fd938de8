import type { AuditChainVerdict, AuditRecord } from '@garde/contracts';
import { EXIT } from '../api-client.js';
import { flag, str, UsageError } from '../args.js';
import type { Command } from '../command.js';
import { table, when } from '../output.js';
import { runExportVerify } from './audit-export.js';

/** Verifying reads every row of its range: wait as long as the gateway does. */
const LONG_REQUEST_MS = 610_000;

const sequence = (value: string | undefined, name: string): string | undefined => {
  if (value === undefined) return undefined;
  if (!/^[1-9][0-9]*$/.test(value)) throw new UsageError(`--${name} must be a sequence number (1, 2, …)`);
  return value;
};

export const auditVerify: Command = {
  name: 'audit:verify',
  summary: 'Prove the audit hash chain and its signed checkpoints (names the first bad row), or check an export file offline',
  usage: [
    'audit:verify [--from=<sequence>] [--to=<sequence>] [--json]',
    'audit:verify --export=<file> (--public-key=<base64> | --trust-manifest-key) [--manifest=<file>] [--json]',
    '  --export needs no API and no database: the manifest (default <file>.manifest.json), its signature and every byte of the file',
  ],
  values: ['from', 'to', 'export', 'manifest', 'public-key'],
  flags: ['trust-manifest-key'],
  async run(args, ctx) {
    if (str(args, 'export') !== undefined) {
      if (str(args, 'from') !== undefined || str(args, 'to') !== undefined) throw new UsageError('--export checks a whole file: no --from or --to with it');
      return runExportVerify(args, ctx);
    }
    if (str(args, 'manifest') !== undefined || str(args, 'public-key') !== undefined || flag(args, 'trust-manifest-key')) {
      throw new UsageError('--manifest, --public-key and --trust-manifest-key go with --export=<file>');
    }
    const query = new URLSearchParams();
    const from = sequence(str(args, 'from'), 'from');
    const to = sequence(str(args, 'to'), 'to');
    if (from) query.set('from', from);
    if (to) query.set('to', to);
    const verdict = await ctx.api.call<AuditChainVerdict>('GET', `/api/v1/audit/verify${query.size ? `?${query.toString()}` : ''}`, undefined, LONG_REQUEST_MS);
    if (ctx.json) ctx.out(JSON.stringify(verdict));
    else if (verdict.valid) {
      const start = verdict.firstSequence && verdict.firstSequence > 1 ? ` from sequence ${verdict.firstSequence}` : '';
      const checkpoints = verdict.lastCheckpoint
        ? `; ${verdict.checkpointsChecked ?? 0} signed checkpoint(s) checked, the latest at sequence ${verdict.lastCheckpoint.sequence} (${when(verdict.lastCheckpoint.signedAt)})`
        : '; no signed checkpoint in range yet';
      ctx.out(`Audit chain valid: ${verdict.checked} row(s) checked${start}, head ${verdict.head ?? '(empty)'}${checkpoints}`);
    } else ctx.out(`Audit chain BROKEN at sequence ${verdict.firstBadSequence}: ${verdict.problem} (${verdict.checked} row(s) valid before it)`);
    return verdict.valid ? EXIT.OK : EXIT.REFUSED;
  },
};

const DURATION = /^([1-9][0-9]*)(m|h|d)$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `--last=1h` (m, h, d) or `--since=<ISO-8601>` as an ISO time; one of them is required. */
function sinceOf(args: Parameters<Command['run']>[0]): string {
  const last = str(args, 'last');
  const since = str(args, 'since');
  if ((last === undefined) === (since === undefined)) throw new UsageError('give one of --last=<30m|1h|2d> or --since=<ISO-8601 time>');
  if (since !== undefined) {
    if (Number.isNaN(Date.parse(since))) throw new UsageError(`--since must be an ISO-8601 time such as 2026-11-27T09:00:00Z, not "${since}"`);
    return new Date(since).toISOString();
  }
  const m = DURATION.exec(last!);
  if (!m) throw new UsageError(`--last must be a duration such as 30m, 1h or 2d, not "${last}"`);
  return new Date(Date.now() - Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]).toISOString();
}

/** What an event is about, in a few words: its error, its order, its bot or its scope. */
export function gist(payload: unknown): string {
  const p = (payload ?? {}) as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' ? v : '');
  // A kill-switch change: which scope went from what to what, and why.
  const scope = p.current as { scope?: string; state?: string; reason?: string } | undefined;
  if (typeof scope?.scope === 'string') return `${scope.scope} ${text(p.previousState)} → ${text(scope.state)}: ${text(scope.reason)}`.slice(0, 160);
  // A reconciliation discrepancy: its account and what differs.
  if (typeof p.kind === 'string' && typeof p.accountId === 'string' && typeof p.message === 'string') {
    return `#${text(p.id)} ${p.kind} on ${p.accountId}: ${p.message}`.slice(0, 160);
  }
  // A venue's health or an account's rate-limit state: from what to what, and the last error or reason.
  const changed = (p.venue ?? p.status) as { accountId?: string; state?: string; lastError?: string | null; reason?: string | null } | undefined;
  if (typeof changed?.accountId === 'string' && typeof changed.state === 'string') {
    const why = changed.lastError ?? changed.reason;
    return `${changed.accountId} ${text(p.previous)} → ${changed.state}${why ? `: ${why}` : ''}`.slice(0, 160);
  }
  // The kill switch's venue side: flat confirmed, or not (what is still open, who could not be asked, or why it could not run).
  if (typeof p.scope === 'string' && typeof p.version === 'number' && typeof p.elapsedMs === 'number') {
    const after = `${Math.round(p.elapsedMs)} ms`;
    if (typeof p.canceled === 'number')
      return `${p.scope} flat: ${p.canceled} cancelled, confirmed after ${after}${p.venuesOnly === true ? ' by the venues alone' : ''}`;
    const open = Object.values((p.stillOpen ?? {}) as Record<string, string[]>).flat().length;
    const unreachable = Array.isArray(p.unreachable) ? (p.unreachable as string[]) : [];
    const counted = `${open} still open${unreachable.length ? `, not reachable: ${unreachable.join(', ')}` : ''}`;
    const error = typeof p.error === 'string' ? p.error : undefined;
    // An error alone when nothing was found open: what is open is then not known.
    const found = error && open === 0 && unreachable.length === 0 ? error : error ? `${counted}; ${error}` : counted;
    return `${p.scope} NOT FLAT after ${after}: ${found}`.slice(0, 160);
  }
  const order = (p.order ?? p.intent ?? p) as Record<string, unknown>;
  const error = p.error as { code?: string; message?: string } | undefined;
  // A bot's intent (BotIntentSentEvt): what it asked for.
  const intent = p.intent as { kind?: string; side?: string; quantity?: string; price?: string } | undefined;
  const parts = [
    typeof order.clientOrderId === 'string' ? `order ${order.clientOrderId}${typeof order.state === 'string' ? ` ${order.state}` : ''}` : '',
    intent?.kind === 'place'
      ? `intent: place ${intent.side} ${intent.quantity}${intent.price ? ` @ ${intent.price}` : ''}`
      : intent?.kind
        ? `intent: ${intent.kind}`
        : '',
    error ? `${error.code}: ${error.message}` : '',
    typeof p.reason === 'string' ? p.reason : '',
    typeof order.lastError === 'string' ? order.lastError : '',
  ].filter(Boolean);
  return parts.join(' — ').slice(0, 160);
}

function eventsTable(records: AuditRecord[]): string {
  return table(
    ['SEQ', 'OCCURRED', 'LEVEL', 'TYPE', 'SERVICE', 'ACTOR', 'WHAT'],
    records.map((r) => [
      String(r.sequence),
      when(r.event.occurredAt),
      r.level,
      r.event.type,
      r.event.producer,
      r.event.actor?.id ?? '-',
      gist(r.event.payload),
    ]),
  );
}

const limitOf = (args: Parameters<Command['run']>[0]): string => {
  const limit = str(args, 'limit') ?? '100';
  if (!/^[1-9][0-9]*$/.test(limit) || Number(limit) > 1000) throw new UsageError('--limit must be 1-1000');
  return limit;
};

export const auditErrors: Command = {
  name: 'audit:errors',
  summary: 'Error and critical events of the audit trail (bot errors, rejected or lost orders, venue and rate-limit incidents), most recent first',
  usage: ['audit:errors (--last=<30m|1h|2d> | --since=<ISO-8601>) [--service=<service>] [--bot=<bot-id>] [--limit=100] [--json]'],
  values: ['last', 'since', 'service', 'bot', 'limit'],
  flags: [],
  async run(args, ctx) {
    const query = new URLSearchParams({ level: 'error,critical', since: sinceOf(args), limit: limitOf(args) });
    const service = str(args, 'service');
    if (service) query.set('service', service);
    const bot = str(args, 'bot');
    if (bot) query.set('bot', bot);
    const { events } = await ctx.api.call<{ events: AuditRecord[] }>('GET', `/api/v1/audit/events?${query.toString()}`);
    if (ctx.json) ctx.out(JSON.stringify({ events }));
    else ctx.out(events.length === 0 ? 'No error or critical event in that period.' : eventsTable(events));
    return EXIT.OK;
  },
};

export const auditTrail: Command = {
  name: 'audit:trail',
  summary:
    "One story from the audit trail, in order: a correlation id's events, an order's (intent, risk decision, submit, answer, fills), or a bot's (its own and its orders')",
  usage: ['audit:trail (--correlation-id=<id> | --order=<client-order-id> | --bot=<bot-id>) [--limit=100] [--json]'],
  values: ['correlation-id', 'order', 'bot', 'limit'],
  flags: [],
  async run(args, ctx) {
    const correlationId = str(args, 'correlation-id');
    const order = str(args, 'order');
    const bot = str(args, 'bot');
    if ([correlationId, order, bot].filter((v) => v !== undefined).length !== 1) {
      throw new UsageError('give one of --correlation-id=<id>, --order=<client-order-id> or --bot=<bot-id>');
    }
    const query = new URLSearchParams({ limit: limitOf(args), ...(order ? { order } : bot ? { bot } : { correlationId: correlationId! }) });
    const { events } = await ctx.api.call<{ events: AuditRecord[] }>('GET', `/api/v1/audit/events?${query.toString()}`);
    const story = [...events].reverse();
    if (ctx.json) ctx.out(JSON.stringify({ events: story }));
    else if (story.length === 0) ctx.out(`No event for ${order ? `order ${order}` : bot ? `bot ${bot}` : `correlation id ${correlationId}`}.`);
    else ctx.out(eventsTable(story));
    return story.length === 0 ? EXIT.REFUSED : EXIT.OK;
  },
};
