import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ReconciliationApplied, ReconciliationReport } from '@garde/contracts';
import { runCli } from '../cli.js';

/** A port nothing listens on: a command that reached for the API would exit 3, not 2. */
const CLOSED_API = { GARDE_API_URL: 'http://127.0.0.1:9', GARDE_TOKEN: 't' };

async function run(env: Record<string, string>, ...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { env, out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('bin/console portfolio:* usage errors (exit 2, nothing sent)', () => {
  it.each([
    [['portfolio:reconcile', '--apply'], '--apply needs a reason'],
    [['portfolio:reconcile', '--apply', '--reason=  '], '--apply needs a reason'],
    [['portfolio:reconcile', '--reason=why'], '--reason goes with --apply'],
    [['portfolio:reconcile', '--exchange=bad id'], 'invalid --exchange'],
    [['portfolio:reconcile', '--apply=yes', '--reason=why'], '--apply takes no value'],
    [['portfolio:discrepancies', '--exchange=a/b'], 'invalid --exchange'],
    [['portfolio:discrepancies', '--last=1h'], 'unknown option --last'],
  ])('%j → %s', async (argv, message) => {
    const result = await run(CLOSED_API, ...argv);
    expect(result.code).toBe(2);
    expect(result.err).toContain(message);
  });

  it('well-formed lines get past their own checks and reach for the API (exit 3 here)', async () => {
    for (const argv of [
      ['portfolio:discrepancies'],
      ['portfolio:discrepancies', '--all', '--exchange=sim-a', '--json'],
      ['portfolio:reconcile'],
      ['portfolio:reconcile', '--exchange=sim-a', '--apply', '--reason=drift explained'],
    ]) {
      expect((await run(CLOSED_API, ...argv)).code).toBe(3);
    }
  });
});

/** The gateway's answers, as the API would send them; each request is noted. */
describe('bin/console portfolio:* against an API', () => {
  let server: Server;
  let env: Record<string, string>;
  const requests: Array<{ method: string; url: string; body: unknown }> = [];
  let report: ReconciliationReport;
  let applied: ReconciliationApplied;

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      let raw = '';
      req.on('data', (d: Buffer) => (raw += d.toString()));
      req.on('end', () => {
        requests.push({ method: req.method ?? '', url: req.url ?? '', body: raw ? JSON.parse(raw) : undefined });
        const send = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        if (req.url?.startsWith('/api/v1/portfolio/reconciliation')) send(200, req.method === 'GET' ? report : applied);
        else if (req.url?.startsWith('/api/v1/portfolio/discrepancies')) send(200, { discrepancies: [] });
        else send(404, { error: { code: 'NOT_FOUND', message: 'no route' } });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    env = { GARDE_API_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, GARDE_TOKEN: 't' };
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const account = (status: ReconciliationReport['accounts'][number]['status'], over = false) => ({
    accountId: 'sim-main',
    exchangeId: 'sim-a',
    status,
    openedAt: '2026-01-01T00:00:00.000Z',
    venueReadAt: '2026-01-01T00:01:00.000Z',
    balances: [
      { asset: 'BTC', venue: over ? '1.5' : '1', ledger: '1', difference: over ? '0.5' : '0', tolerance: '0.00001', overTolerance: over },
      { asset: 'USDT', venue: '100', ledger: '100', difference: '0', tolerance: '0.01', overTolerance: false },
    ],
    orders: [],
    openDiscrepancies: over ? 1 : 0,
  });

  it('reconcile without --apply shows the differences, says nothing changed, exits 1 when one is over tolerance', async () => {
    report = { at: '2026-01-01T00:01:00.000Z', ledgerCaughtUp: true, accounts: [account('DIFFERENCES', true)] };
    const differs = await run(env, 'portfolio:reconcile', '--exchange=sim-a');
    expect(differs.code).toBe(1);
    expect(differs.out).toContain('nothing was changed');
    expect(differs.out).toMatch(/BTC\s+1\.5\s+1\s+0\.5\s+0\.00001\s+OVER TOLERANCE/);
    expect(differs.out).toContain('--apply --reason=');
    expect(requests.at(-1)).toEqual({ method: 'GET', url: '/api/v1/portfolio/reconciliation?exchange=sim-a', body: undefined });

    report = { at: '2026-01-01T00:01:00.000Z', ledgerCaughtUp: true, accounts: [account('MATCHED')] };
    const matched = await run(env, 'portfolio:reconcile', '--json');
    expect(matched.code).toBe(0);
    expect(JSON.parse(matched.out)).toEqual(report);
  });

  it('--apply sends the reason, shows the entries and that bots stay halted', async () => {
    applied = {
      at: '2026-01-01T00:02:00.000Z',
      actor: { id: 'rita', kind: 'operator', role: 'risk' },
      reason: 'drift explained',
      accounts: [
        {
          accountId: 'sim-main',
          exchangeId: 'sim-a',
          opened: false,
          adjustments: [{ asset: 'BTC', ledgerBefore: '1', venue: '1.5', amount: '0.5' }],
          cleared: ['7'],
          orders: [],
          haltedBots: ['b-1'],
        },
      ],
    };
    const result = await run(env, 'portfolio:reconcile', '--apply', '--reason=drift explained');
    expect(result.code).toBe(0);
    expect(requests.at(-1)).toEqual({ method: 'POST', url: '/api/v1/portfolio/reconciliation', body: { reason: 'drift explained' } });
    expect(result.out).toContain('Manual reconciliation by rita');
    expect(result.out).toMatch(/BTC\s+1\s+1\.5\s+0\.5/);
    expect(result.out).toContain('cleared discrepancies: #7');
    expect(result.out).toContain('stay HALTED: b-1');
    expect(result.out).toContain('bin/console bot:resume <bot-id>');
  });

  it('discrepancies asks for the cleared ones with --all', async () => {
    const result = await run(env, 'portfolio:discrepancies', '--all');
    expect(result.code).toBe(0);
    expect(requests.at(-1)?.url).toBe('/api/v1/portfolio/discrepancies?all=true');
    expect(result.out).toContain('No discrepancy was ever recorded');
  });
});
