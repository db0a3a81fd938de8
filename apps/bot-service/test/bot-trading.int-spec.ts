import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  BotCreateCmd,
  BotGetQry,
  BotListQry,
  BotOrdersQry,
  BotResumeCmd,
  BotStartCmd,
  BotStopCmd,
  KillSwitchActivateCmd,
  KillSwitchDeactivateCmd,
  OrderFilledEvt,
  OrderRefusedEvt,
  TickerUpdatedMd,
  type Actor,
  type BotStatus,
  type Order,
} from '@garde/contracts';
import { freePort, startServiceProcess, until, type ServiceProcess } from '@garde/testing';
import { apiClient } from '../../exchange-gateway/test/api-client.js';
import { setFaults, startTradingStack, type TradingStack } from '../../exchange-gateway/test/trading-stack.js';

const alice: Actor = { id: 'alice', kind: 'operator', role: 'operator' };
const rita: Actor = { id: 'rita', kind: 'operator', role: 'risk' };
const VENUES = {
  a: { venue: 'trading-a', exchangeId: 'sim-a', apiKey: 'sim-key-trading-a' },
  b: { venue: 'trading-b', exchangeId: 'sim-b', apiKey: 'sim-key-trading-b' },
};
type VenueKey = keyof typeof VENUES;
/** A grid around 60000: levels 59000, 59500, 60000, 60500, 61000; at 60000 its ladder is two buys below and two sells above. */
const GRID = { lower: '59000', upper: '61000', levels: 5, orderSize: '0.001' };
const LADDER = ['buy@59000', 'buy@59500', 'sell@60500', 'sell@61000'];
const FINAL = new Set(['FILLED', 'CANCELED', 'REJECTED', 'EXPIRED', 'LOST']);
const live = (o: Order) => !FINAL.has(o.state);
const level = (o: { side: string; price: string | null }) => `${o.side}@${Number(o.price)}`;
/** The sequence number a strategy puts at the end of its client order ids (`<bot>-g-L1-b-7`). */
const seqOf = (clientOrderId: string) => Number(/-(\d+)$/.exec(clientOrderId)?.[1] ?? NaN);
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Issue 4's must-shows that bot-engine.int-spec.ts and bot-leases.int-spec.ts do not cover: a DCA bot
 * buying on schedule and taking its profit; the kill switch (per bot and global) halting bots that
 * then send nothing, and resuming them from their persisted state; bot-service SIGKILLed mid-trading;
 * a fault storm on one venue. Real NATS and PostgreSQL, risk-service, the gateway, two simulated venues
 * (one exchange account each), and bot-service as its own process (it is killed and restarted).
 */
