import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { RunningSimulator } from '@garde/exchange-simulator';
import type { RunningService } from '@garde/platform';
import { runConsole, testOrder, until } from '@garde/testing';
import { TEST_TOKENS, apiClient } from './api-client.js';
import { startTradingStack, type TradingStack } from './trading-stack.js';

const TOKENS = TEST_TOKENS;
const KEY = 'sim-key-health-1';
const SECRET = 'sim-secret-health-1';

/** RB-001: a venue that stops answering is DISCONNECTED, takes no order, and is reconciled when back. */
describe('venue health', () => {
  let sim: RunningSimulator;
  let gateway: RunningService;

  const call = apiClient(() => gateway.url);
  const api = (method: string, path: string, body?: unknown, role: keyof typeof TOKENS = 'operator') => call(role, method, path, body);
  const health = async () => ((await api('GET', '/api/v1/venues/health')).body.venues as Array<{ state: string; reconciling: boolean }>)[0]!;
  const control = (path: string, method: string, body?: unknown) =>
    fetch(`${sim.venue('venue-h').controlUrl}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });

  let stack: TradingStack;

  beforeAll(async () => {
    stack = await startTradingStack({
      label: 'gw-health',
      venues: [{ id: 'venue-h', port: 0, tickIntervalMs: 0, accounts: [{ apiKey: KEY, secret: SECRET, balances: { USDT: '100000' } }] }],
      gatewayEnv: { HEALTH_PROBE_MS: '100', DISCONNECT_AFTER_FAILURES: '2', VENUE_TIMEOUT_MS: '500', ORDER_POLL_MS: '600000' },
      accounts: [{ id: 'acct-h', exchangeId: 'ex-h', venue: 'venue-h', apiKey: KEY, secret: SECRET }],
    });
    ({ sim, gateway } = stack);
  });
  afterAll(() => stack?.stop());

  it('CONNECTED while it answers; exchange:health:check says so', async () => {
    expect(await until(health, (h) => h?.state === 'CONNECTED')).toMatchObject({ state: 'CONNECTED', reconciling: false });
    const check = await runConsole(['exchange:health:check'], { GARDE_API_URL: gateway.url, GARDE_TOKEN: TOKENS.operator });
    expect(check.stdout).toMatch(/ex-h\s+acct-h\s+CONNECTED/);
    expect(check.code).toBe(0);
  });

  it('refusing connections → DISCONNECTED, orders refused EXCHANGE_UNAVAILABLE; back → its orders reconciled, then CONNECTED', async () => {
    const resting = await until(
      () => api('POST', '/api/v1/orders', testOrder({ exchangeId: 'ex-h', clientOrderId: 'h-1', price: '59000' })),
      (r) => r.status === 201,
    );
    expect(resting.body).toMatchObject({ state: 'OPEN' });

    await control('/faults', 'POST', { refuseConnections: true });
    expect(await until(health, (h) => h.state === 'DISCONNECTED', 5000)).toMatchObject({ state: 'DISCONNECTED' });
    const refused = await api('POST', '/api/v1/orders', testOrder({ exchangeId: 'ex-h' }));
    expect(refused.status).toBe(503);
    expect(refused.body.error).toMatchObject({ code: 'EXCHANGE_UNAVAILABLE', message: expect.stringContaining('DISCONNECTED') });
    const check = await runConsole(['exchange:health:check', '--exchange=ex-h'], { GARDE_API_URL: gateway.url, GARDE_TOKEN: TOKENS.operator });
    expect(check.code).toBe(1);
    expect(await (await fetch(`${gateway.url}/metrics`)).text()).toMatch(/^garde_gateway_venue_up\{exchange="ex-h",service="exchange-gateway"\} 0$/m);

    // While the venue was away, the resting order filled.
    await control('/price', 'POST', { symbol: 'BTC/USDT', price: '58000' });
    await control('/faults', 'DELETE');
    expect(await until(health, (h) => h.state === 'CONNECTED', 5000)).toMatchObject({ state: 'CONNECTED', reconciling: false });
    // Reconciled before the venue took new orders: the fill is known without waiting for the next poll.
    expect((await api('GET', '/api/v1/orders/h-1')).body).toMatchObject({ state: 'FILLED', filled: '0.01' });
    expect((await api('POST', '/api/v1/orders', testOrder({ exchangeId: 'ex-h', price: '50000' }))).body).toMatchObject({ state: 'OPEN' });
  });
});
