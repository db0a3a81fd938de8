import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { jetstreamManager } from '@nats-io/jetstream';
import {
  BotCreateCmd,
  BotCreatedEvt,
  BotGetQry,
  BotListQry,
  BotPauseCmd,
  BotResumeCmd,
  BotStartCmd,
  BotStateChangedEvt,
  BotStopCmd,
  KillSwitchActivateCmd,
  KillSwitchDeactivateCmd,
  type Actor,
  type Envelope,
  type EventDef,
  type RequestDef,
} from '@garde/contracts';
import { KillSwitchWatcher, type RunningService } from '@garde/platform';
import type { TestSandbox } from '@garde/testing';
import { startTradingStack, type TradingStack } from '../../exchange-gateway/test/trading-stack.js';
import { startBotService } from '../src/app.js';
import { KillSwitchListener } from '../src/handlers/kill-switch.listener.js';
import { HaltBotsInScopeUseCase } from '../src/use-cases/halt-bots-in-scope/halt-bots-in-scope.use-case.js';

const alice: Actor = { id: 'alice', kind: 'operator', role: 'operator' };
const rita: Actor = { id: 'rita', kind: 'operator', role: 'risk' };
const victor: Actor = { id: 'victor', kind: 'operator', role: 'viewer' };

// The four lifecycle commands: pause and resume share one payload; a start may leave its reason out, a stop adds cancelOrders.
type LifecycleDef = typeof BotStartCmd | typeof BotPauseCmd | typeof BotStopCmd;

/**
 * bot:create asks the gateway whether a bot's exchange has an account and lists its symbol: each exchange
 * these bots are created on has one, on a simulated venue (its limits out of the way: six accounts share
 * it). Their RUNNING bots trade there; what is asserted here is the lifecycle around them.
 */
const EXCHANGES = ['binance', 'kraken', 'ftx', 'okx', 'bitstamp', 'drillex'];

