import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BotCreateCmd, BotOrdersQry, BotStartCmd, KillSwitchActivateCmd, type Actor, type BotStatus, type Order, type OrderFill } from '@garde/contracts';
import { Decimal, positionFromFills } from '@garde/domain';
import type { RunningService } from '@garde/platform';
import { runConsole, until } from '@garde/testing';
import { TEST_TOKENS, apiClient } from '../../exchange-gateway/test/api-client.js';
import { setFaults, startTradingStack, type TradingStack } from '../../exchange-gateway/test/trading-stack.js';
import { startBotService } from '../src/app.js';

const KEY = 'sim-key-status';
const SECRET = 'sim-secret-status';
const BOT = 'grid-status';
const alice: Actor = { id: 'alice', kind: 'operator', role: 'operator' };

/**
 * bot:status of a grid bot trading on the simulator, through the whole chain (bot-service, gateway,
 * risk-service, simulator): its ladder is placed, the price crosses levels, fills arrive and opposite
 * orders appear, and the position and PnL that bot:status shows (HTTP API and bin/console) are those
 * of the fills the gateway reports for the bot.
 */
describe('bot:status: position, PnL, open orders and last error of a trading bot', () => {
  let stack: TradingStack;
  let bots: RunningService;
  const api = apiClient(() => stack.gateway.url);
  const consoleAs = (...args: string[]) => runConsole(args, { GARDE_API_URL: stack.gateway.url, GARDE_TOKEN: TEST_TOKENS.viewer });
  const price = (p: string) =>
    fetch(`${stack.sim.venue('status-venue').controlUrl}/price`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ symbol: 'BTC/USDT', price: p }),
    });
  /** The bot's orders and fills as the gateway records them. */
  const gateway = async (): Promise<{ orders: Order[]; fills: OrderFill[] }> => {
    const reply = await bots.runtime.bus.request(BotOrdersQry, { botId: BOT, since: new Date(0).toISOString() });
    if (!reply.ok) throw new Error(reply.error.message);
    return reply.result;
  };
  const status = async (): Promise<BotStatus> => {
    const reply = await api('viewer', 'GET', `/api/v1/bots/${BOT}`);
    if (reply.status !== 200) throw new Error(JSON.stringify(reply.body));
    return reply.body as unknown as BotStatus;
  };
  const has = (orders: Order[], side: 'buy' | 'sell', at: number, state: string) =>
    orders.some((o) => o.side === side && Number(o.price) === at && o.state === state);

  beforeAll(async () => {
    stack = await startTradingStack({
      label: 'bot-status',
      venues: [{ id: 'status-venue', port: 0, tickIntervalMs: 0, accounts: [{ apiKey: KEY, secret: SECRET, balances: { USDT: '100000', BTC: '1' } }] }],
      gatewayEnv: { MARKET_DATA_POLL_MS: '200', MARKET_DATA_STALE_MS: '1500', ORDER_POLL_MS: '300', ORDER_TRACKER_INTERVAL_MS: '100' },
      accounts: [{ id: 'status-main', exchangeId: 'sim-status', venue: 'status-venue', apiKey: KEY, secret: SECRET }],
    });
    bots = await startBotService(stack.sandbox.env({ BOT_TICK_MS: '200', ENGINE_RESYNC_MS: '500' }));
    await price('60000');
    const created = await bots.runtime.bus.request(
      BotCreateCmd,
      {
        id: BOT,
        name: BOT,
        strategy: 'grid',
        exchangeId: 'sim-status',
        symbol: 'BTC/USDT',
        parameters: { lower: '59000', upper: '61000', levels: 5, orderSize: '0.001' },
      },
      { actor: alice },
    );
    if (!created.ok) throw new Error(created.error.message);
    const started = await bots.runtime.bus.request(BotStartCmd, { botId: BOT, reason: 'status test' }, { actor: alice });
    if (!started.ok) throw new Error(started.error.message);
  });
  afterAll(async () => {
    await bots?.close();
    await stack?.stop();
  });

  it('the ladder is placed; as the price crosses levels fills arrive and opposite orders appear; the position and PnL are those of the fills', async () => {
    // The ladder around 60000: buys at 59000 and 59500, sells at 60500 and 61000 (their base bought at market).
    await until(
      () => gateway(),
      ({ orders }) => has(orders, 'buy', 59500, 'OPEN') && has(orders, 'sell', 60500, 'OPEN'),
      20_000,
      200,
    );
    // Down through 59500: that buy fills, and a sell one level up appears.
    await price('59400');
    await until(
      () => gateway(),
      ({ orders }) => has(orders, 'buy', 59500, 'FILLED') && has(orders, 'sell', 60000, 'OPEN'),
      20_000,
      200,
    );
    // Back up through 60000: that sell fills (a realized profit), and a buy one level down appears again.
    await price('60200');
    const { orders, fills } = await until(
      () => gateway(),
      ({ orders }) =>
        has(orders, 'sell', 60000, 'FILLED') && orders.filter((o) => o.side === 'buy' && Number(o.price) === 59500).some((o) => o.state === 'OPEN'),
      20_000,
      200,
    );
    // bot:status catches up with the gateway once the engine has applied every fill.
    const shown = await until(status, (s) => s.position.fillCount === fills.length && s.position.unrealizedPnl !== null, 15_000, 200);

    // What the gateway reports, summed here by hand: base bought − sold − fees in base; quote received − paid − fees in quote.
    const side = new Map(orders.map((o) => [o.clientOrderId, o.side]));
    const executed = [...fills].sort(
      (a, b) => a.at.localeCompare(b.at) || a.clientOrderId.localeCompare(b.clientOrderId) || a.tradeId.localeCompare(b.tradeId),
    );
    let base = Decimal.ZERO;
    let cash = Decimal.ZERO;
    const fees = new Map<string, Decimal>();
    for (const f of executed) {
      const buy = side.get(f.clientOrderId) === 'buy';
      const fee = Decimal.of(f.fee);
      base = buy ? base.plus(f.quantity) : base.minus(f.quantity);
      cash = buy ? cash.minus(Decimal.of(f.quantity).times(f.price)) : cash.plus(Decimal.of(f.quantity).times(f.price));
      if (f.feeCurrency === 'BTC') base = base.minus(fee);
      else cash = cash.minus(fee);
      if (!fee.isZero()) fees.set(f.feeCurrency ?? 'USDT', (fees.get(f.feeCurrency ?? 'USDT') ?? Decimal.ZERO).plus(fee));
    }
    expect(executed.some((f) => side.get(f.clientOrderId) === 'sell')).toBe(true);
    expect(Decimal.of(shown.position.quantity).eq(base)).toBe(true);
    expect(Object.fromEntries(Object.entries(shown.position.fees).map(([c, v]) => [c, Decimal.of(v).toString()]))).toEqual(
      Object.fromEntries([...fees].map(([c, v]) => [c, v.toString()])),
    );
    // Realized + unrealized is the cash flow plus the base valued at the mark price: whatever the method, no PnL is made up or lost.
    const mark = Decimal.of(shown.position.markPrice!);
    expect(
      Decimal.of(shown.position.realizedPnl)
        .plus(shown.position.unrealizedPnl!)
        .eq(cash.plus(base.times(mark))),
    ).toBe(true);
    // And the realized PnL is the average-cost one of these fills, in the order the venue executed them.
    const expected = positionFromFills(
      'BTC',
      'USDT',
      executed.map((f) => ({
        side: side.get(f.clientOrderId)!,
        price: Decimal.of(f.price),
        quantity: Decimal.of(f.quantity),
        fee: Decimal.of(f.fee),
        feeCurrency: f.feeCurrency,
      })),
    );
    expect(shown.position).toMatchObject({
      baseCurrency: 'BTC',
      quoteCurrency: 'USDT',
      realizedPnl: expected.realizedPnl.toString(),
      markPrice: '60200',
      unrealizedPnlNote: null,
      fillsWithoutDetails: 0,
    });
    // The sell at 60000 of base bought at an average below it: a profit, net of its fee.
    expect(Decimal.of(shown.position.realizedPnl).isPositive()).toBe(true);
    // Open orders: those the gateway has open for the bot (none is left to send after the step), and the gateway counts the same.
    const open = orders.filter((o) => ['OPEN', 'PARTIALLY_FILLED'].includes(o.state)).length;
    expect(shown.openOrders).toEqual({ count: open, unsent: 0, unsentCancels: 0, atGateway: open });
    expect(shown).toMatchObject({ id: BOT, state: 'RUNNING', lastError: null });

    // bin/console shows the same, in words and in JSON.
    const human = await consoleAs('bot:status', BOT);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`  position:    ${shown.position.quantity} BTC, average entry `);
    expect(human.stdout).toMatch(
      new RegExp(
        `  PnL: +realized ≈?${Decimal.of(shown.position.realizedPnl).round(8, 'half-up').toString().replace('.', '\\.')} USDT; unrealized .* at 60200 `,
      ),
    );
    expect(human.stdout).toContain(`  fills:       ${fills.length}\n`);
    expect(human.stdout).toContain(`  open orders: ${open}\n`);
    expect(human.stdout).toContain('  last error:  none');
    const json = await consoleAs('bot:status', BOT, '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ id: BOT, position: { quantity: shown.position.quantity, realizedPnl: shown.position.realizedPnl } });
    const all = await consoleAs('bot:status', '--all');
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/POSITION\s+OPEN\s+REALIZED PNL\s+UNREALIZED PNL\s+SINCE\s+LAST ERROR\s+REASON/);
    expect(all.stdout).toMatch(
      new RegExp(`${BOT}\\s.*\\s${shown.position.quantity.replace('.', '\\.')} BTC\\s+${open}\\s+≈?-?[0-9.]+ USDT\\s+≈?-?[0-9.]+ USDT\\s`),
    );
    const list = await api('viewer', 'GET', '/api/v1/bots');
    expect((list.body as unknown as { bots: BotStatus[] }).bots.find((b) => b.id === BOT)?.position.realizedPnl).toBe(shown.position.realizedPnl);
    // The OpenAPI document describes the new fields.
    const doc = await api('viewer', 'GET', '/api/v1/openapi.json');
    expect(JSON.stringify(doc.body)).toContain('unrealizedPnlNote');
  }, 90_000);

  it('with no fresh price, the unrealized PnL is unknown and bot:status says why; the rest stands', async () => {
    const before = await status();
    expect(Decimal.of(before.position.quantity).isZero()).toBe(false);
    await setFaults(stack.sim.venue('status-venue').controlUrl, { refuseConnections: true });
    try {
      const stale = await until(status, (s) => s.position.unrealizedPnl === null, 15_000, 200);
      expect(stale.position).toMatchObject({
        quantity: before.position.quantity,
        realizedPnl: before.position.realizedPnl,
        unrealizedPnl: null,
        markPrice: null,
        unrealizedPnlNote: expect.stringMatching(/^no mark price: the ticker for BTC\/USDT on sim-status is stale \(\d+ s old\)$/),
      });
      const human = await consoleAs('bot:status', BOT);
      expect(human.stdout).toMatch(/; unrealized unknown \(no mark price: the ticker for BTC\/USDT on sim-status is stale/);
      const all = await consoleAs('bot:status', '--all');
      expect(all.stdout).toMatch(new RegExp(`unrealized PnL unknown for ${BOT}: no mark price: the ticker for BTC/USDT on sim-status is stale`));
    } finally {
      await setFaults(stack.sim.venue('status-venue').controlUrl, null);
    }
  }, 30_000);

  it("after a kill switch the halted bot's strategy still counts its orders, the gateway none: bot:status shows both", async () => {
    const before = await status();
    expect(before.openOrders.count).toBeGreaterThan(0);
    const halted = await bots.runtime.bus.request(KillSwitchActivateCmd, { scope: `bot:${BOT}`, reason: 'status drill' }, { actor: alice });
    expect(halted.ok).toBe(true);
    // The gateway cancels the bot's orders at the venue; the halted bot takes no step, so its strategy's view stays.
    const shown = await until(status, (s) => s.state === 'HALTED' && s.openOrders.atGateway === 0, 15_000, 200);
    expect(shown.openOrders).toEqual({ count: before.openOrders.count, unsent: 0, unsentCancels: 0, atGateway: 0 });
    const human = await consoleAs('bot:status', BOT);
    expect(human.stdout).toContain(`  open orders: ${before.openOrders.count} by the strategy's last step, 0 not final at the gateway\n`);
    const all = await consoleAs('bot:status', '--all');
    expect(all.stdout).toMatch(new RegExp(`${BOT}\\s.*\\sBTC\\s+${before.openOrders.count} \\(gw 0\\)\\s`));
  }, 30_000);
});
