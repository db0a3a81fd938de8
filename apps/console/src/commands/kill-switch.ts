import type { KillSwitchChange, KillSwitchStatus, ScopeState } from '@garde/contracts';
import { EXIT } from '../api-client.js';
import { flag, str, UsageError, type ParsedArgs } from '../args.js';
import type { Command, CommandContext } from '../command.js';
import { table, when } from '../output.js';

const SCOPE_OPTIONS = ['exchange', 'bot', 'reason'] as const;

/** Exactly one of --global, --exchange=<id>, --bot=<id>. */
function scopeOf(args: ParsedArgs): string {
  const chosen = [
    flag(args, 'global') ? 'global' : undefined,
    str(args, 'exchange') !== undefined ? `exchange:${str(args, 'exchange')}` : undefined,
    str(args, 'bot') !== undefined ? `bot:${str(args, 'bot')}` : undefined,
  ].filter((s): s is string => s !== undefined);
  if (chosen.length !== 1) throw new UsageError('name exactly one scope: --global, --exchange=<exchange-id> or --bot=<bot-id>');
  return chosen[0]!;
}

function reasonOf(args: ParsedArgs): string {
  const reason = str(args, 'reason');
  if (!reason?.trim()) throw new UsageError('a reason is required: --reason="what happened"');
  return reason;
}

/** The `--json` shape of a scope: flat, with the actor's id (`"actor":"alice"`). */
const flatScope = (s: ScopeState) => ({
  scope: s.scope,
  state: s.state,
  reason: s.reason,
  actor: s.actor.id,
  actorRole: s.actor.role ?? s.actor.kind,
  since: s.since,
  version: s.version,
});

function printChange(ctx: CommandContext, change: KillSwitchChange): void {
  if (ctx.json) {
    ctx.out(
      JSON.stringify({
        ...flatScope(change.current),
        previousState: change.previousState,
        changed: change.changed,
        ...(change.unrecorded ? { unrecorded: change.unrecorded } : {}),
      }),
    );
    return;
  }
  const c = change.current;
  ctx.out(
    change.changed
      ? `Kill switch ${c.scope}: ${change.previousState} -> ${c.state} (by ${c.actor.id}, reason: ${c.reason})`
      : `Kill switch ${c.scope} was already ${c.state} (since ${when(c.since)}, by ${c.actor.id}: ${c.reason}); nothing changed`,
  );
  if (c.state === 'HALTED') ctx.out('No new order passes in this scope; bots in it go to HALTED. Check with: bin/console bot:status --all');
  if (change.changed && c.state === 'ACTIVE') ctx.out('Orders pass again. Halted bots stay HALTED until resumed: bin/console bot:resume <bot-id> --reason="…"');
  if (change.unrecorded) ctx.out(`WARNING: ${change.unrecorded}`);
}

export const activateKillSwitch: Command = {
  name: 'risk:kill-switch:activate',
  summary: 'Stop trading in a scope: no new order passes, bots in it go to HALTED',
  usage: [
    'risk:kill-switch:activate (--global | --exchange=<exchange-id> | --bot=<bot-id>) --reason="…" [--reduce-only] [--json]',
    '  --reduce-only   REDUCING instead of HALTED: only orders that shrink a position pass',
  ],
  values: SCOPE_OPTIONS,
  flags: ['global', 'reduce-only'],
  async run(args, ctx) {
    const body = { scope: scopeOf(args), reason: reasonOf(args), state: flag(args, 'reduce-only') ? 'REDUCING' : 'HALTED' };
    printChange(ctx, await ctx.api.call<KillSwitchChange>('POST', '/api/v1/kill-switch/activate', body));
    return EXIT.OK;
  },
};

export const deactivateKillSwitch: Command = {
  name: 'risk:kill-switch:deactivate',
  summary: 'Put a scope back to ACTIVE (risk or admin role); bots stay HALTED until resumed',
  usage: ['risk:kill-switch:deactivate (--global | --exchange=<exchange-id> | --bot=<bot-id>) --reason="…" [--json]'],
  values: SCOPE_OPTIONS,
  flags: ['global'],
  async run(args, ctx) {
    printChange(ctx, await ctx.api.call<KillSwitchChange>('POST', '/api/v1/kill-switch/deactivate', { scope: scopeOf(args), reason: reasonOf(args) }));
    return EXIT.OK;
  },
};

export const killSwitchStatus: Command = {
  name: 'risk:kill-switch:status',
  summary: 'State of every kill-switch scope, global first',
  usage: ['risk:kill-switch:status [--json]'],
  values: [],
  flags: [],
  async run(_args, ctx) {
    const { scopes, note } = await ctx.api.call<KillSwitchStatus>('GET', '/api/v1/kill-switch');
    if (ctx.json) {
      ctx.out(JSON.stringify({ scopes: scopes.map(flatScope), ...(note ? { note } : {}) }));
      return EXIT.OK;
    }
    if (note) ctx.out(`WARNING: ${note}`);
    ctx.out(
      table(
        ['SCOPE', 'STATE', 'SINCE', 'BY', 'REASON'],
        scopes.map((s) => [s.scope, s.state, when(s.since), s.version ? s.actor.id : '-', s.reason]),
      ),
    );
    return EXIT.OK;
  },
};
