import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MarketSubscribeCmd, TickerUpdatedMd, TickersQry, tickerKey, type Ticker } from '@garde/contracts';
import { runConsole, testOrder, until } from '@garde/testing';
import { TEST_TOKENS, apiClient } from './api-client.js';
import { setFaults, startTradingStack, type TradingStack } from './trading-stack.js';

const KEY = 'sim-key-md-1';
const SECRET = 'sim-secret-md-1';

/** Tickers of the symbols in use, read from the venue (simulator), published on NATS, with their age. */
describe('exchange-gateway market data', () => {
  let stack: TradingStack;
  const api = apiClient(() => stack.gateway.url);
  const control = (path: string, body: unknown) =>
    fetch(`${stack.sim.venue('md-venue').controlUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const tickers = async (filter: { exchangeId?: string; symbol?: string } = {}) => {
    const reply = await stack.gateway.runtime.bus.request(TickersQry, filter);
    if (!reply.ok) throw new Error(reply.error.message);
    return reply.result.tickers;
  };

  beforeAll(async () => {
    stack = await startTradingStack({
      label: 'gw-md',
      venues: [{ id: 'md-venue', port: 0, tickIntervalMs: 0, accounts: [{ apiKey: KEY, secret: SECRET, balances: { USDT: '100000', SOL: '100' } }] }],
      gatewayEnv: {
        MARKET_DATA_SYMBOLS: 'sim-md:BTC/USDT',
        MARKET_DATA_POLL_MS: '200',
        MARKET_DATA_STALE_MS: '1500',
        HEALTH_PROBE_MS: '60000',
        ORDER_POLL_MS: '60000',
      },
      accounts: [{ id: 'md-main', exchangeId: 'sim-md', venue: 'md-venue', apiKey: KEY, secret: SECRET }],
    });
  });
  afterAll(() => stack?.stop());

  it('publishes the configured symbols’ tickers on NATS as the venue’s price moves, exact to the decimal', async () => {
    const seen: Ticker[] = [];
    const sub = stack.gateway.runtime.bus.listen(TickerUpdatedMd, tickerKey('sim-md', 'BTC/USDT'), (t) => seen.push(t));
    try {
      await control('/price', { symbol: 'BTC/USDT', price: '61234.57' });
      await until(
        () => Promise.resolve(seen),
        (s) => s.some((t) => t.last === '61234.57'),
        5000,
      );
    } finally {
      sub.unsubscribe();
    }
    expect(seen.find((t) => t.last === '61234.57')).toMatchObject({ exchangeId: 'sim-md', symbol: 'BTC/USDT', bid: '61234.57', ask: '61234.57' });
    const [btc] = await tickers({ exchangeId: 'sim-md', symbol: 'BTC/USDT' });
    expect(btc).toMatchObject({ last: '61234.57', stale: false });
    expect(btc!.ageMs).toBeLessThan(1500);
  });

  it('polls the symbols of live orders and of subscriptions; an unknown market is refused', async () => {
    expect((await tickers()).map((t) => t.symbol)).toEqual(['BTC/USDT']);
    const placed = await api(
      'operator',
      'POST',
      '/api/v1/orders',
      testOrder({ exchangeId: 'sim-md', symbol: 'SOL/USDT', side: 'sell', quantity: '1', price: '9999' }),
    );
    expect(placed.body).toMatchObject({ state: 'OPEN' });
    const subscribed = await stack.gateway.runtime.bus.request(MarketSubscribeCmd, { exchangeId: 'sim-md', symbol: 'ETH/USDT', ttlMs: 60_000 });
    expect(subscribed).toMatchObject({ ok: true, result: { exchangeId: 'sim-md', symbol: 'ETH/USDT', until: expect.any(String) } });
    const all = await until(
      () => tickers({ exchangeId: 'sim-md' }),
      (t) => t.length === 3,
      5000,
    );
    expect(all.map((t) => t.symbol)).toEqual(['BTC/USDT', 'ETH/USDT', 'SOL/USDT']);
    expect(await stack.gateway.runtime.bus.request(MarketSubscribeCmd, { exchangeId: 'sim-md', symbol: 'DOGE/USDT' })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_REQUEST', message: 'sim-md has no market DOGE/USDT' },
    });
    expect(await stack.gateway.runtime.bus.request(MarketSubscribeCmd, { exchangeId: 'nowhere', symbol: 'BTC/USDT' })).toMatchObject({
      ok: false,
      error: { code: 'NO_VENUE_CONFIGURED' },
    });
  });

  it('a venue that stops answering leaves its prices stale, and says so (console, API, metric)', async () => {
    await control('/faults', { refuseConnections: true });
    try {
      const stale = await until(
        () => tickers({ exchangeId: 'sim-md', symbol: 'BTC/USDT' }),
        (t) => t[0]?.stale === true,
        10_000,
        200,
      );
      expect(stale[0]!.ageMs).toBeGreaterThan(1500);
      const env = { GARDE_API_URL: stack.gateway.url, GARDE_TOKEN: TEST_TOKENS.viewer };
      const table = await runConsole(['market:tickers', '--exchange=sim-md', '--symbol=BTC/USDT'], env);
      expect(table.code).toBe(1);
      expect(table.stdout).toMatch(/sim-md\s+BTC\/USDT\s+61234\.57\s+61234\.57\s+61234\.57\s+\d+\.\d s\s+STALE/);
      const http = await api('viewer', 'GET', '/api/v1/market/tickers?exchange=sim-md&symbol=BTC/USDT');
      expect(http.body).toMatchObject({ tickers: [{ symbol: 'BTC/USDT', stale: true }] });
      const metrics = await (await fetch(`${stack.gateway.url}/metrics`)).text();
      const age = Number(/^garde_gateway_ticker_age_seconds\{exchange="sim-md",symbol="BTC\/USDT"[^}]*\} (\S+)$/m.exec(metrics)?.[1]);
      expect(age).toBeGreaterThan(1.5);
      expect(metrics).toMatch(/^garde_gateway_ticker_polls_total\{exchange="sim-md",result="failed"[^}]*\} [1-9]/m);
    } finally {
      await setFaults(stack.sim.venue('md-venue').controlUrl, null);
    }
    const fresh = await until(
      () => tickers({ exchangeId: 'sim-md', symbol: 'BTC/USDT' }),
      (t) => t[0]?.stale === false,
      10_000,
      200,
    );
    expect(fresh[0]!.ageMs).toBeLessThan(1500);
    const json = await runConsole(['market:tickers', '--json'], { GARDE_API_URL: stack.gateway.url, GARDE_TOKEN: TEST_TOKENS.viewer });
    expect(json.code).toBe(0);
    expect((JSON.parse(json.stdout) as { tickers: unknown[] }).tickers).toHaveLength(3);
  });
});
