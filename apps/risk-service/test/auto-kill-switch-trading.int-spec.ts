import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BotCreateCmd, BotGetQry, BotStartCmd, KillSwitchStatusQry, type Actor, type ExposureReport } from '@garde/contracts';
import type { RunningService } from '@garde/platform';
import { runConsole, until } from '@garde/testing';
import { startBotService } from '../../bot-service/src/app.js';
import { TEST_TOKENS, apiClient } from '../../exchange-gateway/test/api-client.js';
import { botOrders, setVenuePrice, startTradingStack, type TradingStack } from '../../exchange-gateway/test/trading-stack.js';

const KEY = 'sim-key-auto-ks';
const SECRET = 'sim-secret-auto-ks';
const alice: Actor = { id: 'alice', kind: 'operator', role: 'operator' };
const FINAL = new Set(['FILLED', 'CANCELED', 'REJECTED', 'EXPIRED', 'LOST']);

/**
 * Issue 5's must-show: a bot losing money in the simulator past its drawdown limit is halted
 * automatically, with a reason that names the trigger. The whole chain, in one process: a grid bot
 * (bot-service) buys through the gateway (kill switch, risk check) at the simulated venue; its fills
 * reach risk-service through the AUDIT stream, its position is marked to the gateway's tickers, and
 * risk-service activates bot:<id> by itself; the gateway cancels the bot's orders and bot-service
 * halts the bot.
 */
describe('automatic kill switch: a bot losing money in the simulator is halted', () => {
  let stack: TradingStack;
  let bots: RunningService;
  const bus = () => bots.runtime.bus;
  const api = apiClient(() => stack.gateway.url);
  const orders = (botId: string) => botOrders(bus(), botId);
  const price = (p: string) => setVenuePrice(stack, bus(), { id: 'auto-ks-venue', exchangeId: 'sim-auto-ks' }, p);

  beforeAll(async () => {
    stack = await startTradingStack({
      label: 'auto-kill-switch',
      venues: [
        {
          id: 'auto-ks-venue',
          port: 0,
          tickIntervalMs: 0,
          accounts: [{ apiKey: KEY, secret: SECRET, balances: { USDT: '100000', BTC: '1' } }],
        },
      ],
      gatewayEnv: { MARKET_DATA_POLL_MS: '200', ORDER_POLL_MS: '300', ORDER_TRACKER_INTERVAL_MS: '100' },
      riskEnv: { PNL_MARK_INTERVAL_MS: '300' },
      accounts: [{ id: 'auto-ks-main', exchangeId: 'sim-auto-ks', venue: 'auto-ks-venue', apiKey: KEY, secret: SECRET }],
    });
    bots = await startBotService(stack.sandbox.env({ BOT_TICK_MS: '200' }));
  }, 60_000);
  afterAll(async () => {
    await bots?.close();
    await stack?.stop();
  });

  it('a grid bot buying into a falling market goes past its maxDrawdown: bot:<id> HALTED by risk-service, the bot HALTED, its orders cancelled', async () => {
    const limits = await api('risk', 'POST', '/api/v1/risk/limits', {
      scope: 'bot:grid-loser',
      changes: { maxDrawdown: '3' },
      reason: 'drill: small drawdown',
    });
    expect(limits.status).toBe(200);
    await price('60000');
    const created = await bus().request(
      BotCreateCmd,
      {
        id: 'grid-loser',
        name: 'grid-loser',
        strategy: 'grid',
        exchangeId: 'sim-auto-ks',
        symbol: 'BTC/USDT',
        parameters: { lower: '59000', upper: '61000', levels: 5, orderSize: '0.001' },
      },
      { actor: alice },
    );
    expect(created.ok).toBe(true);
    expect(await bus().request(BotStartCmd, { botId: 'grid-loser', reason: 'drawdown drill' }, { actor: alice })).toMatchObject({ ok: true });
    await until(
      () => orders('grid-loser'),
      (o) => o.filter((x) => x.side === 'buy' && x.state === 'OPEN').length === 2,
      15_000,
      200,
    );

    // The market falls through both buys (59500 and 59000 fill): 0.002 BTC bought around 59250, worth 57000 each now.
    await price('57000');
    const status = await until(
      () => bus().request(BotGetQry, { botId: 'grid-loser' }),
      (r) => r.ok && r.result.state === 'HALTED',
      20_000,
      200,
    );
    expect(status).toMatchObject({
      ok: true,
      result: { state: 'HALTED', stateReason: expect.stringMatching(/^kill switch bot:grid-loser: automatic: drawdown /) },
    });

    const scopes = await bus().request(KillSwitchStatusQry, { scope: 'bot:grid-loser' });
    expect(scopes.ok && scopes.result.scopes[0]).toMatchObject({
      state: 'HALTED',
      actor: { id: 'risk-service', kind: 'system' },
      reason: expect.stringMatching(/^automatic: drawdown [\d.]+ USDT from peak [\d.]+ \(equity -[\d.]+\) exceeds maxDrawdown 3 for bot:grid-loser$/),
    });

    // The bot's orders are cancelled by the gateway and it sends nothing more.
    const after = await until(
      () => orders('grid-loser'),
      (o) => o.every((x) => FINAL.has(x.state)),
      10_000,
      200,
    );
    expect(after.filter((x) => x.side === 'buy' && x.state === 'FILLED').length).toBeGreaterThanOrEqual(1);

    // What the operator sees: the drawdown over its limit, the scope HALTED.
    const shown = await runConsole(['risk:exposure:report', '--bot=grid-loser', '--json'], {
      GARDE_API_URL: stack.gateway.url,
      GARDE_TOKEN: TEST_TOKENS.viewer,
    });
    expect(shown.code).toBe(0);
    const report = JSON.parse(shown.stdout) as ExposureReport;
    expect(report.bots[0]).toMatchObject({ botId: 'grid-loser', killSwitch: 'HALTED', drawdown: { limit: '3', limitScope: 'bot:grid-loser' } });
    expect(Number(report.bots[0]!.drawdown.value)).toBeGreaterThan(3);
    expect(Number(report.bots[0]!.drawdown.utilizationPercent)).toBeGreaterThan(100);
    expect(Number(report.positions[0]!.quantity)).toBeGreaterThan(0);
    expect(report.positions[0]).toMatchObject({ markSource: 'market', markPrice: '57000' });
  }, 60_000);
});
