import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import {
  BotCreateCmd,
  BotOrdersCanceledEvt,
  BotOrdersCancelFailedEvt,
  BotOrdersQry,
  BotStartCmd,
  BotStateChangedEvt,
  BotStopCmd,
  OrderCanceledEvt,
  type Actor,
  type BotOrdersCancellation,
  type Envelope,
  type EventDef,
  type Order,
} from '@garde/contracts';
import type { RunningService } from '@garde/platform';
import { runConsole, until } from '@garde/testing';
import { TEST_TOKENS, apiClient } from '../../exchange-gateway/test/api-client.js';
import { setFaults, startTradingStack, type TradingStack } from '../../exchange-gateway/test/trading-stack.js';
import { startBotService } from '../src/app.js';
import { BotRepository } from '../src/persistence/index.js';

const KEY = 'sim-key-stop';
const SECRET = 'sim-secret-stop';
const alice: Actor = { id: 'alice', kind: 'operator', role: 'operator' };
/** The actor of TEST_TOKENS.operator, as the gateway's API records it. */
const OPERATOR = 'operator-person';
const GRID = { lower: '59000', upper: '61000', levels: 5, orderSize: '0.001' };
const FENCE_TIMEOUT_MS = 3000;

/**
 * `bot:stop` against the whole chain (console → gateway API → bot-service → gateway → simulator):
 * with --cancel-orders the bot is STOPPED, then its orders are cancelled at the venue once no send of
 * it is in flight; without, its orders stay open, and the console says so.
 */
