import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { OrderAcceptedEvt, OrderCanceledEvt, OrderRejectedEvt, type AuditRecord } from '@garde/contracts';
import type { RunningService } from '@garde/platform';
import { runConsole, testOrder, until } from '@garde/testing';
import { startAuditService } from '../../audit-service/src/app.js';
import { TEST_TOKENS, apiClient } from './api-client.js';
import { startTradingStack, type TradingStack } from './trading-stack.js';

const KEY = 'sim-key-audit-q';
const SECRET = 'sim-secret-audit-q';

/** The operators' questions to the audit trail (RB-002, RB-013): recent errors, and one order's whole story. */
describe('audit trail queries through the API and the console', () => {
  let stack: TradingStack;
  let audit: RunningService;
  const api = apiClient(() => stack.gateway.url);
  const cli = (...args: string[]) => runConsole(args, { GARDE_API_URL: stack.gateway.url, GARDE_TOKEN: TEST_TOKENS.viewer });
  const submit = (extra: Record<string, unknown>) => api('operator', 'POST', '/api/v1/orders', testOrder({ exchangeId: 'sim-aq', price: '50000', ...extra }));
  const events = async (query: string) => ((await api('viewer', 'GET', `/api/v1/audit/events?${query}`)).body as unknown as { events: AuditRecord[] }).events;

  beforeAll(async () => {
    stack = await startTradingStack({
      label: 'gw-audit-q',
      venues: [{ id: 'aq-venue', port: 0, tickIntervalMs: 0, accounts: [{ apiKey: KEY, secret: SECRET, balances: { USDT: '100000', BTC: '1' } }] }],
      accounts: [{ id: 'aq-main', exchangeId: 'sim-aq', venue: 'aq-venue', apiKey: KEY, secret: SECRET }],
    });
    audit = await startAuditService(stack.sandbox.env());
    expect((await submit({ clientOrderId: 'aq-story', quantity: '0.002' })).body).toMatchObject({ state: 'OPEN' });
    expect((await api('operator', 'POST', '/api/v1/orders/aq-story/cancel', { reason: 'audit trail drill' })).body).toMatchObject({ state: 'CANCELED' });
    expect((await submit({ clientOrderId: 'aq-too-big', quantity: '900' })).body).toMatchObject({ state: 'REJECTED' });
    await until(
      () => events('order=aq-story'),
      (e) => e.length >= 2,
    );
    await until(
      () => events('level=error,critical'),
      (e) => e.some((r) => r.event.type === OrderRejectedEvt.type),
    );
  });
  afterAll(async () => {
    await audit?.close();
    await stack?.stop();
  });

  it("audit:trail --order tells one order's story in order: accepted, then cancelled with its reason", async () => {
    const trail = await cli('audit:trail', '--order=aq-story');
    expect(trail.code).toBe(0);
    const types = [OrderAcceptedEvt.type, OrderCanceledEvt.type];
    const lines = trail.stdout.split('\n').filter((l) => types.some((t) => l.includes(t)));
    expect(lines.map((l) => types.find((t) => l.includes(t)))).toEqual(types);
    expect(lines[1]).toContain('order aq-story CANCELED — audit trail drill');
    const json = JSON.parse((await cli('audit:trail', '--order=aq-story', '--json')).stdout) as { events: AuditRecord[] };
    const sequences = json.events.map((e) => e.sequence);
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    expect(new Set(json.events.map((e) => e.event.correlationId)).size).toBe(1);
    const byCorrelation = await cli('audit:trail', `--correlation-id=${json.events[0]!.event.correlationId}`, '--json');
    expect((JSON.parse(byCorrelation.stdout) as { events: AuditRecord[] }).events.map((e) => e.sequence)).toEqual(sequences);
    expect((await cli('audit:trail', '--order=never-existed')).code).toBe(1);
  });

  it('audit:errors lists error and critical events of a period, by service, most recent first', async () => {
    const recent = await cli('audit:errors', '--last=1h');
    expect(recent.code).toBe(0);
    expect(recent.stdout).toMatch(
      new RegExp(`error\\s+${OrderRejectedEvt.type.replaceAll('.', '\\.')}\\s+exchange-gateway/\\S+\\s+operator-person\\s+order aq-too-big REJECTED`),
    );
    expect(recent.stdout).not.toContain(OrderAcceptedEvt.type);
    const json = JSON.parse((await cli('audit:errors', '--last=1h', '--json')).stdout) as { events: AuditRecord[] };
    expect(json.events.every((e) => e.level === 'error' || e.level === 'critical')).toBe(true);
    expect((await cli('audit:errors', '--last=1h', '--service=risk-service')).stdout).toBe('No error or critical event in that period.\n');
    expect((await cli('audit:errors', '--last=1h', '--service=exchange-gateway')).stdout).toContain('order aq-too-big REJECTED');
    expect((await cli('audit:errors', `--since=${new Date(Date.now() + 60_000).toISOString()}`)).stdout).toContain('No error or critical event');
  });

  it('pages by sequence, and refuses bad input with a clear message', async () => {
    const [newest] = await events('limit=1');
    const [next] = await events(`limit=1&before=${newest!.sequence}`);
    expect(next!.sequence).toBeLessThan(newest!.sequence);
    expect((await api('viewer', 'GET', '/api/v1/audit/events?before=abc')).body.error).toMatchObject({
      code: 'INVALID_REQUEST',
      message: 'before must be a positive integer, not "abc"',
    });
    expect((await api('viewer', 'GET', '/api/v1/audit/events?level=loud')).status).toBe(400);
    const noPeriod = await cli('audit:errors');
    expect(noPeriod.code).toBe(2);
    expect(noPeriod.stderr).toContain('give one of --last=<30m|1h|2d> or --since=<ISO-8601 time>');
    expect((await cli('audit:errors', '--last=5x')).stderr).toContain('--last must be a duration such as 30m, 1h or 2d, not "5x"');
    expect((await cli('audit:trail', '--order=a', '--correlation-id=b')).code).toBe(2);
  });
});
