import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  AuditEventsQry,
  BotCreateCmd,
  BotGetQry,
  BotIntentSentEvt,
  BotStartCmd,
  OrderAcceptedEvt,
  OrderApprovedEvt,
  OrderFilledEvt,
  type Actor,
} from '@garde/contracts';
import type { RunningService } from '@garde/platform';
import { runConsole, until } from '@garde/testing';
import { startAuditService } from '../../audit-service/src/app.js';
import { TEST_TOKENS } from '../../exchange-gateway/test/api-client.js';
import { botOrders, setVenuePrice, startTradingStack, type TradingStack } from '../../exchange-gateway/test/trading-stack.js';
import { startBotService } from '../src/app.js';
import { BotMetrics } from '../src/metrics/bot.metrics.js';

const KEY = 'sim-key-engine';
const SECRET = 'sim-secret-engine';
const alice: Actor = { id: 'alice', kind: 'operator', role: 'operator' };

/**
 * The strategy engine against the whole chain: bot-service steps a RUNNING grid bot on the gateway's
 * prices, its orders go through the gateway (kill-switch gate, risk check, rate limit) to the simulator,
 * and its fills come back to the strategy.
 */
describe('bot-service strategy engine, through the gateway to the simulator', () => {
  let stack: TradingStack;
  let bots: RunningService;
  let audit: RunningService;
  const bus = () => bots.runtime.bus;
  const orders = (botId: string) => botOrders(bus(), botId);
  const price = (p: string) => setVenuePrice(stack, bus(), { id: 'engine-venue', exchangeId: 'sim-engine' }, p);
  const create = async (id: string, parameters: Record<string, unknown>) => {
    const created = await bus().request(
      BotCreateCmd,
      { id, name: id, strategy: 'grid', exchangeId: 'sim-engine', symbol: 'BTC/USDT', parameters },
      { actor: alice },
    );
    if (!created.ok) throw new Error(created.error.message);
    const started = await bus().request(BotStartCmd, { botId: id, reason: 'engine test' }, { actor: alice });
    if (!started.ok) throw new Error(started.error.message);
  };

  beforeAll(async () => {
    stack = await startTradingStack({
      label: 'bot-engine',
      venues: [
        {
          id: 'engine-venue',
          port: 0,
          tickIntervalMs: 0,
          accounts: [{ apiKey: KEY, secret: SECRET, balances: { USDT: '100000', BTC: '1' } }],
        },
      ],
      gatewayEnv: { MARKET_DATA_POLL_MS: '200', ORDER_POLL_MS: '300', ORDER_TRACKER_INTERVAL_MS: '100' },
      accounts: [{ id: 'engine-main', exchangeId: 'sim-engine', venue: 'engine-venue', apiKey: KEY, secret: SECRET }],
    });
    bots = await startBotService(stack.sandbox.env({ BOT_TICK_MS: '200', ENGINE_RETRY_AFTER_MS: '300' }));
    audit = await startAuditService(stack.sandbox.env());
  });
  afterAll(async () => {
    await audit?.close();
    await bots?.close();
    await stack?.stop();
  });

  it('a RUNNING grid bot places its ladder at the venue, and a filled buy is followed by a sell one level up', async () => {
    await create('grid-engine', { lower: '59000', upper: '61000', levels: 5, orderSize: '0.001' });
    const ladder = await until(
      () => orders('grid-engine'),
      // The ladder is placed order by order: wait for the four levels around the price.
      (o) => [59000, 59500, 60500, 61000].every((p) => o.some((x) => Number(x.price) === p && x.state === 'OPEN')),
      15_000,
      200,
    );
    const open = ladder.filter((o) => o.state === 'OPEN');
    expect(open.filter((o) => o.side === 'buy').map((o) => Number(o.price))).toEqual(expect.arrayContaining([59000, 59500]));
    expect(open.filter((o) => o.side === 'sell').map((o) => Number(o.price))).toEqual(expect.arrayContaining([60500, 61000]));
    // Buys of the order size; sells of at most it (the base bought for them lost its fee, paid in base).
    expect(open.every((o) => o.botId === 'grid-engine' && (o.side === 'buy' ? o.quantity === '0.001' : Number(o.quantity) <= 0.001))).toBe(true);

    await price('59400');
    const after = await until(
      () => orders('grid-engine'),
      (o) =>
        o.some((x) => x.side === 'buy' && Number(x.price) === 59500 && x.state === 'FILLED') &&
        o.some((x) => x.side === 'sell' && Number(x.price) === 60000 && x.state === 'OPEN'),
      15_000,
      200,
    );
    // One open order per level at most.
    const perLevel = new Map<number, number>();
    for (const o of after.filter((x) => x.state === 'OPEN')) perLevel.set(Number(o.price), (perLevel.get(Number(o.price)) ?? 0) + 1);
    expect([...perLevel.values()].every((n) => n === 1)).toBe(true);
    const status = await bus().request(BotGetQry, { botId: 'grid-engine' });
    expect(status).toMatchObject({ ok: true, result: { state: 'RUNNING', trading: true } });

    // The filled buy's whole story in the audit trail, under its client order id: the bot's intent, the
    // risk decision, the venue's ack, the fill.
    const filled = after.find((x) => x.side === 'buy' && Number(x.price) === 59500 && x.state === 'FILLED')!;
    const story = await until(
      () => bus().request(AuditEventsQry, { correlationId: filled.clientOrderId }),
      (r) => r.ok && r.result.events.some((e) => e.event.type === OrderFilledEvt.type),
      10_000,
      200,
    );
    const events = story.ok ? [...story.result.events].reverse() : [];
    expect(events.map((e) => e.event.type)).toEqual([BotIntentSentEvt.type, OrderApprovedEvt.type, OrderAcceptedEvt.type, OrderFilledEvt.type]);
    expect(events[0]!.event.payload).toEqual({
      botId: 'grid-engine',
      strategy: 'grid',
      intent: { kind: 'place', clientOrderId: filled.clientOrderId, side: 'buy', type: 'limit', price: filled.price, quantity: '0.001', reduceOnly: false },
    });
    // The risk decision was caused by the submit the intent caused.
    expect(events[1]!.event.causationId).not.toBeNull();
    const trail = await runConsole(['audit:trail', `--correlation-id=${filled.clientOrderId}`], {
      GARDE_API_URL: stack.gateway.url,
      GARDE_TOKEN: TEST_TOKENS.viewer,
    });
    expect(trail.stdout).toContain(`order ${filled.clientOrderId} — intent: place buy 0.001 @ ${filled.price}`);
  });

  it('an order event that tells the strategy nothing new (its order accepted again, still open) makes no write', async () => {
    const metrics = bots.app.get(BotMetrics);
    /** Steps of grid bots that wrote (a statement), as the engine counts them; grid-engine is the only grid bot so far. */
    const written = async () =>
      (await metrics.engineSteps.get()).values.filter((v) => v.labels.strategy === 'grid' && v.labels.outcome === 'stepped').reduce((n, v) => n + v.value, 0);
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    // Quiet first: no step of the bot has written for a second (the ladder's own order events are over).
    let before = await written();
    await until(
      async () => {
        await pause(1000);
        const now = await written();
        const quiet = now === before;
        before = now;
        return quiet;
      },
      (quiet) => quiet,
      20_000,
      0,
    );
    const open = (await orders('grid-engine')).filter((o) => o.state === 'OPEN');
    expect(open.length).toBeGreaterThan(0);
    // Twenty order events: each used to wake the bot and make a step statement.
    for (let i = 0; i < 20; i++) {
      const order = open[i % open.length]!;
      stack.gateway.runtime.bus.publishSoon(OrderAcceptedEvt, order, { correlationId: order.clientOrderId }, () => undefined);
      await pause(50);
    }
    await pause(500);
    // At most one periodic read of the gateway (every ENGINE_RESYNC_MS) wrote meanwhile.
    expect((await written()) - before).toBeLessThanOrEqual(1);
    const after = await orders('grid-engine');
    expect(
      after
        .filter((o) => o.state === 'OPEN')
        .map((o) => o.clientOrderId)
        .sort(),
    ).toEqual(open.map((o) => o.clientOrderId).sort());
  });

  it('a PAUSED bot sends nothing new; its open orders stay, as bot:pause says', async () => {
    const paused = await runConsole(['bot:pause', 'grid-engine', '--reason=engine test pause'], {
      GARDE_API_URL: stack.gateway.url,
      GARDE_TOKEN: TEST_TOKENS.operator,
    });
    expect(paused.code).toBe(0);
    expect(paused.stdout).toBe('Bot grid-engine is now PAUSED (engine test pause)\n  paused: places no new orders; its open orders stay at the venue\n');
    const before = await orders('grid-engine');
    await price('58800');
    await new Promise((r) => setTimeout(r, 1500));
    const later = await orders('grid-engine');
    expect(later.map((o) => o.clientOrderId).sort()).toEqual(expect.arrayContaining(before.filter((o) => o.state === 'OPEN').map((o) => o.clientOrderId)));
    expect(later.filter((o) => !before.some((b) => b.clientOrderId === o.clientOrderId))).toEqual([]);
  });

  it('risk-service away (a restart): a bot keeps its ladder unsent, RUNNING, not ERROR, and places it once risk-service is back', async () => {
    await price('60000');
    const waited = async () => {
      const metrics = await (await fetch(`${bots.url}/metrics`)).text();
      return Number(/^garde_bot_strategy_steps_total\{strategy="grid",outcome="gateway-unavailable",service="bot-service"\} (\d+)$/m.exec(metrics)?.[1] ?? 0);
    };
    const before = await waited();
    await stack.stopRisk();
    try {
      await create('grid-waiting', { lower: '59000', upper: '61000', levels: 5, orderSize: '0.001' });
      // Refused for want of a pre-trade decision, again and again: more tries than ENGINE_MAX_ERRORS (5).
      await until(waited, (n) => n - before >= 8, 15_000, 100);
      expect(await bus().request(BotGetQry, { botId: 'grid-waiting' })).toMatchObject({ ok: true, result: { state: 'RUNNING', lastError: null } });
      expect(await orders('grid-waiting')).toEqual([]);
    } finally {
      await stack.startRisk();
    }
    const placed = await until(
      () => orders('grid-waiting'),
      (o) => o.filter((x) => x.state === 'OPEN').length === 4,
      15_000,
      100,
    );
    // The ladder (and the market buy of its base first), each once.
    expect(placed.map((o) => (o.type === 'market' ? `market ${o.side}` : `${o.side}@${Number(o.price)}`)).sort()).toEqual([
      'buy@59000',
      'buy@59500',
      'market buy',
      'sell@60500',
      'sell@61000',
    ]);
    expect(await bus().request(BotGetQry, { botId: 'grid-waiting' })).toMatchObject({ ok: true, result: { state: 'RUNNING' } });
  }, 45_000);

  it('a bot whose orders the venue keeps rejecting goes to ERROR instead of placing them again and again (RB-002)', async () => {
    await price('60000');
    // 10 BTC a level: far beyond the account's balances.
    await create('grid-rejected', { lower: '59000', upper: '61000', levels: 5, orderSize: '10' });
    const failed = await until(
      () => bus().request(BotGetQry, { botId: 'grid-rejected' }),
      (r) => r.ok && r.result.state === 'ERROR',
      30_000,
      200,
    );
    expect(failed).toMatchObject({
      ok: true,
      result: {
        state: 'ERROR',
        stateActor: 'bot-engine',
        stateReason: expect.stringMatching(/venue or gateway errors within 60 s \(last: order .* rejected by the venue/),
      },
    });
    const placed = (await orders('grid-rejected')).length;
    await new Promise((r) => setTimeout(r, 1000));
    expect((await orders('grid-rejected')).length).toBe(placed);
    expect(placed).toBeLessThan(20);
  }, 45_000);

  it('a strategy that cannot trade puts its bot in ERROR with the cause, and it stays there', async () => {
    await price('60000');
    const untradable = { lower: '59000', upper: '61000', levels: 5, orderSize: '0.0000001' };
    // bot:create refuses an orderSize below the venue's lot…
    const definition = { id: 'grid-untradable', name: 'grid-untradable', strategy: 'grid', exchangeId: 'sim-engine', symbol: 'BTC/USDT' };
    expect(await bus().request(BotCreateCmd, { ...definition, parameters: untradable }, { actor: alice })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_REQUEST', message: expect.stringContaining('orderSize 0.0000001 is smaller than stepSize 0.00001') },
    });
    // …but a bot created before its venue raised the lot size still reaches the engine: made so behind bot-service's back.
    expect(await bus().request(BotCreateCmd, { ...definition, parameters: { ...untradable, orderSize: '0.001' } }, { actor: alice })).toMatchObject({
      ok: true,
    });
    await stack.sandbox.sql('UPDATE bots.bot SET parameters = $1 WHERE id = $2', [JSON.stringify(untradable), 'grid-untradable']);
    expect(await bus().request(BotStartCmd, { botId: 'grid-untradable', reason: 'engine test' }, { actor: alice })).toMatchObject({ ok: true });
    const failed = await until(
      () => bus().request(BotGetQry, { botId: 'grid-untradable' }),
      (r) => r.ok && r.result.state === 'ERROR',
      15_000,
      200,
    );
    expect(failed).toMatchObject({
      ok: true,
      result: { state: 'ERROR', stateActor: 'bot-engine', trading: false, stateReason: expect.stringMatching(/^strategy grid failed: /) },
    });
    expect(await orders('grid-untradable')).toEqual([]);
  });
});
