import type { AuditChainVerdict } from '@garde/contracts';
import { EXIT } from '../api-client.js';
import { str, UsageError } from '../args.js';
import type { Command } from '../command.js';

const sequence = (value: string | undefined, name: string): string | undefined => {
  if (value === undefined) return undefined;
  if (!/^[1-9][0-9]*$/.test(value)) throw new UsageError(`--${name} must be a sequence number (1, 2, …)`);
  return value;
};

export const auditVerify: Command = {
  name: 'audit:verify',
  summary: 'Prove the audit hash chain; names the first row that does not verify',
  usage: ['audit:verify [--from=<sequence>] [--to=<sequence>] [--json]'],
  values: ['from', 'to'],
  flags: [],
  async run(args, ctx) {
    const query = new URLSearchParams();
    const from = sequence(str(args, 'from'), 'from');
    const to = sequence(str(args, 'to'), 'to');
    if (from) query.set('from', from);
    if (to) query.set('to', to);
    const verdict = await ctx.api.call<AuditChainVerdict>('GET', `/api/v1/audit/verify${query.size ? `?${query.toString()}` : ''}`);
    if (ctx.json) ctx.out(JSON.stringify(verdict));
    else if (verdict.valid) ctx.out(`Audit chain valid: ${verdict.checked} row(s) checked, head ${verdict.head ?? '(empty)'}`);
    else ctx.out(`Audit chain BROKEN at sequence ${verdict.firstBadSequence}: ${verdict.problem} (${verdict.checked} row(s) valid before it)`);
    return verdict.valid ? EXIT.OK : EXIT.REFUSED;
  },
};
