import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { RateLimitStatus } from '@garde/contracts';
import { runConsole, testOrder, until } from '@garde/testing';
import { TEST_TOKENS, apiClient } from './api-client.js';
import { setFaults, startTradingStack, type TradingStack } from './trading-stack.js';

const KEY = 'sim-key-rate-1';
const SECRET = 'sim-secret-rate-1';

/**
 * Rate limits (RB-004) against the simulator's Binance-style limits and its 429/418 faults: the budget
 * is read from the venue, a 429 storm pauses the account without ever reaching a ban, cancels still go
 * through, and a forced ban halts the account until an operator resumes it.
 */
describe('exchange-gateway rate limits against the simulator', () => {
  let stack: TradingStack;
  const api = apiClient(() => stack.gateway.url);
  const submit = (extra: Record<string, unknown> = {}) =>
    api('operator', 'POST', '/api/v1/orders', testOrder({ exchangeId: 'sim-binance', price: '50000', quantity: '0.001', ...extra }));
  const faults = (body: Record<string, unknown> | null) => setFaults(stack.sim.venue('sim-a').controlUrl, body);
  const status = async (): Promise<RateLimitStatus> => {
    const res = await api('viewer', 'GET', '/api/v1/venues/rate-limits?exchange=sim-binance');
    return (res.body as unknown as { accounts: RateLimitStatus[] }).accounts[0]!;
  };
  const storedIds = async () =>
    (await stack.sandbox.sql<{ client_order_id: string }>('SELECT client_order_id FROM gateway.venue_order')).map((r) => r.client_order_id);

  beforeAll(async () => {
    stack = await startTradingStack({
      label: 'gw-rate',
      venues: [
        {
          id: 'sim-a',
          port: 0,
          tickIntervalMs: 0,
          accounts: [{ apiKey: KEY, secret: SECRET, balances: { USDT: '100000', BTC: '1' } }],
          rateLimits: { requestWeightPerMinute: 6000, ordersPer10Seconds: 50, banAfter429s: 5, banSeconds: 3 },
        },
      ],
      gatewayEnv: { HEALTH_PROBE_MS: '200', ORDER_POLL_MS: '1000', ORDER_TRACKER_INTERVAL_MS: '100', RATE_LIMIT_ORDER_MAX_WAIT_MS: '300' },
      accounts: [{ id: 'rate-main', exchangeId: 'sim-binance', venue: 'sim-a', apiKey: KEY, secret: SECRET }],
    });
  });
  afterAll(() => stack?.stop());

  it('keeps the budget under 80 % of the limits the venue publishes, and shows it (console and API)', async () => {
    expect((await submit({ clientOrderId: 'rl-warm' })).body).toMatchObject({ state: 'OPEN' });
    const s = await status();
    expect(s).toMatchObject({ accountId: 'rate-main', exchangeId: 'sim-binance', state: 'OK', limitsSource: 'venue', count429: 0, count418: 0 });
    expect(s.windows).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ unit: 'weight', intervalMs: 60_000, limit: 6000, cap: 4800 }),
        expect.objectContaining({ unit: 'orders', intervalMs: 10_000, limit: 50, cap: 40 }),
      ]),
    );
    const env = { GARDE_API_URL: stack.gateway.url, GARDE_TOKEN: TEST_TOKENS.viewer };
    const table = await runConsole(['exchange:rate-limit:status', '--exchange=sim-binance'], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/sim-binance\s+rate-main\s+OK\s+.*orders \d+\/40\/50 per 10s/);
    const json = await runConsole(['exchange:rate-limit:status', '--json'], env);
    expect(JSON.parse(json.stdout)).toMatchObject({ accounts: [{ accountId: 'rate-main', state: 'OK' }] });
  });

  it('a burst of orders beyond the venue’s orders limit: the budget holds them back (RATE_LIMITED), the venue never answers 429', async () => {
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => submit({ clientOrderId: `rl-burst-${i}` })));
    const refused = results.filter((r) => r.status === 429);
    expect(refused.length).toBeGreaterThanOrEqual(20);
    expect(refused[0]!.body.error).toMatchObject({
      code: 'RATE_LIMITED',
      message: expect.stringMatching(/no room in the rate-limit budget of account rate-main/),
    });
    expect(results.filter((r) => r.status === 201).every((r) => r.body.state === 'OPEN')).toBe(true);
    // Exactly the accepted ones were persisted: a refused order left nothing behind.
    const accepted = results.flatMap((r, i) => (r.status === 201 ? [`rl-burst-${i}`] : []));
    expect((await storedIds()).filter((id) => id.startsWith('rl-burst-')).sort()).toEqual(accepted.sort());
    expect((await status()).count429).toBe(0);
  });

  it('tracks resting orders from the account’s open-orders list, not one query per order (the budget could not carry it)', async () => {
    const weight = (s: RateLimitStatus) => s.windows.find((w) => w.unit === 'weight')!.used;
    const open = await stack.sandbox.sql<{ n: string }>("SELECT count(*) AS n FROM gateway.venue_order WHERE state = 'OPEN'");
    expect(Number(open[0]!.n)).toBeGreaterThanOrEqual(20);
    const before = weight(await status());
    await new Promise((r) => setTimeout(r, 3000));
    // Polled every second: one query per order would weigh 4 × 20+ orders × 3 passes ≥ 240; one list per pass
    // weighs 6. The rest is the health probe (every 200 ms here) and the ticker risk-service keeps polled for
    // its reference price (since the pre-trade checks): about 100 in all, well under a query per order.
    expect(weight(await status()) - before).toBeLessThan(150);
  });

  it('429 storm: the account pauses for Retry-After, new orders are refused at once, a cancel still goes through, and no 418 is reached', async () => {
    // Let the orders window of the burst drain first.
    await until(status, (s) => s.windows.every((w) => w.unit !== 'orders' || w.used < 10), 15_000, 250);
    await faults({ rateLimited: { retryAfterSeconds: 1, banAfter: 5, banSeconds: 30 } });
    // The first call to meet the storm (an order, a poll or a health probe) pauses the account.
    await until(status, (s) => s.state === 'PAUSED', 5000, 50);

    const during = await submit({ clientOrderId: 'rl-storm-during' });
    expect(during.status).toBe(429);
    expect(during.body.error).toMatchObject({ code: 'RATE_LIMITED', message: expect.stringMatching(/paused by the venue's rate limit until/) });
    expect(await storedIds()).not.toContain('rl-storm-during');

    // Bots keep trying for 3 s: every order is refused by the gateway, none reaches the venue.
    const cancel = api('operator', 'POST', '/api/v1/orders/rl-warm/cancel', { reason: 'cancel during a 429 storm' });
    const started = Date.now();
    let attempts = 0;
    while (Date.now() - started < 3000) {
      const r = await submit({ clientOrderId: `rl-storm-${attempts++}` });
      expect([429, 201]).toContain(r.status);
      await new Promise((res) => setTimeout(res, 100));
    }
    await faults(null);
    const cancelled = await cancel;
    expect(cancelled.body).toMatchObject({ clientOrderId: 'rl-warm', state: 'CANCELED' });
    const after = await until(status, (s) => s.state === 'OK', 20_000, 200);
    expect(after.count418).toBe(0);
    expect(after.count429).toBeGreaterThanOrEqual(2);
    expect(after.count429).toBeLessThan(5);
    expect((await submit({ clientOrderId: 'rl-after-storm' })).body).toMatchObject({ state: 'OPEN' });
  });

  it('a forced 418: the account is HALTED (alert), orders refused until an operator resumes it after the ban', async () => {
    await faults({ banned: { seconds: 5 } });
    const halted = await until(status, (s) => s.state === 'HALTED', 5000, 50);
    expect(halted).toMatchObject({ count418: expect.any(Number), reason: expect.stringMatching(/banned by the venue \(HTTP 418\)/) });
    // The halt holds at once; it is written to PostgreSQL just after (it survives a restart).
    const [row] = await until(
      () => stack.sandbox.sql<{ rate_limit_halt: { reason: string } | null }>("SELECT rate_limit_halt FROM gateway.exchange_account WHERE id = 'rate-main'"),
      (rows) => rows[0]?.rate_limit_halt != null,
      5000,
      50,
    );
    expect(row!.rate_limit_halt).toMatchObject({ reason: halted.reason });
    const metrics = await (await fetch(`${stack.gateway.url}/metrics`)).text();
    expect(metrics).toMatch(/^garde_gateway_rate_limit_state\{exchange="sim-binance",account="rate-main"[^}]*\} 2$/m);
    expect(metrics).toMatch(/^garde_gateway_venue_rate_limit_answers_total\{exchange="sim-binance",account="rate-main",status="418"[^}]*\} [1-9]\d*$/m);

    const refused = await submit({ clientOrderId: 'rl-while-halted' });
    expect(refused.body.error).toMatchObject({ code: 'RATE_LIMITED', message: expect.stringMatching(/HALTED after a venue ban/) });
    const env = { GARDE_API_URL: stack.gateway.url, GARDE_TOKEN: TEST_TOKENS.risk };
    const tooEarly = await api('risk', 'POST', '/api/v1/exchange-accounts/rate-main/rate-limit/resume', { reason: 'too early' });
    expect(tooEarly.status).toBe(409);
    expect(tooEarly.body.error).toMatchObject({ code: 'INVALID_TRANSITION', message: expect.stringMatching(/banned by the venue until/) });
    expect((await runConsole(['exchange:rate-limit:status'], env)).code).toBe(1);

    await faults(null);
    await until(status, (s) => s.pausedUntil === null, 10_000, 200);
    const operator = await runConsole(['exchange:rate-limit:resume', 'rate-main', '--reason=ban understood'], {
      ...env,
      GARDE_TOKEN: TEST_TOKENS.operator,
    });
    expect(operator.code).toBe(1);
    expect(operator.stderr).toMatch(/FORBIDDEN|role/);
    const resumed = await runConsole(['exchange:rate-limit:resume', 'rate-main', '--reason=ban understood, polling reduced'], env);
    expect(resumed.stdout).toMatch(/rate-main \(sim-binance\): OK; new orders accepted again/);
    expect(resumed.code).toBe(0);
    const [cleared] = await stack.sandbox.sql<{ rate_limit_halt: unknown }>("SELECT rate_limit_halt FROM gateway.exchange_account WHERE id = 'rate-main'");
    expect(cleared!.rate_limit_halt).toBeNull();
    expect((await submit({ clientOrderId: 'rl-after-resume' })).body).toMatchObject({ state: 'OPEN' });
  });
});
