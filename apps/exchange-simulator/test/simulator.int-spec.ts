// Real, unmodified ccxt `binance` against the simulator over HTTP: the same code path the gateway uses
// (signing, parsing, error mapping). Prices are frozen (tickIntervalMs 0) and moved by hand.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import ccxt, { type Exchange } from 'ccxt';
import { startSimulator, type RunningSimulator } from '../src/index.js';

const KEY = 'key-a';
const SECRET = 'secret-a';
let sim: RunningSimulator;
let venueA: string;
let controlA: string;
let fresh = 0;

/** A ccxt binance client whose every API URL points at `baseUrl`, paths kept. */
function binanceAt(baseUrl: string, apiKey = KEY, secret = SECRET, timeout = 3000): Exchange {
  const exchange = new ccxt.binance({
    apiKey,
    secret,
    enableRateLimit: false,
    timeout,
    options: { fetchMarkets: { types: ['spot'] }, fetchMargins: false, fetchCurrencies: false },
  });
  const api = exchange.urls.api as Record<string, string>;
  for (const [name, url] of Object.entries(api)) api[name] = baseUrl + new URL(url).pathname;
  return exchange;
}

async function admin(base: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${base}${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const json: unknown = await res.json();
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(json)}`);
  return json;
}

interface StateOrder {
  clientOrderId: string;
  status: string;
  executedQty: string;
  apiKey: string;
}
interface State {
  orders: StateOrder[];
  trades: { orderId: number; commission: string }[];
  accounts: { apiKey: string; balances: Record<string, { free: string; locked: string }> }[];
}
const state = async (base = venueA) => (await admin(base, 'GET', '/__sim/state')) as State;
const setPrice = (price: string, symbol = 'BTC/USDT', base = venueA) => admin(base, 'POST', '/__sim/price', { symbol, price });
const faults = (body: unknown) => admin(venueA, 'POST', '/__sim/faults', body);
const clearFaults = () => admin(controlA, 'DELETE', '/faults');

/** A new funded account per test, so balances start known whatever ran before. */
async function freshClient(balances: Record<string, string> = { USDT: '10000', BTC: '1' }, timeout = 3000) {
  const apiKey = `key-${++fresh}`;
  await admin(venueA, 'POST', '/__sim/accounts', { apiKey, secret: `secret-${fresh}`, balances });
  const exchange = binanceAt(venueA, apiKey, `secret-${fresh}`, timeout);
  await exchange.loadMarkets();
  return { exchange, apiKey };
}

beforeAll(async () => {
  sim = await startSimulator({
    venues: [
      { id: 'sim-a', port: 0, tickIntervalMs: 0, accounts: [{ apiKey: KEY, secret: SECRET, balances: { USDT: '10000', BTC: '1' } }] },
      { id: 'sim-b', port: 0, tickIntervalMs: 0, symbols: [{ symbol: 'ETH/USDT', tickSize: '0.01', stepSize: '0.0001', initialPrice: '3000.00' }] },
    ],
  });
  venueA = sim.venue('sim-a').url;
  controlA = sim.venue('sim-a').controlUrl;
});

afterAll(async () => {
  await sim.stop();
});

beforeEach(async () => {
  await clearFaults();
  await setPrice('60000.00');
});

describe('market data', () => {
  it('loads the spot markets with their filters and publishes rate limits', async () => {
    const exchange = binanceAt(venueA);
    const markets = await exchange.loadMarkets();
    expect(Object.keys(markets).sort()).toEqual(['BTC/USDT', 'ETH/USDT', 'SOL/USDT']);
    const btc = markets['BTC/USDT']!;
    expect(btc).toMatchObject({ id: 'BTCUSDT', spot: true, active: true, precision: { price: 0.01, amount: 0.00001 } });
    expect(btc.limits.cost?.min).toBe(5);
    const info = (await (await fetch(`${venueA}/api/v3/exchangeInfo`)).json()) as { rateLimits: { rateLimitType: string; limit: number }[] };
    expect(info.rateLimits).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ rateLimitType: 'REQUEST_WEIGHT', limit: 6000 }),
        expect.objectContaining({ rateLimitType: 'ORDERS', limit: 100 }),
      ]),
    );
  });

  it('serves tickers at the price set for the test', async () => {
    const exchange = binanceAt(venueA);
    await setPrice('61234.56');
    const ticker = await exchange.fetchTicker('BTC/USDT');
    expect(ticker.info).toMatchObject({ lastPrice: '61234.56000000' });
    expect(ticker.last).toBe(61234.56);
    const tickers = await exchange.fetchTickers(['BTC/USDT', 'ETH/USDT']);
    expect(Object.keys(tickers).sort()).toEqual(['BTC/USDT', 'ETH/USDT']);
    expect(await exchange.fetchTime()).toBeGreaterThan(0);
  });
});

describe('orders', () => {
  it('rests a limit buy, then fills it at the limit price with an exact maker fee when the price crosses', async () => {
    const { exchange, apiKey } = await freshClient();
    const placed = await exchange.createOrder('BTC/USDT', 'limit', 'buy', 0.01, 59000, { clientOrderId: 'rest-1' });
    expect(placed).toMatchObject({ status: 'open', clientOrderId: 'rest-1', filled: 0 });
    let balance = await exchange.fetchBalance();
    expect(balance.info).toMatchObject({ balances: expect.arrayContaining([{ asset: 'USDT', free: '9410.00000000', locked: '590.00000000' }]) });

    await setPrice('59000.01');
    expect((await exchange.fetchOrder(placed.id!, 'BTC/USDT')).status).toBe('open');
    await setPrice('58999.99');

    const filled = await exchange.fetchOrder(placed.id!, 'BTC/USDT');
    expect(filled).toMatchObject({ status: 'closed', filled: 0.01, price: 59000 });
    expect(filled.info).toMatchObject({ executedQty: '0.01000000', cummulativeQuoteQty: '590.00000000', status: 'FILLED' });
    const [trade] = await exchange.fetchMyTrades('BTC/USDT');
    expect(trade!.info).toMatchObject({ price: '59000.00000000', qty: '0.01000000', commission: '0.00001000', commissionAsset: 'BTC', isMaker: true });
    expect(trade!.fee).toMatchObject({ cost: 0.00001, currency: 'BTC' });

    balance = await exchange.fetchBalance();
    expect(balance.info).toMatchObject({
      balances: expect.arrayContaining([
        { asset: 'USDT', free: '9410.00000000', locked: '0.00000000' },
        { asset: 'BTC', free: '1.00999000', locked: '0.00000000' },
      ]),
    });
    const truth = (await state()).accounts.find((a) => a.apiKey === apiKey)!;
    expect(truth.balances).toEqual({ USDT: { free: '9410', locked: '0' }, BTC: { free: '1.00999', locked: '0' } });
  });

  it('fills a market order at once at the current price with an exact taker fee', async () => {
    const { exchange } = await freshClient();
    await setPrice('60000.01');
    const order = await exchange.createOrder('BTC/USDT', 'market', 'sell', 0.1);
    expect(order).toMatchObject({ status: 'closed', filled: 0.1, average: 60000.01 });
    expect(order.info).toMatchObject({
      cummulativeQuoteQty: '6000.00100000',
      fills: [{ price: '60000.01000000', qty: '0.10000000', commission: '6.00000100', commissionAsset: 'USDT' }],
    });
    expect(order.fee).toMatchObject({ cost: 6.000001, currency: 'USDT' });
    const balance = await exchange.fetchBalance();
    // 10000 + 6000.001 − 6.000001 = 15994.000999 exactly; BTC 1 − 0.1.
    expect(balance.info).toMatchObject({
      balances: expect.arrayContaining([
        { asset: 'USDT', free: '15994.00099900', locked: '0.00000000' },
        { asset: 'BTC', free: '0.90000000', locked: '0.00000000' },
      ]),
    });
  });

  it('cancels a resting order and unlocks its funds; lists open orders', async () => {
    const { exchange } = await freshClient();
    const order = await exchange.createOrder('BTC/USDT', 'limit', 'sell', 0.2, 70000);
    expect((await exchange.fetchOpenOrders('BTC/USDT')).map((o) => o.id)).toEqual([order.id]);
    expect((await exchange.fetchBalance())['BTC']).toMatchObject({ free: 0.8, used: 0.2 });
    const canceled = await exchange.cancelOrder(order.id!, 'BTC/USDT');
    expect(canceled.status).toBe('canceled');
    expect(await exchange.fetchOpenOrders('BTC/USDT')).toEqual([]);
    expect((await exchange.fetchBalance())['BTC']).toMatchObject({ free: 1, used: 0 });
  });

  it('finds an order by client order id', async () => {
    const { exchange } = await freshClient();
    const placed = await exchange.createOrder('ETH/USDT', 'limit', 'buy', 0.5, 2500, { clientOrderId: 'bot-7-0001' });
    const byClientId = await exchange.fetchOrder('', 'ETH/USDT', { clientOrderId: 'bot-7-0001' });
    expect(byClientId).toMatchObject({ id: placed.id, clientOrderId: 'bot-7-0001', status: 'open' });
    const byOrigClientId = await exchange.fetchOrder('', 'ETH/USDT', { origClientOrderId: 'bot-7-0001' });
    expect(byOrigClientId.id).toBe(placed.id);
  });
});

describe('errors as ccxt maps them', () => {
  it('bad signature → AuthenticationError', async () => {
    await expect(binanceAt(venueA, KEY, 'not-the-secret').fetchBalance()).rejects.toBeInstanceOf(ccxt.AuthenticationError);
  });

  it('unknown API key → AuthenticationError', async () => {
    await expect(binanceAt(venueA, 'nobody', 'x').fetchBalance()).rejects.toBeInstanceOf(ccxt.AuthenticationError);
  });

  it('insufficient funds → InsufficientFunds, and no order exists', async () => {
    const { exchange, apiKey } = await freshClient();
    await expect(exchange.createOrder('BTC/USDT', 'limit', 'buy', 1, 59000)).rejects.toBeInstanceOf(ccxt.InsufficientFunds);
    await expect(exchange.createOrder('BTC/USDT', 'market', 'sell', 2)).rejects.toBeInstanceOf(ccxt.InsufficientFunds);
    expect((await state()).orders.filter((o) => o.apiKey === apiKey)).toEqual([]);
  });

  it('unknown order → OrderNotFound on fetch and cancel', async () => {
    const { exchange } = await freshClient();
    await expect(exchange.fetchOrder('987654', 'BTC/USDT')).rejects.toBeInstanceOf(ccxt.OrderNotFound);
    await expect(exchange.cancelOrder('987654', 'BTC/USDT')).rejects.toBeInstanceOf(ccxt.OrderNotFound);
  });

  it('a quantity off the lot size → InvalidOrder', async () => {
    const { exchange } = await freshClient();
    // ccxt rounds amounts to the step itself, so send the raw request to see the venue refuse it.
    const raw = exchange as unknown as { privatePostOrder(params: Record<string, string>): Promise<unknown> };
    await expect(
      raw.privatePostOrder({ symbol: 'BTCUSDT', side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', quantity: '0.000015', price: '50000' }),
    ).rejects.toBeInstanceOf(ccxt.InvalidOrder);
  });
});

describe('faults', () => {
  it('503 → ExchangeNotAvailable, then recovery', async () => {
    const exchange = binanceAt(venueA);
    // Markets first: ccxt 4.5.84 keeps a failed loadMarkets promise cached, so a venue down at that
    // moment would stay "down" for this instance until loadMarkets(true).
    await exchange.loadMarkets();
    await faults({ unavailable: true });
    await expect(exchange.fetchTicker('BTC/USDT')).rejects.toBeInstanceOf(ccxt.ExchangeNotAvailable);
    await clearFaults();
    expect((await exchange.fetchTicker('BTC/USDT')).last).toBe(60000);
  });

  it('429 with Retry-After → DDoSProtection, then 418 ban after repeated 429s, then recovery', async () => {
    const exchange = binanceAt(venueA);
    await exchange.loadMarkets();
    await faults({ rateLimited: { retryAfterSeconds: 7, banAfter: 2, banSeconds: 60 } });
    const raw = await fetch(`${venueA}/api/v3/time`);
    expect(raw.status).toBe(429);
    expect(raw.headers.get('retry-after')).toBe('7');
    await expect(exchange.fetchTicker('BTC/USDT')).rejects.toThrow(/ 429 /);
    const banned = exchange.fetchTicker('BTC/USDT');
    await expect(banned).rejects.toBeInstanceOf(ccxt.DDoSProtection);
    await expect(banned).rejects.toThrow(/ 418 .*banned until/);
    await clearFaults();
    expect((await exchange.fetchTicker('BTC/USDT')).last).toBe(60000);
  });

  it('a forced ban → 418 DDoSProtection with Retry-After', async () => {
    await faults({ banned: { seconds: 30 } });
    const raw = await fetch(`${venueA}/api/v3/ping`);
    expect(raw.status).toBe(418);
    expect(Number(raw.headers.get('retry-after'))).toBeGreaterThan(0);
    await expect(binanceAt(venueA).fetchTicker('BTC/USDT')).rejects.toBeInstanceOf(ccxt.DDoSProtection);
  });

  it('order POST times out after the venue created the order → RequestTimeout; the order exists and is found later', async () => {
    const { exchange, apiKey } = await freshClient(undefined, 1000);
    await faults({ timeoutAfterCreate: true });
    const attempt = exchange.createOrder('BTC/USDT', 'limit', 'buy', 0.01, 55000, { clientOrderId: 'unknown-outcome-1' });
    await expect(attempt).rejects.toBeInstanceOf(ccxt.RequestTimeout);
    await expect(attempt).rejects.toBeInstanceOf(ccxt.NetworkError);
    const mine = (await state()).orders.filter((o) => o.apiKey === apiKey);
    expect(mine).toEqual([expect.objectContaining({ clientOrderId: 'unknown-outcome-1', status: 'NEW' })]);
    await clearFaults();
    expect(await exchange.fetchOrder('', 'BTC/USDT', { clientOrderId: 'unknown-outcome-1' })).toMatchObject({ status: 'open' });
  });

  it('order POST times out before creating anything → RequestTimeout; the venue never heard of it', async () => {
    const { exchange, apiKey } = await freshClient(undefined, 1000);
    await faults({ timeoutBeforeCreate: { hangMs: 5000 } });
    await expect(exchange.createOrder('BTC/USDT', 'limit', 'buy', 0.01, 55000, { clientOrderId: 'lost-1' })).rejects.toBeInstanceOf(ccxt.RequestTimeout);
    await clearFaults();
    await expect(exchange.fetchOrder('', 'BTC/USDT', { clientOrderId: 'lost-1' })).rejects.toBeInstanceOf(ccxt.OrderNotFound);
    expect((await state()).orders.filter((o) => o.apiKey === apiKey)).toEqual([]);
  });

  it('refused connections → NetworkError, cleared through the control port → recovery', async () => {
    const exchange = binanceAt(venueA);
    await faults({ refuseConnections: true });
    await expect(exchange.fetchTime()).rejects.toBeInstanceOf(ccxt.NetworkError);
    await expect(fetch(`${venueA}/api/v3/ping`)).rejects.toThrow();
    expect(await admin(controlA, 'GET', '/faults')).toEqual({ refuseConnections: true });
    await clearFaults();
    expect(await exchange.fetchTime()).toBeGreaterThan(0);
  });

  it('latency beyond the client timeout → RequestTimeout', async () => {
    await faults({ latencyMs: 1500 });
    await expect(binanceAt(venueA, KEY, SECRET, 500).fetchTime()).rejects.toBeInstanceOf(ccxt.RequestTimeout);
  });

  it('orders accepted under neverFill rest whatever the price does, and fill once the fault is cleared', async () => {
    const { exchange } = await freshClient();
    await faults({ neverFill: true });
    const order = await exchange.createOrder('BTC/USDT', 'limit', 'buy', 0.01, 59000);
    await setPrice('50000.00');
    expect((await exchange.fetchOrder(order.id!, 'BTC/USDT')).status).toBe('open');
    await clearFaults();
    await setPrice('50000.00');
    expect((await exchange.fetchOrder(order.id!, 'BTC/USDT')).status).toBe('closed');
  });

  it('neverReport: queries say NEW forever (stale) or not found (missing) while the venue filled the order', async () => {
    const { exchange, apiKey } = await freshClient();
    await faults({ neverReport: { mode: 'stale' } });
    const stale = await exchange.createOrder('BTC/USDT', 'market', 'buy', 0.01);
    expect(stale.status).toBe('open');
    expect((await exchange.fetchOrder(stale.id!, 'BTC/USDT')).info).toMatchObject({ status: 'NEW', executedQty: '0.00000000' });
    expect((await exchange.fetchOpenOrders('BTC/USDT')).map((o) => o.id)).toEqual([stale.id]);
    await faults({ neverReport: { mode: 'missing' } });
    await expect(exchange.fetchOrder(stale.id!, 'BTC/USDT')).rejects.toBeInstanceOf(ccxt.OrderNotFound);
    expect((await state()).orders.find((o) => o.apiKey === apiKey)).toMatchObject({ status: 'FILLED', executedQty: '0.01' });
    await clearFaults();
    expect((await exchange.fetchOrder(stale.id!, 'BTC/USDT')).status).toBe('closed');
  });

  it('dropFills: trades vanish from queries while the order is filled', async () => {
    const { exchange } = await freshClient();
    await faults({ dropFills: true });
    const order = await exchange.createOrder('BTC/USDT', 'market', 'buy', 0.01);
    expect(order.info).toMatchObject({ status: 'FILLED', fills: [] });
    expect(await exchange.fetchMyTrades('BTC/USDT')).toEqual([]);
    await clearFaults();
    expect(await exchange.fetchMyTrades('BTC/USDT')).toHaveLength(1);
  });

  it('driftBalance changes a balance behind the books', async () => {
    const { exchange, apiKey } = await freshClient();
    await faults({ driftBalance: { apiKey, asset: 'USDT', delta: '-123.45' } });
    expect((await exchange.fetchBalance()).info).toMatchObject({
      balances: expect.arrayContaining([{ asset: 'USDT', free: '9876.55000000', locked: '0.00000000' }]),
    });
    expect(await admin(venueA, 'GET', '/__sim/faults')).toEqual({});
  });
});

describe('several venues', () => {
  it('keep their own state, accounts and faults', async () => {
    const b = sim.venue('sim-b');
    await setPrice('3100.00', 'ETH/USDT', b.url);
    const onB = binanceAt(b.url);
    expect(Object.keys(await onB.loadMarkets())).toEqual(['ETH/USDT']);
    await admin(b.url, 'POST', '/__sim/faults', { unavailable: true });
    const onA = binanceAt(venueA);
    expect((await onA.fetchTicker('ETH/USDT')).last).toBe(3000);
    await expect(onB.fetchTicker('ETH/USDT')).rejects.toBeInstanceOf(ccxt.ExchangeNotAvailable);
    await admin(b.controlUrl, 'DELETE', '/faults');
    expect((await onB.fetchTicker('ETH/USDT')).last).toBe(3100);
    // key-a exists on sim-a only.
    await expect(onB.fetchBalance()).rejects.toBeInstanceOf(ccxt.AuthenticationError);
  });
});

describe('a venue with a state file', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'garde-sim-state-'));
  const venueWith = (stateFile?: string) => ({
    venues: [
      {
        id: 'sim-kept',
        port: 0,
        tickIntervalMs: 0,
        ...(stateFile ? { stateFile } : {}),
        accounts: [{ apiKey: KEY, secret: SECRET, balances: { USDT: '10000', BTC: '1' } }],
      },
    ],
  });
  const prices = async (base: string) => ((await admin(base, 'POST', '/__sim/tick', { steps: 5 })) as { prices: Record<string, string> }).prices;

  it('keeps its books across a restart: balances, open and filled orders, trades, accounts, ids and price paths', async () => {
    const file = path.join(dir, 'sim-kept.json');
    let kept = await startSimulator(venueWith(file));
    const control = await startSimulator(venueWith());
    try {
      let base = kept.venue('sim-kept').url;
      const client = binanceAt(base);
      await client.loadMarkets();
      const resting = await client.createOrder('BTC/USDT', 'limit', 'buy', 0.01, 50000, { clientOrderId: 'keep-rest' });
      await client.createOrder('BTC/USDT', 'market', 'buy', 0.02, undefined, { clientOrderId: 'keep-market' });
      await admin(base, 'POST', '/__sim/accounts', { apiKey: 'key-kept', secret: 'secret-kept', balances: { USDT: '500' } });
      // The same moves on a venue that never stops: the restarted one must walk on to the same prices.
      expect(await prices(base)).toEqual(await prices(control.venue('sim-kept').url));
      const before = await state(base);

      await kept.stop();
      kept = await startSimulator(venueWith(file));
      base = kept.venue('sim-kept').url;

      expect({ ...(await state(base)), serverTime: 0 }).toEqual({ ...before, serverTime: 0 });
      expect(await prices(base)).toEqual(await prices(control.venue('sim-kept').url));
      const again = binanceAt(base);
      await again.loadMarkets();
      expect((await again.fetchOpenOrders('BTC/USDT')).map((o) => o.clientOrderId)).toEqual(['keep-rest']);
      expect((await again.fetchBalance())['USDT']).toMatchObject({ used: 500 });
      // A client order id still open is still a duplicate; new orders get new ids; the resting one cancels.
      await expect(again.createOrder('BTC/USDT', 'limit', 'buy', 0.01, 50000, { clientOrderId: 'keep-rest' })).rejects.toBeInstanceOf(ccxt.InvalidOrder);
      const next = await again.createOrder('BTC/USDT', 'limit', 'buy', 0.01, 50000, { clientOrderId: 'keep-next' });
      expect(Number(next.id)).toBeGreaterThan(Number(resting.id));
      expect((await again.cancelOrder(resting.id!, 'BTC/USDT')).status).toBe('canceled');
      // An account opened through the admin API signs as before.
      expect((await binanceAt(base, 'key-kept', 'secret-kept').fetchBalance())['USDT']).toMatchObject({ free: 500 });
    } finally {
      await kept.stop();
      await control.stop();
    }
  });

  it('refuses to start on a state file it cannot take whole, and says how to start afresh', async () => {
    const file = path.join(dir, 'broken.json');
    writeFileSync(file, '{"version":1,"venueId":"sim-kept","engine":');
    await expect(startSimulator(venueWith(file))).rejects.toThrow(`venue sim-kept: cannot resume from ${file}`);
    writeFileSync(file, JSON.stringify({ version: 1, venueId: 'sim-other', engine: {}, walks: {}, secrets: {} }));
    await expect(startSimulator(venueWith(file))).rejects.toThrow('it holds venue "sim-other"); move it away to start this venue afresh');
  });
});