describe('bots trading through the gateway: DCA, kill switch, restart, venue fault storm', () => {
  let stack: TradingStack;
  let bots: ServiceProcess;
  const bus = () => stack.gateway.runtime.bus;
  const api = apiClient(() => stack.gateway.url);
  /** Every order refusal the gateway published (a bot that sends while it should not shows up here). */
  const refusals: Array<{ botId: string | undefined; clientOrderId: string; code: string }> = [];
  /** Every ticker the gateway broadcast, as received. */
  const tickers: Array<{ exchangeId: string; last: string | null; at: number }> = [];

  const startBots = async (label: string) => {
    const env = stack.sandbox.env({
      BOT_TICK_MS: '200',
      LEASE_TTL_MS: '3000',
      LEASE_RENEW_MS: '500',
      // A sync with the gateway every 500 ms: a DCA slot opened behind the engine's back (below) is seen at once.
      ENGINE_RESYNC_MS: '500',
      // The storm's bot keeps stepping on its venue's last ticker while the venue is down; the 5 s default
      // would make the test a race against the ticker's age on a loaded machine.
      ENGINE_MAX_TICKER_AGE_MS: '15000',
    });
    bots = await startServiceProcess('bot-service', env, await freePort(), `bot-trading-${label}`);
  };
  /**
   * Sets a venue's price, and (unless `seen` is false) waits until the gateway has broadcast two tickers
   * at that price: a bot that steps next sees it, not the price before (a grid builds its ladder around it).
   */
  const price = async (v: VenueKey, p: string, { seen = true } = {}) => {
    const since = Date.now();
    const res = await fetch(`${stack.sim.venue(VENUES[v].venue).controlUrl}/price`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ symbol: 'BTC/USDT', price: p }),
    });
    if (!res.ok) throw new Error(`could not set the price of ${v}: ${res.status}`);
    if (!seen) return;
    const broadcast = () => tickers.filter((t) => t.exchangeId === VENUES[v].exchangeId && t.at >= since && Number(t.last) === Number(p)).length;
    await until(
      () => Promise.resolve(broadcast()),
      (n) => n >= 2,
      5000,
      50,
    );
    if (broadcast() < 2) throw new Error(`the gateway did not broadcast ${v}'s price ${p}`);
  };
  /** The orders the venue really holds (whatever the gateway or the bots believe). */
  const venueOrders = async (v: VenueKey) =>
    (
      (await (await fetch(`${stack.sim.venue(VENUES[v].venue).controlUrl}/state`)).json()) as {
        orders: Array<{ clientOrderId: string; status: string; side: string; price: string }>;
      }
    ).orders;
  const orders = async (botId: string): Promise<Order[]> => {
    const reply = await bus().request(BotOrdersQry, { botId, since: new Date(0).toISOString() });
    if (!reply.ok) throw new Error(reply.error.message);
    return reply.result.orders;
  };
  const status = async (botId: string): Promise<BotStatus> => {
    const reply = await bus().request(BotGetQry, { botId });
    if (!reply.ok) throw new Error(reply.error.message);
    return reply.result;
  };
  const create = async (id: string, v: VenueKey, strategy: 'grid' | 'dca', parameters: Record<string, unknown>) => {
    const created = await bus().request(
      BotCreateCmd,
      { id, name: id, strategy, exchangeId: VENUES[v].exchangeId, symbol: 'BTC/USDT', parameters },
      { actor: alice },
    );
    if (!created.ok) throw new Error(created.error.message);
    const started = await bus().request(BotStartCmd, { botId: id, reason: 'trading test' }, { actor: alice });
    if (!started.ok) throw new Error(started.error.message);
  };
  const stopAndCancel = async (...ids: string[]) => {
    for (const botId of ids) {
      const stopped = await bus().request(BotStopCmd, { botId, reason: 'end of the test', cancelOrders: true }, { actor: alice }, 20_000);
      expect(stopped).toMatchObject({ ok: true, result: { state: 'STOPPED', cancellation: { flat: true } } });
    }
  };
  const stateBecomes = (botId: string, state: string, timeoutMs = 10_000) =>
    until(
      () => status(botId),
      (s) => s.state === state,
      timeoutMs,
      100,
    );
  /** Live orders of the bot by level: waits until they are exactly `levels`, each OPEN. */
  const openAt = (botId: string, levels: string[], timeoutMs = 15_000) =>
    until(
      () => orders(botId),
      (o) => {
        const open = o.filter(live);
        return open.length === levels.length && open.every((x) => x.state === 'OPEN') && levels.every((l) => open.some((x) => level(x) === l));
      },
      timeoutMs,
      100,
    );
  const killSwitch = async (action: 'activate' | 'deactivate', scope: string, reason: string) => {
    const reply = await bus().request(action === 'activate' ? KillSwitchActivateCmd : KillSwitchDeactivateCmd, { scope, reason }, { actor: rita });
    expect(reply).toMatchObject({ ok: true, result: { changed: true } });
  };
  /** `bot:resume` as soon as bot-service has seen the kill switch go back to ACTIVE. */
  const resume = async (botId: string, reason: string) => {
    const reply = await until(
      () => bus().request(BotResumeCmd, { botId, reason }, { actor: alice }),
      (r) => r.ok || r.error.code !== 'KILL_SWITCH_ACTIVE',
      5000,
      100,
    );
    expect(reply).toMatchObject({ ok: true, result: { state: 'RUNNING', stateReason: reason } });
  };
  /** At most one live order per bot and level; one ladder (one initial buy) per grid; every order made once at the venues. */
  const expectNoDuplicates = async (gridIds: string[]) => {
    for (const id of gridIds) {
      const all = await orders(id);
      const levels = all.filter(live).map(level);
      expect({ id, levels }).toEqual({ id, levels: [...new Set(levels)] });
      expect({ id, ladders: all.filter((o) => o.clientOrderId.includes('-g-init-')).length }).toEqual({ id, ladders: 1 });
      const atVenues = [...(await venueOrders('a')), ...(await venueOrders('b'))].filter((o) => o.clientOrderId.startsWith(`${id}-`));
      const openAtVenue = atVenues
        .filter((o) => o.status === 'NEW' || o.status === 'PARTIALLY_FILLED')
        .map((o) => `${o.side.toLowerCase()}@${Number(o.price)}`);
      expect({ id, openAtVenue }).toEqual({ id, openAtVenue: [...new Set(openAtVenue)] });
    }
    const ids = [...(await venueOrders('a')), ...(await venueOrders('b'))].map((o) => o.clientOrderId);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  };
  /**
   * Opens the DCA bot's next buy slot now, as if its interval had elapsed (the smallest interval is one
   * minute): its persisted schedule, `nextBuyAt`, is moved to now behind bot-service's back. The engine
   * reads the persisted state at its next sync with the gateway (ENGINE_RESYNC_MS).
   */
  const openNextDcaSlot = async (botId: string) => {
    await stack.sandbox.sql(`UPDATE bots.bot SET engine_state = jsonb_set(engine_state, '{strategy,nextBuyAt}', to_jsonb($2::bigint)) WHERE id = $1`, [
      botId,
      Date.now(),
    ]);
  };
  const dcaState = async (botId: string) =>
    (
      await stack.sandbox.sql<{ s: { nextBuyAt: number | null; buysPlaced: number } }>(`SELECT engine_state->'strategy' AS s FROM bots.bot WHERE id = $1`, [
        botId,
      ])
    )[0]!.s;

  beforeAll(async () => {
    const venue = (v: VenueKey) => ({
      id: VENUES[v].venue,
      port: 0,
      tickIntervalMs: 0,
      rateLimits: { requestWeightPerMinute: 1_000_000, ordersPer10Seconds: 5000 },
      accounts: [{ apiKey: VENUES[v].apiKey, secret: `secret-${v}`, balances: { USDT: '1000000', BTC: '10' } }],
    });
    stack = await startTradingStack({
      label: 'bot-trading',
      venues: [venue('a'), venue('b')],
      gatewayEnv: {
        MARKET_DATA_POLL_MS: '200',
        MARKET_DATA_SYMBOLS: 'sim-a:BTC/USDT,sim-b:BTC/USDT',
        ORDER_POLL_MS: '300',
        ORDER_TRACKER_INTERVAL_MS: '100',
        HEALTH_PROBE_MS: '200',
      },
      accounts: (['a', 'b'] as const).map((v) => ({
        id: `acct-${v}`,
        exchangeId: VENUES[v].exchangeId,
        venue: VENUES[v].venue,
        apiKey: VENUES[v].apiKey,
        secret: `secret-${v}`,
      })),
    });
    bus().observe(OrderRefusedEvt, (p) => refusals.push({ botId: p.botId, clientOrderId: p.clientOrderId, code: p.error.code }));
    bus().listen(TickerUpdatedMd, '>', (t) => tickers.push({ exchangeId: t.exchangeId, last: t.last, at: Date.now() }));
    await startBots('1');
  }, 60_000);
  afterAll(async () => {
    if (stack) await setFaults(stack.sim.venue(VENUES.b.venue).controlUrl, null).catch(() => undefined);
    await bots?.stop('SIGKILL');
    await stack?.stop();
  });

  it('DCA: buys at once, not again before its interval, again when its slot opens; its take-profit sells when the price rises: flat, PnL > 0', async () => {
    await price('a', '60000');
    await create('dca-1', 'a', 'dca', { quoteAmount: '100', intervalMinutes: 1, takeProfitPercent: '1' });
    const first = await until(
      () => orders('dca-1'),
      (o) => o.some((x) => x.side === 'buy' && x.state === 'FILLED') && o.some((x) => x.side === 'sell' && x.state === 'OPEN'),
      15_000,
      100,
    );
    const buy1 = first.find((x) => x.side === 'buy')!;
    const tp1 = first.find((x) => x.side === 'sell')!;
    // quoteAmount / ask, down to the step; the take-profit at +1 % of the average entry (fees in base included), for all the base held.
    expect(buy1).toMatchObject({ type: 'limit', price: expect.stringMatching(/^60000(\.0+)?$/), quantity: '0.00166' });
    expect(Number(tp1.price)).toBeGreaterThanOrEqual(60000 * 1.01);
    expect(Number(tp1.quantity)).toBeLessThanOrEqual(0.00166);

    // On schedule: the next slot one interval after the first buy, and no second buy before it however often the bot steps.
    const schedule = await dcaState('dca-1');
    expect(schedule.nextBuyAt! - Date.parse(buy1.createdAt)).toBeGreaterThan(55_000);
    expect(schedule.nextBuyAt! - Date.parse(buy1.createdAt)).toBeLessThanOrEqual(60_000);
    await price('a', '59700');
    await pause(1500);
    expect((await orders('dca-1')).filter((x) => x.side === 'buy')).toHaveLength(1);

    await openNextDcaSlot('dca-1');
    // The second buy fills at the new price; the take-profit is cancelled and placed again for all the base, at the new average.
    const second = await until(
      () => orders('dca-1'),
      (o) =>
        o.filter((x) => x.side === 'buy' && x.state === 'FILLED').length === 2 &&
        o.some((x) => x.side === 'sell' && x.state === 'OPEN' && x.clientOrderId !== tp1.clientOrderId),
      15_000,
      100,
    );
    expect(second.filter((x) => x.side === 'buy').map((x) => Number(x.price))).toEqual(expect.arrayContaining([60000, 59700]));
    expect(second.find((x) => x.clientOrderId === tp1.clientOrderId)?.state).toBe('CANCELED');
    const tp2 = second.find((x) => x.side === 'sell' && x.state === 'OPEN')!;
    expect(Number(tp2.price)).toBeLessThan(Number(tp1.price));
    expect(Number(tp2.quantity)).toBeGreaterThan(Number(tp1.quantity));

    await price('a', '61000');
    await until(
      () => orders('dca-1'),
      (o) => o.find((x) => x.clientOrderId === tp2.clientOrderId)?.state === 'FILLED',
      15_000,
      100,
    );
    const flat = await until(
      () => status('dca-1'),
      (s) => s.position.fillCount === 3,
      10_000,
      100,
    );
    expect(flat).toMatchObject({ state: 'RUNNING', openOrders: { count: 0 }, position: { fillCount: 3, fillsWithoutDetails: 0 } });
    // About zero: what is left is below one quantity step (the take-profit sells the base held rounded down to the step).
    expect(Number(flat.position.quantity)).toBeGreaterThanOrEqual(0);
    expect(Number(flat.position.quantity)).toBeLessThan(0.00001);
    expect(Number(flat.position.realizedPnl)).toBeGreaterThan(0);
    await stopAndCancel('dca-1');
  }, 45_000);

  it('kill switch bot:<id>, then global: the bots are HALTED and send nothing; resumed, they continue from their persisted state', async () => {
    await Promise.all([price('a', '60000'), price('b', '60000')]);
    await create('ks-1', 'a', 'grid', GRID);
    await create('ks-2', 'a', 'grid', GRID);
    await create('ks-3', 'b', 'grid', GRID);
    for (const id of ['ks-1', 'ks-2', 'ks-3']) await openAt(id, LADDER);
    const positionBefore = (await status('ks-1')).position;

    // bot:ks-1 → ks-1 HALTED (its orders cancelled by the gateway); the others keep running.
    await killSwitch('activate', 'bot:ks-1', 'drill one bot');
    expect(await stateBecomes('ks-1', 'HALTED')).toMatchObject({ state: 'HALTED', stateActor: 'rita', stateReason: 'kill switch bot:ks-1: drill one bot' });
    const halted = await until(
      () => orders('ks-1'),
      (o) => o.every((x) => FINAL.has(x.state)),
      10_000,
      100,
    );
    expect(
      halted
        .filter((x) => x.state === 'CANCELED')
        .map(level)
        .sort(),
    ).toEqual([...LADDER].sort());
    expect((await status('ks-2')).state).toBe('RUNNING');

    // The price crosses a level: ks-2 trades (its buy fills, a sell follows), ks-1 sends nothing at all.
    let mark = refusals.length;
    const atVenueBefore = (await venueOrders('a')).filter((o) => o.clientOrderId.startsWith('ks-1-')).length;
    await price('a', '59400');
    await until(
      () => orders('ks-2'),
      (o) => o.some((x) => level(x) === 'buy@59500' && x.state === 'FILLED') && o.some((x) => level(x) === 'sell@60000' && x.state === 'OPEN'),
      15_000,
      100,
    );
    await pause(1500);
    expect((await orders('ks-1')).map((x) => `${x.clientOrderId}:${x.state}`).sort()).toEqual(halted.map((x) => `${x.clientOrderId}:${x.state}`).sort());
    expect(refusals.slice(mark).filter((r) => r.botId === 'ks-1')).toEqual([]);
    expect((await venueOrders('a')).filter((o) => o.clientOrderId.startsWith('ks-1-')).length).toBe(atVenueBefore);
    expect((await status('ks-1')).state).toBe('HALTED');

    // Deactivated: still HALTED (deactivation resumes nobody) until bot:resume, with a reason.
    await killSwitch('deactivate', 'bot:ks-1', 'drill over');
    await price('a', '60000');
    await openAt('ks-2', LADDER);
    await pause(500);
    expect((await status('ks-1')).state).toBe('HALTED');
    await resume('ks-1', 'after the one-bot drill');
    // Its ladder again at the same levels, from its persisted state: no second initial buy, one order per level,
    // the orders before the halt still known, the sequence of its client order ids continued, its position unchanged.
    const resumed = await openAt('ks-1', LADDER);
    expect(resumed.filter((x) => x.clientOrderId.includes('-g-init-'))).toHaveLength(1);
    expect(resumed.map((x) => x.clientOrderId)).toEqual(expect.arrayContaining(halted.map((x) => x.clientOrderId)));
    const newIds = resumed.filter((x) => !halted.some((h) => h.clientOrderId === x.clientOrderId)).map((x) => x.clientOrderId);
    expect(newIds).toHaveLength(4);
    expect(Math.min(...newIds.map(seqOf))).toBeGreaterThan(Math.max(...halted.map((x) => seqOf(x.clientOrderId))));
    expect((await status('ks-1')).position).toMatchObject({ quantity: positionBefore.quantity, fillCount: positionBefore.fillCount });
    await expectNoDuplicates(['ks-1', 'ks-2', 'ks-3']);

    // global → every bot HALTED, on both venues; nothing is sent, whatever the prices do.
    const before = new Map<string, string[]>();
    for (const id of ['ks-1', 'ks-2', 'ks-3']) before.set(id, (await orders(id)).map((x) => x.clientOrderId).sort());
    await killSwitch('activate', 'global', 'drill everything');
    for (const id of ['ks-1', 'ks-2', 'ks-3']) {
      expect(await stateBecomes(id, 'HALTED')).toMatchObject({ state: 'HALTED', stateReason: 'kill switch global: drill everything' });
    }
    const list = await bus().request(BotListQry, {});
    if (!list.ok) throw new Error(list.error.message);
    expect(list.result.bots.filter((b) => b.state !== 'STOPPED' && b.state !== 'HALTED').map((b) => `${b.id}:${b.state}`)).toEqual([]);
    for (const id of ['ks-1', 'ks-2', 'ks-3']) {
      const ended = await until(
        () => orders(id),
        (o) => o.every((x) => FINAL.has(x.state)),
        10_000,
        100,
      );
      expect(ended.filter(live)).toEqual([]);
    }
    mark = refusals.length;
    const venueCount = (await venueOrders('a')).length + (await venueOrders('b')).length;
    await Promise.all([price('a', '59400'), price('b', '60600')]);
    await pause(1500);
    for (const id of ['ks-1', 'ks-2', 'ks-3']) expect((await orders(id)).map((x) => x.clientOrderId).sort()).toEqual(before.get(id));
    expect(refusals.slice(mark)).toEqual([]);
    expect((await venueOrders('a')).length + (await venueOrders('b')).length).toBe(venueCount);

    await killSwitch('deactivate', 'global', 'drill over');
    await Promise.all([price('a', '60000'), price('b', '60000')]);
    await pause(500);
    for (const id of ['ks-1', 'ks-2', 'ks-3']) expect((await status(id)).state).toBe('HALTED');
    for (const id of ['ks-1', 'ks-2', 'ks-3']) await resume(id, 'after the global drill');
    for (const id of ['ks-1', 'ks-2', 'ks-3']) await openAt(id, LADDER);
    // And they trade on.
    await price('a', '59400');
    for (const id of ['ks-1', 'ks-2']) {
      await until(
        () => orders(id),
        (o) => o.some((x) => level(x) === 'sell@60000' && x.state === 'OPEN'),
        15_000,
        100,
      );
    }
    await expectNoDuplicates(['ks-1', 'ks-2', 'ks-3']);
    await stopAndCancel('ks-1', 'ks-2', 'ks-3');
  }, 90_000);

  it('bot-service SIGKILLed mid-trading, then a new process: the bots continue and no order is duplicated', async () => {
    const ids = ['rs-a1', 'rs-a2', 'rs-b1', 'rs-b2'];
    await Promise.all([price('a', '60000'), price('b', '60000')]);
    for (const id of ids) await create(id, id.startsWith('rs-a') ? 'a' : 'b', 'grid', GRID);
    for (const id of ids) await openAt(id, LADDER);

    // Both prices cross a level; bot-service is killed the moment the first fill comes back, while its bots step and send.
    const firstFill = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 15_000);
      const sub = bus().observe(OrderFilledEvt, (p) => {
        if (p.order.botId?.startsWith('rs-')) {
          sub.unsubscribe();
          clearTimeout(timer);
          resolve(true);
        }
      });
    });
    await Promise.all([price('a', '59400', { seen: false }), price('b', '60600', { seen: false })]);
    expect(await firstFill).toBe(true);
    await bots.stop('SIGKILL');
    const restartedAt = Date.now();
    await startBots('2');

    // On a: the buys at 59500 filled, sells at 60000 follow; on b: the sells at 60500 filled, buys at 60000 follow.
    const after = { 'rs-a': ['buy@59000', 'sell@60000', 'sell@60500', 'sell@61000'], 'rs-b': ['buy@59000', 'buy@59500', 'buy@60000', 'sell@61000'] };
    for (const id of ids) await openAt(id, after[id.slice(0, 4) as 'rs-a' | 'rs-b'], 20_000);
    await expectNoDuplicates(ids);

    // They go on trading under the new process: back to 60000, each fills again and places the opposite order.
    await Promise.all([price('a', '60000'), price('b', '60000')]);
    for (const id of ids) await openAt(id, LADDER, 15_000);
    for (const id of ids) {
      const newer = (await orders(id)).filter((x) => Date.parse(x.createdAt) > restartedAt);
      expect({ id, placedSinceRestart: newer.length > 0 }).toEqual({ id, placedSinceRestart: true });
      expect((await status(id)).state).toBe('RUNNING');
    }
    await expectNoDuplicates(ids);
    await stopAndCancel(...ids);
  }, 90_000);

  it('a fault storm on one venue puts its bot in ERROR with the cause; the bot on the other venue keeps trading', async () => {
    await Promise.all([price('a', '60000'), price('b', '60000')]);
    await create('storm-a', 'a', 'grid', GRID);
    await create('storm-b', 'b', 'dca', { quoteAmount: '100', intervalMinutes: 1, takeProfitPercent: '1' });
    await openAt('storm-a', LADDER);
    const traded = await until(
      () => orders('storm-b'),
      (o) => o.some((x) => x.side === 'buy' && x.state === 'FILLED') && o.some((x) => x.side === 'sell' && x.state === 'OPEN'),
      15_000,
      100,
    );

    // Venue b answers every call 503: the gateway finds it DISCONNECTED and refuses its orders (EXCHANGE_UNAVAILABLE).
    const mark = refusals.length;
    expect((await setFaults(stack.sim.venue(VENUES.b.venue).controlUrl, { unavailable: true })).ok).toBe(true);
    const health = await until(
      async () =>
        ((await api('viewer', 'GET', '/api/v1/venues/health')).body.venues as Array<{ exchangeId: string; state: string }>).find(
          (v) => v.exchangeId === 'sim-b',
        )?.state,
      (s) => s === 'DISCONNECTED',
      10_000,
      100,
    );
    expect(health).toBe('DISCONNECTED');
    // storm-b's next buy is due: every send of it fails.
    await openNextDcaSlot('storm-b');
    const failed = await stateBecomes('storm-b', 'ERROR', 15_000);
    expect(failed).toMatchObject({
      state: 'ERROR',
      stateActor: 'bot-engine',
      trading: false,
      stateReason: expect.stringMatching(/5 venue or gateway errors within 60 s \(last: place storm-b-d-b-\d+: EXCHANGE_UNAVAILABLE: .*DISCONNECTED/),
      lastError: { source: 'state', message: failed.stateReason },
    });
    const sent = refusals.slice(mark).filter((r) => r.botId === 'storm-b');
    expect(sent.length).toBeGreaterThanOrEqual(5);
    expect(new Set(sent.map((r) => r.code))).toEqual(new Set(['EXCHANGE_UNAVAILABLE']));
    // Nothing reached the gateway's book or the venue for it: its orders are those from before the storm.
    expect((await orders('storm-b')).map((x) => x.clientOrderId).sort()).toEqual(traded.map((x) => x.clientOrderId).sort());

    // The bot on venue a is untouched: RUNNING, and it trades on a price move.
    expect((await status('storm-a')).state).toBe('RUNNING');
    await price('a', '59400');
    await openAt('storm-a', ['buy@59000', 'sell@60000', 'sell@60500', 'sell@61000']);
    expect(await status('storm-a')).toMatchObject({ state: 'RUNNING', lastError: null });
    // storm-b stays in ERROR: no automatic restart into trading.
    await pause(1000);
    expect((await status('storm-b')).state).toBe('ERROR');
    expect(refusals.slice(mark).filter((r) => r.botId === 'storm-b')).toHaveLength(sent.length);
  }, 60_000);
});