describe('bot:stop [--cancel-orders], through the gateway to the simulator', () => {
  let stack: TradingStack;
  let bots: RunningService;
  const bus = () => bots.runtime.bus;
  const cli = (...args: string[]) => runConsole(args, { GARDE_API_URL: stack.gateway.url, GARDE_TOKEN: TEST_TOKENS.operator });
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  /** Every order of the bot the gateway has. */
  const orders = async (botId: string): Promise<Order[]> => {
    const reply = await bus().request(BotOrdersQry, { botId, since: new Date(0).toISOString() });
    if (!reply.ok) throw new Error(reply.error.message);
    return reply.result.orders;
  };
  /** The bot's orders open at the venue, as the simulator itself has them. */
  const openAtVenue = async (botId: string): Promise<string[]> => {
    const ids = new Set((await orders(botId)).map((o) => o.clientOrderId));
    const state = (await (await fetch(`${stack.sim.venue('stop-venue').url}/__sim/state`)).json()) as {
      orders: Array<{ clientOrderId: string; status: string }>;
    };
    return state.orders
      .filter((o) => ids.has(o.clientOrderId) && ['NEW', 'PARTIALLY_FILLED'].includes(o.status))
      .map((o) => o.clientOrderId)
      .sort();
  };
  const stateOf = async (botId: string) => (await stack.sandbox.sql<{ state: string }>('SELECT state FROM bots.bot WHERE id = $1', [botId]))[0]?.state;
  const transitions = async (botId: string) =>
    Number((await stack.sandbox.sql<{ n: string }>('SELECT count(*) AS n FROM bots.bot_transition WHERE bot_id = $1', [botId]))[0]?.n);

  /** Every event of a type (and key) in the AUDIT stream, oldest first. */
  const events = async (def: EventDef, key?: string): Promise<Envelope[]> => {
    const topology = bus().topology;
    const jsm = await jetstreamManager(bots.runtime.nc);
    const filter = topology.subject(def, key);
    const { state } = await jsm.streams.info(topology.auditStream, { subjects_filter: filter });
    const found: Envelope[] = [];
    if ((state.subjects?.[filter] ?? 0) === 0) return found;
    const consumer = await jetstream(bots.runtime.nc).consumers.get(topology.auditStream, { filter_subjects: filter });
    for (;;) {
      const msg = await consumer.next({ expires: 2000 });
      if (!msg) break;
      found.push(msg.json<Envelope>());
      if (msg.info.pending === 0) break;
    }
    return found;
  };

  /** A RUNNING grid bot with (at least the buy side of) its ladder open at the venue: the ids open there. */
  const gridWithLadder = async (id: string, exchangeId = 'sim-stop'): Promise<string[]> => {
    const created = await bus().request(BotCreateCmd, { id, name: id, strategy: 'grid', exchangeId, symbol: 'BTC/USDT', parameters: GRID }, { actor: alice });
    if (!created.ok) throw new Error(created.error.message);
    const started = await bus().request(BotStartCmd, { botId: id, reason: 'stop test' }, { actor: alice });
    if (!started.ok) throw new Error(started.error.message);
    if (exchangeId !== 'sim-stop') return [];
    const ladder = await until(
      () => openAtVenue(id),
      (open) => open.length >= 2,
      25_000,
      200,
    );
    expect(ladder.length).toBeGreaterThanOrEqual(2);
    return ladder;
  };

  beforeAll(async () => {
    stack = await startTradingStack({
      label: 'bot-stop',
      venues: [{ id: 'stop-venue', port: 0, tickIntervalMs: 0, accounts: [{ apiKey: KEY, secret: SECRET, balances: { USDT: '100000', BTC: '1' } }] }],
      gatewayEnv: {
        MARKET_DATA_POLL_MS: '200',
        ORDER_POLL_MS: '300',
        ORDER_TRACKER_INTERVAL_MS: '100',
        FLAT_CONFIRM_TIMEOUT_MS: '1500',
        VENUE_TIMEOUT_MS: '1000',
      },
      accounts: [
        { id: 'stop-main', exchangeId: 'sim-stop', venue: 'stop-venue', apiKey: KEY, secret: SECRET },
        // For the send fence's bots, removed once they are created (see there).
        { id: 'fence-account', exchangeId: 'no-venue', venue: 'stop-venue', apiKey: KEY, secret: SECRET },
      ],
    });
    await fetch(`${stack.sim.venue('stop-venue').controlUrl}/price`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ symbol: 'BTC/USDT', price: '60000' }),
    });
    bots = await startBotService(stack.sandbox.env({ BOT_TICK_MS: '200', STOP_FENCE_TIMEOUT_MS: String(FENCE_TIMEOUT_MS) }));
  });
  afterAll(async () => {
    await bots?.close();
    await stack?.stop();
  });

  it('--cancel-orders: STOPPED, then every open order of the bot cancelled at the venue, listed, audited with the operator and the story', async () => {
    const ladder = await gridWithLadder('stop-cancel');

    const res = await cli('bot:stop', 'stop-cancel', '--reason=retire the grid', '--cancel-orders');
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('Bot stop-cancel is now STOPPED (retire the grid)');
    expect(res.stdout).toMatch(/Cancelled \d+ order\(s\); the venue confirmed no order of stop-cancel is open/);
    for (const id of ladder) expect(res.stdout).toContain(id);

    expect(await openAtVenue('stop-cancel')).toEqual([]);
    expect(await stateOf('stop-cancel')).toBe('STOPPED');
    const after = await orders('stop-cancel');
    expect(after.filter((o) => ladder.includes(o.clientOrderId)).map((o) => o.state)).toEqual(ladder.map(() => 'CANCELED'));
    expect(after.every((o) => ['CANCELED', 'FILLED', 'REJECTED', 'EXPIRED'].includes(o.state))).toBe(true);
    // Nothing is sent for it any more.
    await sleep(1000);
    expect((await orders('stop-cancel')).length).toBe(after.length);

    // The story: the stop (operator, reason), each cancel and the cancel-all share its correlation id.
    const [stopped] = (await events(BotStateChangedEvt, 'stop-cancel')).filter((e) => (e.payload as { to: string }).to === 'STOPPED');
    expect(stopped).toMatchObject({ actor: { id: OPERATOR, role: 'operator' }, payload: { reason: 'retire the grid' } });
    const cancels = (await events(OrderCanceledEvt)).filter((e) => (e.payload as { order: Order }).order.botId === 'stop-cancel');
    expect(cancels.map((e) => (e.payload as { order: Order }).order.clientOrderId).sort()).toEqual(expect.arrayContaining(ladder));
    for (const e of cancels) {
      expect(e).toMatchObject({
        correlationId: stopped!.correlationId,
        actor: { id: OPERATOR },
        payload: { reason: 'bot stop-cancel stopped: retire the grid' },
      });
    }
    const [done] = await events(BotOrdersCanceledEvt, 'stop-cancel');
    expect(done).toMatchObject({
      correlationId: stopped!.correlationId,
      actor: { id: OPERATOR },
      payload: { botId: 'stop-cancel', flat: true, stillOpen: [] },
    });

    // --json gives the bot and the cancellation; asked again of the STOPPED bot, it cancels again (nothing left).
    const again = await cli('bot:stop', 'stop-cancel', '--reason=once more', '--cancel-orders', '--json');
    expect(again.code).toBe(0);
    const json = JSON.parse(again.stdout) as { state: string; cancellation: BotOrdersCancellation };
    expect(json).toMatchObject({
      id: 'stop-cancel',
      state: 'STOPPED',
      stateReason: 'retire the grid',
      cancellation: { flat: true, canceled: [], stillOpen: [] },
    });
  }, 60_000);

  it('a plain stop leaves the orders open and says so; a second plain stop is refused; --cancel-orders on the STOPPED bot cancels them', async () => {
    const ladder = await gridWithLadder('stop-plain');

    const res = await cli('bot:stop', 'stop-plain', '--reason=retire, keep the orders');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('Bot stop-plain is now STOPPED (retire, keep the orders)');
    expect(res.stdout).toContain('stay at the venue (not cancelled)');
    expect(res.stdout).toContain('bin/console bot:stop stop-plain --reason="…" --cancel-orders');
    await sleep(1000);
    const left = await openAtVenue('stop-plain');
    expect(left).toEqual(expect.arrayContaining(ladder));
    expect((await cli('bot:status', 'stop-plain')).stdout).toContain('stay at the venue unless stopped with --cancel-orders');

    const twice = await cli('bot:stop', 'stop-plain', '--reason=again');
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('INVALID_TRANSITION');
    const history = await transitions('stop-plain');

    const retry = await cli('bot:stop', 'stop-plain', '--reason=now cancel them', '--cancel-orders');
    expect(retry.code).toBe(0);
    expect(retry.stdout).toContain(`Cancelled ${left.length} order(s)`);
    for (const id of left) expect(retry.stdout).toContain(id);
    expect(await openAtVenue('stop-plain')).toEqual([]);
    // The bot was not transitioned again: only its orders were.
    expect(await transitions('stop-plain')).toBe(history);
    const [done] = await events(BotOrdersCanceledEvt, 'stop-plain');
    expect(done).toMatchObject({ actor: { id: OPERATOR }, payload: { reason: 'now cancel them', flat: true } });
  }, 60_000);

  it('a venue that does not answer: the reply is an error saying the bot IS stopped and which orders are still open; run again, it cancels them', async () => {
    const ladder = await gridWithLadder('stop-venue-down');
    await setFaults(stack.sim.venue('stop-venue').controlUrl, { unavailable: true });
    const failed = await cli('bot:stop', 'stop-venue-down', '--reason=venue trouble', '--cancel-orders').finally(() =>
      setFaults(stack.sim.venue('stop-venue').controlUrl, null),
    );
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/error \[UNAVAILABLE\]: bot stop-venue-down is STOPPED, but .*order\(s\) still open at the venue or not confirmed cancelled/);
    expect(failed.stderr).toContain('STILL OPEN at the venue');
    for (const id of ladder) expect(failed.stderr).toContain(id);
    expect(failed.stderr).toContain('--cancel-orders again');
    expect(await stateOf('stop-venue-down')).toBe('STOPPED');
    expect(await openAtVenue('stop-venue-down')).toEqual(expect.arrayContaining(ladder));
    const [alarm] = await events(BotOrdersCancelFailedEvt, 'stop-venue-down');
    expect(alarm).toMatchObject({ actor: { id: OPERATOR }, payload: { flat: false, stillOpen: expect.arrayContaining([expect.anything()]) } });

    const retried = await until(
      () => cli('bot:stop', 'stop-venue-down', '--reason=venue back', '--cancel-orders', '--json'),
      (r) => r.code === 0,
      15_000,
      500,
    );
    expect(retried.code).toBe(0);
    expect(JSON.parse(retried.stdout)).toMatchObject({ state: 'STOPPED', cancellation: { flat: true, stillOpen: [], unsettled: [] } });
    expect(await openAtVenue('stop-venue-down')).toEqual([]);
  }, 60_000);

  it('an unknown bot: NOT_FOUND, nothing stopped, nothing cancelled', async () => {
    const before = await stack.sandbox.sql('SELECT id, state, version FROM bots.bot ORDER BY id');
    const res = await cli('bot:stop', 'no-such-bot', '--reason=typo', '--cancel-orders');
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('error [NOT_FOUND]: no bot with id "no-such-bot"');
    expect(await stack.sandbox.sql('SELECT id, state, version FROM bots.bot ORDER BY id')).toEqual(before);
    expect(await events(BotOrdersCanceledEvt, 'no-such-bot')).toEqual([]);
    expect(await events(BotOrdersCancelFailedEvt, 'no-such-bot')).toEqual([]);
  });

  describe('the send fence', () => {
    /** A buy of 0.001 at 60000 of `clientOrderId`, as the engine records it. */
    const buyFill = (clientOrderId: string, tradeId: string) => ({
      clientOrderId,
      tradeId,
      side: 'buy' as const,
      price: '60000',
      quantity: '0.001',
      fee: '0',
      feeCurrency: 'USDT',
      at: new Date().toISOString(),
    });
    // Bots whose exchange account was removed once they were created (bot:create needs one): the engine
    // gets no market for them and never sends; the test holds the sends.
    beforeAll(async () => {
      for (const id of ['fence-wait', 'fence-stuck', 'fence-early', 'fence-step', 'engine-fast', 'batch-a', 'batch-b', 'batch-c']) {
        const created = await bus().request(
          BotCreateCmd,
          { id, name: id, strategy: 'grid', exchangeId: 'no-venue', symbol: 'BTC/USDT', parameters: GRID },
          { actor: alice },
        );
        if (!created.ok) throw new Error(created.error.message);
      }
      const removed = await apiClient(() => stack.gateway.url)('admin', 'POST', '/api/v1/exchange-accounts/fence-account/remove', {
        reason: 'fence test: no venue',
      });
      expect(removed.status).toBe(200);
    });
    const start = async (id: string) => {
      const started = await bus().request(BotStartCmd, { botId: id, reason: 'stop test' }, { actor: alice });
      if (!started.ok) throw new Error(started.error.message);
    };
    /** A send run by `enter` (whileRunning or whileEntered), held open inside its fence until `release()`; it answers 'sent'. */
    const heldSend = async (enter: (send: () => Promise<string>) => Promise<string | undefined>) => {
      let release: (() => void) | undefined;
      const sending = enter(() => new Promise<string>((resolve) => (release = () => resolve('sent'))));
      await until(
        () => Promise.resolve(release),
        (r) => r !== undefined,
      );
      return { sending, release: () => release!() };
    };
    /** A stop with --cancel-orders asked now, and when its answer came (0 until then). */
    const stopCancelling = (botId: string) => {
      let answeredAt = 0;
      const reply = bus()
        .request(BotStopCmd, { botId, reason: 'fence test', cancelOrders: true }, { actor: alice }, 30_000)
        .finally(() => (answeredAt = Date.now()));
      return { reply, answeredAt: () => answeredAt };
    };

    it('a stop waits for a send of the bot in flight before it cancels; a send after STOPPED sends nothing', async () => {
      await start('fence-wait');
      const repository = bots.app.get(BotRepository);
      const { sending, release } = await heldSend((send) => repository.whileRunning('fence-wait', send));
      const stopping = stopCancelling('fence-wait');
      await until(
        () => stateOf('fence-wait'),
        (s) => s === 'STOPPED',
      );
      // STOPPED is committed: a send that comes now runs nothing.
      let ran = false;
      expect(await repository.whileRunning('fence-wait', () => Promise.resolve((ran = true)))).toBeUndefined();
      expect(ran).toBe(false);
      await sleep(1000);
      expect(stopping.answeredAt()).toBe(0);
      const releasedAt = Date.now();
      release();
      expect(await sending).toBe('sent');
      expect(await stopping.reply).toMatchObject({ ok: true, result: { state: 'STOPPED', cancellation: { flat: true, canceled: [] } } });
      expect(stopping.answeredAt()).toBeGreaterThanOrEqual(releasedAt);
    });

    it('a fence entered ahead of its send holds a stop off until the send is over, and one never used is let go', async () => {
      await start('fence-early');
      const repository = bots.app.get(BotRepository);
      // Entered, then not used (the step found the bot no longer RUNNING): let go, once, even if told twice.
      const unused = repository.enterFence('fence-early');
      expect(await unused.entered).toBe(true);
      unused.leave();
      unused.leave();
      expect(await repository.awaitSends('fence-early', 1000)).toBe(true);

      // Entered, then handed to the send: a stop waits for that send, and the fence is let go after it.
      const early = repository.enterFence('fence-early');
      expect(await early.entered).toBe(true);
      const { sending, release } = await heldSend((send) => repository.whileEntered(early, send));
      expect(await repository.awaitSends('fence-early', 300)).toBe(false);
      release();
      expect(await sending).toBe('sent');
      expect(await repository.awaitSends('fence-early', 1000)).toBe(true);

      // Once STOPPED, a fence entered ahead is not entered, and the send it is handed to runs nothing.
      const stopped = await bus().request(BotStopCmd, { botId: 'fence-early', reason: 'fence test' }, { actor: alice });
      expect(stopped).toMatchObject({ ok: true, result: { state: 'STOPPED' } });
      const late = repository.enterFence('fence-early');
      expect(await late.entered).toBe(false);
      let ran = false;
      expect(await repository.whileEntered(late, () => Promise.resolve((ran = true)))).toBeUndefined();
      expect(ran).toBe(false);
      expect(await repository.awaitSends('fence-early', 1000)).toBe(true);
    });

    it('a step that will send enters the send fence in its own statement, a stop waits for that send; a step run again, or of a bot not RUNNING, holds none', async () => {
      await start('fence-step');
      const repository = bots.app.get(BotRepository);
      const fill = (tradeId: string) => buyFill('fence-step-o1', tradeId);
      const step = (tradeId: string, known: unknown, sends: boolean) =>
        repository.engineStep('fence-step', [fill(tradeId)], null, (_fresh, engine) => ({ n: ((engine as { n?: number } | null)?.n ?? 0) + 1 }), {
          engine: known,
          sends: () => sends,
        });
      // Nothing stored yet: the step runs again in a transaction, and answers no fence (its send enters one).
      const first = await step('t1', { stale: true }, true);
      expect(first).toEqual({ engine: { n: 1 } });
      // From the stored state: one statement, the fence held with it.
      const second = await step('t2', first!.engine, true);
      expect(second?.engine).toEqual({ n: 2 });
      expect(await second!.fence!.entered).toBe(true);
      expect(await repository.awaitSends('fence-step', 300)).toBe(false);
      // Told it will not send: no fence.
      const third = await step('t3', second!.engine, false);
      expect(third).toEqual({ engine: { n: 3 } });
      const { sending, release } = await heldSend((send) => repository.whileEntered(second!.fence!, send));
      const stopping = stopCancelling('fence-step');
      await until(
        () => stateOf('fence-step'),
        (s) => s === 'STOPPED',
      );
      await sleep(500);
      expect(stopping.answeredAt()).toBe(0);
      release();
      expect(await sending).toBe('sent');
      expect(await stopping.reply).toMatchObject({ ok: true, result: { state: 'STOPPED' } });
      // STOPPED: the step is not applied and holds no fence.
      expect(await step('t4', third!.engine, true)).toBeUndefined();
      expect(await repository.awaitSends('fence-step', 1000)).toBe(true);
      expect((await stack.sandbox.sql<{ engine_state: unknown }>("SELECT engine_state FROM bots.bot WHERE id = 'fence-step'"))[0]?.engine_state).toEqual({
        n: 3,
      });
    });

    it(`a send still in flight after STOP_FENCE_TIMEOUT_MS: an error that says the bot IS stopped; asked again, the cancellation runs`, async () => {
      await start('fence-stuck');
      const repository = bots.app.get(BotRepository);
      const { sending, release } = await heldSend((send) => repository.whileRunning('fence-stuck', send));
      const stuck = await bus().request(BotStopCmd, { botId: 'fence-stuck', reason: 'fence test', cancelOrders: true }, { actor: alice }, 30_000);
      expect(stuck).toMatchObject({
        ok: false,
        error: {
          code: 'UNAVAILABLE',
          message: expect.stringMatching(
            /^bot fence-stuck is STOPPED, but an order send of it was still in flight after 3000 ms: its orders were not cancelled/,
          ),
          details: { botId: 'fence-stuck', state: 'STOPPED' },
        },
      });
      release();
      await sending;
      const history = await transitions('fence-stuck');
      expect(await bus().request(BotStopCmd, { botId: 'fence-stuck', reason: 'retry', cancelOrders: true }, { actor: alice }, 30_000)).toMatchObject({
        ok: true,
        result: { state: 'STOPPED', stateReason: 'fence test', cancellation: { flat: true } },
      });
      expect(await transitions('fence-stuck')).toBe(history);
      expect(await bus().request(BotStopCmd, { botId: 'fence-stuck', reason: 'plain again' }, { actor: alice })).toMatchObject({
        ok: false,
        error: { code: 'INVALID_TRANSITION' },
      });
    }, 30_000);

    it('an engine step runs in one statement only from the stored state and with new fills; otherwise again, in a transaction, on what is stored', async () => {
      await start('engine-fast');
      const repository = bots.app.get(BotRepository);
      const fill = (tradeId: string) => buyFill('engine-fast-o1', tradeId);
      /** The next state: which fills it found new, and what it started from. */
      const step = async (fills: ReturnType<typeof fill>[], known?: unknown) =>
        (
          await repository.engineStep(
            'engine-fast',
            fills,
            null,
            (fresh, engine) => ({ fresh: [...fresh].sort(), from: engine ?? null }),
            known === undefined ? undefined : { engine: known },
          )
        )?.engine;
      const stored = async () =>
        (await stack.sandbox.sql<{ engine_state: unknown }>('SELECT engine_state FROM bots.bot WHERE id = $1', ['engine-fast']))[0]?.engine_state;
      const recorded = async () =>
        (await stack.sandbox.sql<{ trade_id: string }>("SELECT trade_id FROM bots.bot_fill WHERE bot_id = 'engine-fast' ORDER BY trade_id")).map(
          (r) => r.trade_id,
        );

      // Started from a state that is not the stored one (none is stored): run again on what is stored.
      const first = await step([fill('t1')], { stale: true });
      expect(first).toEqual({ fresh: ['engine-fast-o1/t1'], from: null });
      expect(await stored()).toEqual(first);
      // From the stored state, but t1 was applied before: run again, t1 not fresh.
      const second = await step([fill('t1'), fill('t2')], first);
      expect(second).toEqual({ fresh: ['engine-fast-o1/t2'], from: first });
      // What the one statement answers: it applies only from the stored state and with fills not applied before.
      const direct = async (expected: unknown, tradeId: string) =>
        (
          await stack.sandbox.sql<{ outcome: string }>('SELECT outcome FROM bots.bot_engine_steps($1::jsonb)', [
            JSON.stringify([
              {
                bot: 'engine-fast',
                expected,
                next: expected,
                syncedAt: null,
                fills: [{ c: 'engine-fast-o1', t: tradeId, s: 'buy', p: '60000', q: '0.001', fee: '0', cur: 'USDT', at: new Date().toISOString() }],
              },
            ]),
          ])
        )[0]?.outcome;
      expect(await direct(first, 't9')).toBe('conflict');
      expect(await direct(second, 't2')).toBe('conflict');
      expect(await recorded()).toEqual(['t1', 't2']);
      // From the stored state with new fills: one statement, the same outcome.
      const third = await step([fill('t3')], second);
      expect(third).toEqual({ fresh: ['engine-fast-o1/t3'], from: second });
      expect(await stored()).toEqual(third);
      expect(await recorded()).toEqual(['t1', 't2', 't3']);
      // Not RUNNING any more: nothing recorded, nothing saved, either way.
      expect(await bus().request(BotStopCmd, { botId: 'engine-fast', reason: 'engine test' }, { actor: alice })).toMatchObject({ ok: true });
      expect(await direct(third, 't4')).toBe('not-running');
      expect(await step([fill('t4')], third)).toBeUndefined();
      expect(await step([fill('t4')])).toBeUndefined();
      expect(await recorded()).toEqual(['t1', 't2', 't3']);
      expect(await stored()).toEqual(third);
    });

    it('steps and sends of bots made together share their statements, and each bot gets its own outcome', async () => {
      await start('batch-a');
      await start('batch-b');
      // batch-c stays CREATED: not RUNNING.
      const repository = bots.app.get(BotRepository);
      const fill = (botId: string) => ({
        clientOrderId: `${botId}-o1`,
        tradeId: 't1',
        side: 'sell' as const,
        price: '61000',
        quantity: '0.002',
        fee: '0.1',
        feeCurrency: 'USDT',
        at: new Date().toISOString(),
      });
      const step = async (botId: string, known: unknown, tag: string) =>
        (await repository.engineStep(botId, [fill(botId)], null, (fresh, engine) => ({ tag, fresh: [...fresh], from: engine ?? null }), { engine: known }))
          ?.engine;
      // Nothing stored yet: every known state is stale, and the steps run again on what is stored.
      const first = await Promise.all([step('batch-a', { stale: 1 }, 'a1'), step('batch-b', { stale: 2 }, 'b1'), step('batch-c', {}, 'c1')]);
      expect(first).toEqual([{ tag: 'a1', fresh: ['batch-a-o1/t1'], from: null }, { tag: 'b1', fresh: ['batch-b-o1/t1'], from: null }, undefined]);
      // Together again: a from its stored state with a new fill (applied as is), b from a stale one (run again).
      const [a2, b2] = await Promise.all([
        repository
          .engineStep('batch-a', [{ ...fill('batch-a'), tradeId: 't2' }], null, (fresh, engine) => ({ tag: 'a2', fresh: [...fresh], from: engine }), {
            engine: first[0],
          })
          .then((r) => r?.engine),
        step('batch-b', { stale: 3 }, 'b2'),
      ]);
      expect(a2).toEqual({ tag: 'a2', fresh: ['batch-a-o1/t2'], from: first[0] });
      expect(b2).toEqual({ tag: 'b2', fresh: [], from: first[1] });
      expect(
        await stack.sandbox.sql(
          "SELECT bot_id, trade_id, side, price::text, fee::text FROM bots.bot_fill WHERE bot_id LIKE 'batch-%' ORDER BY bot_id, trade_id",
        ),
      ).toEqual([
        { bot_id: 'batch-a', trade_id: 't1', side: 'sell', price: '61000', fee: '0.1' },
        { bot_id: 'batch-a', trade_id: 't2', side: 'sell', price: '61000', fee: '0.1' },
        { bot_id: 'batch-b', trade_id: 't1', side: 'sell', price: '61000', fee: '0.1' },
      ]);

      // Sends entered together: only the RUNNING bots' run; saves made together land each on its bot.
      const ran: string[] = [];
      const sends = await Promise.all(
        ['batch-a', 'batch-b', 'batch-c'].map((id) =>
          repository.whileRunning(id, async () => {
            ran.push(id);
            await repository.saveEngine(id, { saved: id });
            return id;
          }),
        ),
      );
      expect(sends).toEqual(['batch-a', 'batch-b', undefined]);
      expect(ran.sort()).toEqual(['batch-a', 'batch-b']);
      expect(await stack.sandbox.sql("SELECT id, engine_state FROM bots.bot WHERE id LIKE 'batch-%' ORDER BY id")).toEqual([
        { id: 'batch-a', engine_state: { saved: 'batch-a' } },
        { id: 'batch-b', engine_state: { saved: 'batch-b' } },
        { id: 'batch-c', engine_state: null },
      ]);
      // Their fences were let go: a stop's exclusive lock is granted at once.
      expect(await repository.awaitSends('batch-a', 1000)).toBe(true);
      expect(await repository.awaitSends('batch-b', 1000)).toBe(true);
    });
  });
});