describe('bot-service', () => {
  let stack: TradingStack;
  let sandbox: TestSandbox;
  let bots: RunningService;

  beforeAll(async () => {
    const key = (exchangeId: string) => ({ apiKey: `sim-key-${exchangeId}`, secret: `sim-secret-${exchangeId}` });
    stack = await startTradingStack({
      label: 'bots',
      venues: [
        {
          id: 'bots-venue',
          port: 0,
          tickIntervalMs: 0,
          rateLimits: { requestWeightPerMinute: 1_000_000, ordersPer10Seconds: 1_000_000 },
          accounts: EXCHANGES.map((x) => ({ ...key(x), balances: { USDT: '1000000', BTC: '10' } })),
        },
      ],
      accounts: EXCHANGES.map((x) => ({ id: `${x}-main`, exchangeId: x, venue: 'bots-venue', ...key(x) })),
    });
    sandbox = stack.sandbox;
    bots = await startBotService(sandbox.env());
  });
  afterAll(async () => {
    await bots?.close();
    await stack?.stop();
  });

  const bus = () => bots.runtime.bus;
  const PARAMS: Record<string, Record<string, unknown>> = {
    grid: { lower: '50000', upper: '70000', levels: 10, orderSize: '0.001' },
    dca: { quoteAmount: '50', intervalMinutes: 60 },
  };
  const createBot = (
    input: { id?: string; name: string; exchangeId: string; strategy?: string; parameters?: Record<string, unknown> },
    actor: Actor | null = alice,
  ) =>
    bus().request(BotCreateCmd, { strategy: 'grid', symbol: 'BTC/USDT', parameters: PARAMS[input.strategy ?? 'grid'] ?? {}, ...input }, actor ? { actor } : {});
  const act = (def: LifecycleDef, botId: string, reason: string, actor: Actor | null = alice, correlationId?: string) =>
    bus().request(def, { botId, reason }, { ...(actor ? { actor } : {}), ...(correlationId ? { correlationId } : {}) });
  const mustCreate = async (input: { id: string; name?: string; exchangeId: string }) => {
    const reply = await createBot({ name: input.id, ...input });
    if (!reply.ok) throw new Error(`create ${input.id}: ${reply.error.message}`);
    return reply.result;
  };
  const mustAct = async (def: LifecycleDef, botId: string, reason = 'operator says so') => {
    const reply = await act(def, botId, reason);
    if (!reply.ok) throw new Error(`${def.type} ${botId}: ${reply.error.message}`);
    return reply.result;
  };
  const killSwitch = async (action: 'activate' | 'deactivate', scope: string, reason: string) => {
    const reply =
      action === 'activate'
        ? await bus().request(KillSwitchActivateCmd, { scope, reason }, { actor: alice })
        : await bus().request(KillSwitchDeactivateCmd, { scope, reason }, { actor: rita });
    expect(reply).toMatchObject({ ok: true, result: { changed: true } });
    // Wait until bot-service has seen it and applied it.
    await waitFor(
      () => Promise.resolve(bots.app.get(KillSwitchWatcher).get(scope)?.state),
      (s) => s === (action === 'activate' ? 'HALTED' : 'ACTIVE'),
    );
    await bots.app.get(KillSwitchListener).idle();
  };

  const row = async (id: string) =>
    (
      await sandbox.sql<{ state: string; state_reason: string; state_actor: string; version: number }>(
        'SELECT state, state_reason, state_actor, version FROM bots.bot WHERE id = $1',
        [id],
      )
    )[0];
  const stateOf = async (id: string) => (await row(id))?.state;
  const history = (id: string) =>
    sandbox.sql<{ from_state: string | null; to_state: string; reason: string; actor: Actor; scope: string | null; correlation_id: string }>(
      'SELECT from_state, to_state, reason, actor, scope, correlation_id FROM bots.bot_transition WHERE bot_id = $1 ORDER BY id',
      [id],
    );
  const count = async (sql: string, params: unknown[] = []) => Number((await sandbox.sql<{ n: string }>(sql, params))[0]?.n);

  /** The last event published for a bot, from the AUDIT stream. */
  const lastEvent = async (def: EventDef, botId: string): Promise<Envelope | undefined> => {
    const jsm = await jetstreamManager(bots.runtime.nc);
    const msg = await jsm.streams.getMessage(bus().topology.auditStream, { last_by_subj: bus().topology.subject(def, botId) }).catch(() => null);
    return msg?.json<Envelope>();
  };

  /** Sends a request as raw bytes, to get past the client-side contract check. */
  const raw = async (def: RequestDef, payload: unknown) => {
    const env = bus().envelope(def.type, def.schemaVersion, payload, { actor: alice });
    const reply = await bots.runtime.nc.request(bus().topology.subject(def), new TextEncoder().encode(JSON.stringify(env)), { timeout: 2000 });
    return JSON.parse(new TextDecoder().decode(reply.data)) as unknown;
  };

  it('creates, gets and lists bots; refuses duplicates, viewers and anonymous requests', async () => {
    const created = await createBot({ id: 'grid-1', name: 'Grid one', exchangeId: 'binance' });
    expect(created).toMatchObject({
      ok: true,
      result: {
        id: 'grid-1',
        name: 'Grid one',
        strategy: 'grid',
        parameters: { lower: '50000', upper: '70000', levels: 10, orderSize: '0.001' },
        exchangeId: 'binance',
        symbol: 'BTC/USDT',
        state: 'CREATED',
        stateActor: 'alice',
        trading: false,
      },
    });
    expect(created.ok && created.result.note).toContain('places no orders until bot:start');

    const generated = await createBot({ name: 'DCA one', exchangeId: 'kraken', strategy: 'dca' });
    expect(generated.ok && generated.result.id).toMatch(/^bot-[0-9a-f]{8}$/);

    expect(await createBot({ id: 'grid-1', name: 'Another name', exchangeId: 'binance' })).toMatchObject({
      ok: false,
      error: { code: 'ALREADY_EXISTS', message: expect.stringContaining('grid-1') },
    });
    expect(await createBot({ id: 'grid-2', name: 'Grid one', exchangeId: 'binance' })).toMatchObject({
      ok: false,
      error: { code: 'ALREADY_EXISTS', message: expect.stringContaining('Grid one') },
    });
    expect(await createBot({ id: 'grid-3', name: 'Viewer bot', exchangeId: 'binance' }, victor)).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await createBot({ id: 'grid-4', name: 'Nobody bot', exchangeId: 'binance' }, null)).toMatchObject({ ok: false, error: { code: 'UNAUTHENTICATED' } });
    expect(await count('SELECT count(*) AS n FROM bots.bot')).toBe(2);

    const got = await bus().request(BotGetQry, { botId: 'grid-1' }, { actor: victor });
    // The bot, with a flat position (no fill), no open order and no error; no bot of its market runs yet, so no ticker and no mark price.
    expect(got).toEqual({
      ok: true,
      result: {
        ...(created.ok ? created.result : {}),
        position: {
          baseCurrency: 'BTC',
          quoteCurrency: 'USDT',
          quantity: '0',
          averagePrice: null,
          realizedPnl: '0',
          unrealizedPnl: '0',
          unrealizedPnlNote: null,
          markPrice: null,
          markPriceAt: null,
          fees: {},
          fillCount: 0,
          fillsWithoutDetails: 0,
        },
        openOrders: { count: 0, unsent: 0, unsentCancels: 0, atGateway: 0 },
        lastError: null,
      },
    });
    const all = await bus().request(BotListQry, {}, { actor: victor });
    expect(all.ok && all.result.bots.map((b) => b.name)).toEqual(['Grid one', 'DCA one']);
    const onKraken = await bus().request(BotListQry, { exchangeId: 'kraken' });
    expect(onKraken.ok && onKraken.result.bots.map((b) => b.name)).toEqual(['DCA one']);
    const running = await bus().request(BotListQry, { state: 'RUNNING' });
    expect(running).toEqual({ ok: true, result: { bots: [] } });

    expect(await history('grid-1')).toEqual([
      { from_state: null, to_state: 'CREATED', reason: 'created', actor: alice, scope: null, correlation_id: expect.any(String) },
    ]);
    expect(await lastEvent(BotCreatedEvt, 'grid-1')).toMatchObject({ type: BotCreatedEvt.type, actor: alice, payload: { id: 'grid-1', state: 'CREATED' } });
  });

  it('starts, pauses, resumes and stops a bot: each transition persisted, recorded and published with its actor', async () => {
    await mustCreate({ id: 'lc-1', exchangeId: 'binance' });
    expect(await act(BotStartCmd, 'lc-1', 'go live')).toMatchObject({
      ok: true,
      result: { state: 'RUNNING', stateReason: 'go live', stateActor: 'alice', trading: true },
    });
    expect(await act(BotPauseCmd, 'lc-1', 'lunch break')).toMatchObject({ ok: true, result: { state: 'PAUSED' } });
    expect(await act(BotResumeCmd, 'lc-1', 'back')).toMatchObject({ ok: true, result: { state: 'RUNNING' } });
    expect(await act(BotStopCmd, 'lc-1', 'retired', alice, 'story-42')).toMatchObject({ ok: true, result: { state: 'STOPPED', stateReason: 'retired' } });

    expect(await row('lc-1')).toMatchObject({ state: 'STOPPED', state_reason: 'retired', state_actor: 'alice', version: 5 });
    expect((await history('lc-1')).map((h) => [h.from_state, h.to_state, h.reason, h.actor.id])).toEqual([
      [null, 'CREATED', 'created', 'alice'],
      ['CREATED', 'RUNNING', 'go live', 'alice'],
      ['RUNNING', 'PAUSED', 'lunch break', 'alice'],
      ['PAUSED', 'RUNNING', 'back', 'alice'],
      ['RUNNING', 'STOPPED', 'retired', 'alice'],
    ]);
    expect((await history('lc-1')).at(-1)?.correlation_id).toBe('story-42');
    const event = await lastEvent(BotStateChangedEvt, 'lc-1');
    expect(event).toMatchObject({
      type: BotStateChangedEvt.type,
      correlationId: 'story-42',
      actor: alice,
      payload: { botId: 'lc-1', from: 'RUNNING', to: 'STOPPED', reason: 'retired' },
    });
    expect(event?.causationId).toEqual(expect.any(String));
  });

  it('starts a bot without a reason (the contract gives one), but pauses, resumes or stops none without one', async () => {
    await mustCreate({ id: 'lc-2', exchangeId: 'binance' });
    expect(await bus().request(BotStartCmd, { botId: 'lc-2' }, { actor: alice })).toMatchObject({
      ok: true,
      result: { state: 'RUNNING', stateReason: 'started (no reason given)', stateActor: 'alice' },
    });
    for (const def of [BotPauseCmd, BotResumeCmd, BotStopCmd]) {
      expect(await raw(def, { botId: 'lc-2' })).toMatchObject({ ok: false, error: { code: 'CONTRACT_VIOLATION', message: expect.stringContaining('reason') } });
    }
    expect(await row('lc-2')).toMatchObject({ state: 'RUNNING', version: 2 });
  });

  it("refuses an invalid transition with the state machine's reason, and writes nothing", async () => {
    const before = await count('SELECT count(*) AS n FROM bots.bot_transition');
    expect(await act(BotResumeCmd, 'lc-1', 'try again')).toEqual({
      ok: false,
      error: {
        code: 'INVALID_TRANSITION',
        message: 'cannot resume a bot that is STOPPED (allowed from: PAUSED, HALTED, ERROR)',
        details: { botId: 'lc-1', state: 'STOPPED' },
      },
    });
    expect(await act(BotPauseCmd, 'grid-1', 'not even started')).toMatchObject({
      ok: false,
      error: { code: 'INVALID_TRANSITION', message: expect.stringContaining('cannot pause a bot that is CREATED') },
    });
    expect(await act(BotStartCmd, 'grid-1', 'as a viewer', victor)).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await act(BotStartCmd, 'grid-1', 'as nobody', null)).toMatchObject({ ok: false, error: { code: 'UNAUTHENTICATED' } });
    expect(await count('SELECT count(*) AS n FROM bots.bot_transition')).toBe(before);
    expect(await row('lc-1')).toMatchObject({ state: 'STOPPED', version: 5 });
    expect(await row('grid-1')).toMatchObject({ state: 'CREATED', version: 1 });
  });

  it('answers NOT_FOUND naming an unknown bot', async () => {
    expect(await act(BotStartCmd, 'ghost-7', 'wake up')).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND', message: expect.stringContaining('ghost-7') },
    });
    expect(await bus().request(BotGetQry, { botId: 'ghost-7' })).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND', message: expect.stringContaining('ghost-7') },
    });
  });

  it('answers CONTRACT_VIOLATION to an invalid payload and writes nothing', async () => {
    const bots0 = await count('SELECT count(*) AS n FROM bots.bot');
    const transitions0 = await count('SELECT count(*) AS n FROM bots.bot_transition');
    expect(await raw(BotCreateCmd, { id: 'bad-1', name: 'Bad symbol', strategy: 'grid', exchangeId: 'binance', symbol: 'BTCUSDT' })).toMatchObject({
      ok: false,
      error: { code: 'CONTRACT_VIOLATION', message: expect.stringContaining('symbol') },
    });
    expect(await raw(BotPauseCmd, { botId: 'grid-1' })).toMatchObject({
      ok: false,
      error: { code: 'CONTRACT_VIOLATION', message: expect.stringContaining('reason') },
    });
    // A start may leave its reason out, not give one too short to mean anything.
    expect(await raw(BotStartCmd, { botId: 'grid-1', reason: 'x' })).toMatchObject({
      ok: false,
      error: { code: 'CONTRACT_VIOLATION', message: expect.stringContaining('reason') },
    });
    expect(await count('SELECT count(*) AS n FROM bots.bot')).toBe(bots0);
    expect(await count('SELECT count(*) AS n FROM bots.bot_transition')).toBe(transitions0);
    expect(await stateOf('grid-1')).toBe('CREATED');
  });

  it('refuses a bot whose strategy is unknown or whose parameters are wrong, naming every problem, and writes nothing', async () => {
    const bots0 = await count('SELECT count(*) AS n FROM bots.bot');
    const badGrid = await createBot({ id: 'bad-grid', name: 'Bad grid', exchangeId: 'binance', parameters: { lower: '70000', upper: '50000', levels: 1 } });
    expect(badGrid).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST', message: expect.stringMatching(/^bot not created: grid parameters: /) } });
    const errors = (badGrid.ok ? [] : (badGrid.error.details?.errors as string[])).join(' | ');
    expect(errors).toMatch(/lower/);
    expect(errors).toMatch(/levels/);
    expect(errors).toMatch(/orderSize/);
    expect(await createBot({ id: 'bad-strategy', name: 'Bad strategy', exchangeId: 'binance', strategy: 'martingale' })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_REQUEST', message: expect.stringContaining('unknown strategy "martingale" (known: grid, dca)') },
    });
    expect(await count('SELECT count(*) AS n FROM bots.bot')).toBe(bots0);
  });

  it('exchange:X halts only the bots of X; a bot created there is born HALTED; resume waits for deactivation', async () => {
    await mustCreate({ id: 'ftx-1', exchangeId: 'ftx' });
    await mustCreate({ id: 'ftx-2', exchangeId: 'ftx' });
    await mustCreate({ id: 'okx-1', exchangeId: 'okx' });
    await mustAct(BotStartCmd, 'ftx-1');
    await mustAct(BotStartCmd, 'okx-1');

    await killSwitch('activate', 'exchange:ftx', 'venue acting up');
    expect(await stateOf('ftx-1')).toBe('HALTED');
    expect(await stateOf('ftx-2')).toBe('HALTED');
    expect(await stateOf('okx-1')).toBe('RUNNING');
    expect((await history('ftx-1')).at(-1)).toEqual({
      from_state: 'RUNNING',
      to_state: 'HALTED',
      reason: 'kill switch exchange:ftx: venue acting up',
      actor: alice,
      scope: 'exchange:ftx',
      correlation_id: 'kill-switch:exchange:ftx:v1',
    });
    const got = await bus().request(BotGetQry, { botId: 'ftx-1' });
    expect(got).toMatchObject({
      ok: true,
      result: { state: 'HALTED', stateReason: 'kill switch exchange:ftx: venue acting up', stateActor: 'alice', trading: false },
    });
    expect(got.ok && got.result.note).toContain('kill switch exchange:ftx: venue acting up');
    const event = await waitFor(
      () => lastEvent(BotStateChangedEvt, 'ftx-1'),
      (e) => (e?.payload as { to?: string } | undefined)?.to === 'HALTED',
    );
    expect(event).toMatchObject({
      actor: alice,
      correlationId: 'kill-switch:exchange:ftx:v1',
      payload: { botId: 'ftx-1', from: 'RUNNING', to: 'HALTED', reason: 'kill switch exchange:ftx: venue acting up', scope: 'exchange:ftx' },
    });

    expect(await createBot({ id: 'ftx-3', name: 'born halted', exchangeId: 'ftx' })).toMatchObject({
      ok: true,
      result: { state: 'HALTED', stateReason: 'kill switch exchange:ftx: venue acting up' },
    });
    expect(await act(BotResumeCmd, 'ftx-1', 'let me trade')).toEqual({
      ok: false,
      error: { code: 'KILL_SWITCH_ACTIVE', message: expect.stringContaining('exchange:ftx'), details: { scope: 'exchange:ftx', reason: 'venue acting up' } },
    });
    expect(await stateOf('ftx-1')).toBe('HALTED');

    await killSwitch('deactivate', 'exchange:ftx', 'venue is fine again');
    for (const id of ['ftx-1', 'ftx-2', 'ftx-3']) expect(await stateOf(id)).toBe('HALTED');
    expect(await act(BotResumeCmd, 'ftx-1', 'venue is fine again')).toMatchObject({
      ok: true,
      result: { state: 'RUNNING', stateReason: 'venue is fine again' },
    });
  });

  it('bot:Y halts only Y, and a bot created with a halted id is born HALTED', async () => {
    await mustCreate({ id: 'bs-1', exchangeId: 'bitstamp' });
    await mustCreate({ id: 'bs-2', exchangeId: 'bitstamp' });
    await mustAct(BotStartCmd, 'bs-1');
    await mustAct(BotStartCmd, 'bs-2');
    await killSwitch('activate', 'bot:bs-1', 'runaway');
    expect(await stateOf('bs-1')).toBe('HALTED');
    expect(await stateOf('bs-2')).toBe('RUNNING');

    await killSwitch('activate', 'bot:future-1', 'not this one');
    expect(await createBot({ id: 'future-1', name: 'future', exchangeId: 'bitstamp' })).toMatchObject({
      ok: true,
      result: { state: 'HALTED', stateReason: 'kill switch bot:future-1: not this one' },
    });
    expect(await act(BotResumeCmd, 'future-1', 'please')).toMatchObject({
      ok: false,
      error: { code: 'KILL_SWITCH_ACTIVE', details: { scope: 'bot:future-1' } },
    });
  });

  it('halts 1,000 bots of an exchange in one transaction and publishes one event per bot', async () => {
    await sandbox.sql(`
      INSERT INTO bots.bot (id, name, strategy, parameters, exchange_id, symbol, state, state_reason, state_actor, state_since, created_at, version)
      SELECT 'bulk-' || g, 'bulk ' || g, 'grid', '{}', 'bulkex', 'BTC/USDT', (ARRAY['CREATED', 'RUNNING', 'PAUSED'])[1 + g % 3], 'seeded', 'seed', now(), now(), 1
      FROM generate_series(1, 1000) g`);
    await killSwitch('activate', 'exchange:bulkex', 'mass halt');
    expect(await count("SELECT count(*) AS n FROM bots.bot WHERE exchange_id = 'bulkex' AND state = 'HALTED'")).toBe(1000);
    // One transaction: every history row carries the same timestamp.
    expect(await sandbox.sql("SELECT count(*)::int AS n, count(DISTINCT at)::int AS stamps FROM bots.bot_transition WHERE scope = 'exchange:bulkex'")).toEqual([
      { n: 1000, stamps: 1 },
    ]);
    expect(bots.app.get(HaltBotsInScopeUseCase).lastHalt).toMatchObject({ scope: 'exchange:bulkex', bots: 1000 });
    await bots.app.get(HaltBotsInScopeUseCase).settled();
    const jsm = await jetstreamManager(bots.runtime.nc);
    const prefix = `${bus().topology.subject(BotStateChangedEvt)}.bulk-`;
    const info = await jsm.streams.info(bus().topology.auditStream, { subjects_filter: `${bus().topology.subject(BotStateChangedEvt)}.*` });
    expect(Object.keys(info.state.subjects ?? {}).filter((s) => s.startsWith(prefix))).toHaveLength(1000);
    const metrics = await bots.runtime.metrics.metrics();
    expect(metrics).toMatch(/garde_bot_kill_switch_halted_bots_total\{[^}]*\} (\d{4,})/);
    expect(metrics).toMatch(/garde_bot_kill_switch_halt_seconds_count\{[^}]*\} [1-9]/);
  });

  it('global halts every CREATED, RUNNING and PAUSED bot, leaves ERROR and STOPPED alone; deactivation resumes nobody', async () => {
    await mustCreate({ id: 'g-run', exchangeId: 'drillex' });
    await mustCreate({ id: 'g-pause', exchangeId: 'drillex' });
    await mustCreate({ id: 'g-new', exchangeId: 'drillex' });
    await mustCreate({ id: 'g-err', exchangeId: 'drillex' });
    await mustCreate({ id: 'g-stop', exchangeId: 'drillex' });
    await mustAct(BotStartCmd, 'g-run');
    await mustAct(BotStartCmd, 'g-pause');
    await mustAct(BotPauseCmd, 'g-pause');
    await mustAct(BotStopCmd, 'g-stop');
    // No command fails a bot yet (strategies come later): ERROR is set behind the service's back.
    await sandbox.sql("UPDATE bots.bot SET state = 'ERROR', state_reason = 'venue errors' WHERE id = 'g-err'");
    const errBefore = await row('g-err');
    const stopBefore = await row('g-stop');

    await killSwitch('activate', 'global', 'fire drill');
    await waitFor(
      () => count("SELECT count(*) AS n FROM bots.bot WHERE state IN ('CREATED', 'RUNNING', 'PAUSED')"),
      (n) => n === 0,
    );
    for (const id of ['g-run', 'g-pause', 'g-new', 'grid-1', 'okx-1', 'bs-2', 'ftx-1']) {
      expect(await row(id)).toMatchObject({ state: 'HALTED', state_reason: 'kill switch global: fire drill', state_actor: 'alice' });
    }
    expect(await row('g-err')).toEqual(errBefore);
    expect(await row('g-stop')).toEqual(stopBefore);
    // Already HALTED by its own scope: left as it was, with its own reason.
    expect(await row('bs-1')).toMatchObject({ state: 'HALTED', state_reason: 'kill switch bot:bs-1: runaway' });
    expect((await history('g-pause')).at(-1)).toMatchObject({ from_state: 'PAUSED', to_state: 'HALTED', scope: 'global' });

    expect(await act(BotResumeCmd, 'g-run', 'i know better')).toMatchObject({
      ok: false,
      error: { code: 'KILL_SWITCH_ACTIVE', details: { scope: 'global', reason: 'fire drill' } },
    });
    expect(await createBot({ id: 'g-late', name: 'late', exchangeId: 'drillex' })).toMatchObject({ ok: true, result: { state: 'HALTED' } });

    await killSwitch('deactivate', 'global', 'drill over');
    expect(await count("SELECT count(*) AS n FROM bots.bot WHERE state IN ('CREATED', 'RUNNING', 'PAUSED')")).toBe(0);
    expect(await act(BotResumeCmd, 'g-run', 'drill over')).toMatchObject({ ok: true, result: { state: 'RUNNING' } });
    expect(await act(BotResumeCmd, 'g-pause', 'drill over')).toMatchObject({ ok: true, result: { state: 'RUNNING' } });
    expect(await act(BotStartCmd, 'g-late', 'drill over')).toMatchObject({ ok: false, error: { code: 'INVALID_TRANSITION' } });
  });

  it('on a restart while global is HALTED, the initial read halts again a bot set RUNNING behind its back', async () => {
    await killSwitch('activate', 'global', 'second drill');
    expect(await stateOf('g-run')).toBe('HALTED');
    await bots.close();
    await sandbox.sql("UPDATE bots.bot SET state = 'RUNNING', state_reason = 'sneaky' WHERE id = 'g-run'");

    bots = await startBotService(sandbox.env());
    // Requests are served only once the initial state is applied: no polling needed.
    expect(await row('g-run')).toMatchObject({ state: 'HALTED', state_reason: 'kill switch global: second drill' });
    expect((await history('g-run')).at(-1)).toMatchObject({ from_state: 'RUNNING', to_state: 'HALTED', scope: 'global', actor: alice });
    expect(await stateOf('g-pause')).toBe('HALTED');
    expect(await createBot({ id: 'after-restart', name: 'after restart', exchangeId: 'drillex' })).toMatchObject({ ok: true, result: { state: 'HALTED' } });
    expect(await act(BotResumeCmd, 'g-run', 'sneaky again')).toMatchObject({ ok: false, error: { code: 'KILL_SWITCH_ACTIVE', details: { scope: 'global' } } });
  });

  it('refuses start, resume and create with RISK_STATE_UNKNOWN while the kill-switch state is unknown', async () => {
    await bots.app.get(KillSwitchWatcher).stop();
    expect(await act(BotResumeCmd, 'g-run', 'blind')).toMatchObject({ ok: false, error: { code: 'RISK_STATE_UNKNOWN' } });
    expect(await createBot({ id: 'blind-1', name: 'blind', exchangeId: 'drillex' })).toMatchObject({ ok: false, error: { code: 'RISK_STATE_UNKNOWN' } });
    expect(await stateOf('g-run')).toBe('HALTED');
    expect(await stateOf('blind-1')).toBeUndefined();
    // Stopping never needs the kill switch.
    expect(await act(BotStopCmd, 'g-run', 'retire it')).toMatchObject({ ok: true, result: { state: 'STOPPED' } });
  });
});

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
