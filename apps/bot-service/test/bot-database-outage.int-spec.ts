import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BotCreateCmd, BotGetQry, BotStartCmd, type Actor } from '@garde/contracts';
import type { RunningService } from '@garde/platform';
import { startTcpProxy, until, type TcpProxy } from '@garde/testing';
import { botOrders, setVenuePrice, startTradingStack, type TradingStack } from '../../exchange-gateway/test/trading-stack.js';
import { startBotService } from '../src/app.js';

const KEY = 'sim-key-db-outage';
const SECRET = 'sim-secret-db-outage';
const alice: Actor = { id: 'alice', kind: 'operator', role: 'operator' };

/**
 * bot-service whose link to PostgreSQL is cut (a restart, a network fault) while its bots trade: a step
 * that cannot reach the database is not its strategy's failure. bot-service reaches PostgreSQL through a
 * TCP proxy the test cuts; the gateway and risk-service keep theirs.
 */
describe('bot-service while its database is away', () => {
  let stack: TradingStack;
  let proxy: TcpProxy;
  let bots: RunningService;
  const bus = () => bots.runtime.bus;
  const orders = (botId: string) => botOrders(bus(), botId);
  const open = async (botId: string) =>
    (await orders(botId))
      .filter((o) => o.state === 'OPEN')
      .map((o) => `${o.side}@${Number(o.price)}`)
      .sort();
  const price = (p: string) => setVenuePrice(stack, bus(), { id: 'outage-venue', exchangeId: 'sim-outage' }, p);
  const metric = async (pattern: RegExp) => {
    const text = await (await fetch(`${bots.url}/metrics`)).text();
    return [...text.matchAll(new RegExp(pattern.source, 'gm'))].reduce((sum, m) => sum + Number(m[1]), 0);
  };

  beforeAll(async () => {
    stack = await startTradingStack({
      label: 'bot-db-outage',
      venues: [{ id: 'outage-venue', port: 0, tickIntervalMs: 0, accounts: [{ apiKey: KEY, secret: SECRET, balances: { USDT: '100000', BTC: '1' } }] }],
      gatewayEnv: { MARKET_DATA_POLL_MS: '200', ORDER_POLL_MS: '300', ORDER_TRACKER_INTERVAL_MS: '100' },
      accounts: [{ id: 'outage-main', exchangeId: 'sim-outage', venue: 'outage-venue', apiKey: KEY, secret: SECRET }],
    });
    const db = new URL(stack.sandbox.databaseUrl);
    proxy = await startTcpProxy({ host: db.hostname, port: Number(db.port || 5432) });
    db.port = String(proxy.port);
    bots = await startBotService(stack.sandbox.env({ DATABASE_URL: db.toString(), BOT_TICK_MS: '200', ENGINE_RETRY_AFTER_MS: '300' }));
  });
  afterAll(async () => {
    proxy?.restore();
    await bots?.close();
    await stack?.stop();
    await proxy?.close();
  });

  it('a step that cannot reach PostgreSQL is tried again, not a strategy failure: the bot stays RUNNING and trades on once it is back', async () => {
    await price('60000');
    const created = await bus().request(
      BotCreateCmd,
      {
        id: 'grid-outage',
        name: 'grid-outage',
        strategy: 'grid',
        exchangeId: 'sim-outage',
        symbol: 'BTC/USDT',
        parameters: { lower: '59000', upper: '61000', levels: 5, orderSize: '0.001' },
      },
      { actor: alice },
    );
    expect(created).toMatchObject({ ok: true });
    expect(await bus().request(BotStartCmd, { botId: 'grid-outage', reason: 'outage test' }, { actor: alice })).toMatchObject({ ok: true });
    expect(
      await until(
        () => open('grid-outage'),
        (o) => o.length === 4,
        15_000,
        100,
      ),
    ).toEqual(['buy@59000', 'buy@59500', 'sell@60500', 'sell@61000']);

    proxy.cut();
    // buy@59500 fills: the step that applies it cannot write.
    await price('59400');
    const unavailable = /^garde_bot_strategy_steps_total\{strategy="grid",outcome="database-unavailable",service="bot-service"\} (\d+)$/;
    expect(
      await until(
        () => metric(unavailable),
        (n) => n >= 1,
        15_000,
        100,
      ),
    ).toBeGreaterThanOrEqual(1);
    expect(await metric(/^garde_bot_strategy_errors_total\{[^}]*\} (\d+)$/)).toBe(0);

    proxy.restore();
    // Back: the fill applied, the sell one level up placed; RUNNING throughout.
    expect(
      await until(
        () => open('grid-outage'),
        (o) => o.includes('sell@60000'),
        15_000,
        100,
      ),
    ).toEqual(['buy@59000', 'sell@60000', 'sell@60500', 'sell@61000']);
    expect(await bus().request(BotGetQry, { botId: 'grid-outage' })).toMatchObject({ ok: true, result: { state: 'RUNNING', lastError: null } });
    expect(await metric(/^garde_bot_strategy_errors_total\{[^}]*\} (\d+)$/)).toBe(0);
  }, 60_000);
});
