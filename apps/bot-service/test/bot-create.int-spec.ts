import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { jetstreamManager } from '@nats-io/jetstream';
import { BotCreateCmd, BotCreatedEvt, MarketInfoQry, type Actor } from '@garde/contracts';
import { startSimulator, type RunningSimulator } from '@garde/exchange-simulator';
import type { RunningService } from '@garde/platform';
import { createSandbox, freePort, runConsole, type TestSandbox } from '@garde/testing';
import { startRiskService } from '../../risk-service/src/app.js';
import { startExchangeGateway } from '../../exchange-gateway/src/app.js';
import { TEST_API_TOKENS, TEST_TOKENS, apiClient } from '../../exchange-gateway/test/api-client.js';
import { startBotService } from '../src/app.js';

const KEY = 'sim-key-create';
const SECRET = 'sim-secret-create';
const alice: Actor = { id: 'alice', kind: 'operator', role: 'operator' };
const GRID = { lower: '59000', upper: '61000', levels: 5, orderSize: '0.001' };

/**
 * `bot:create` refuses an invalid definition with a clear error and creates nothing (issue 4): wrong
 * strategy parameters (bot-service alone), and a market the gateway does not confirm — no account for
 * the exchange, a symbol its venue does not list, a venue that cannot be reached, no gateway at all.
 * Through the console and the HTTP API, against the gateway and the simulated venue.
 */
describe('bot:create refuses invalid definitions, and writes nothing', () => {
  let sandbox: TestSandbox;
  let sim: RunningSimulator;
  let risk: RunningService;
  let gateway: RunningService | undefined;
  let bots: RunningService;
  const api = apiClient(() => gateway!.url);
  const cli = (...args: string[]) => runConsole(args, { GARDE_API_URL: gateway!.url, GARDE_TOKEN: TEST_TOKENS.operator });
  const create = (id: string, extra: { exchange?: string; symbol?: string; params?: Record<string, unknown>; strategy?: string } = {}) =>
    cli(
      'bot:create',
      `--id=${id}`,
      `--name=${id}`,
      `--strategy=${extra.strategy ?? 'grid'}`,
      `--exchange=${extra.exchange ?? 'sim-1'}`,
      `--symbol=${extra.symbol ?? 'BTC/USDT'}`,
      `--params=${JSON.stringify(extra.params ?? GRID)}`,
    );
  const written = async () => ({
    bots: (await sandbox.sql<{ id: string }>('SELECT id FROM bots.bot ORDER BY id')).map((r) => r.id),
    transitions: Number((await sandbox.sql<{ n: string }>('SELECT count(*) AS n FROM bots.bot_transition'))[0]?.n),
  });
  /** BotCreatedEvt published for a bot id, in the AUDIT stream. */
  const createdEvents = async (id: string): Promise<number> => {
    const jsm = await jetstreamManager(bots.runtime.nc);
    const subject = bots.runtime.bus.topology.subject(BotCreatedEvt, id);
    const info = await jsm.streams.info(bots.runtime.bus.topology.auditStream, { subjects_filter: subject });
    return info.state.subjects?.[subject] ?? 0;
  };
  /** The refusal seen through the console (exit 1, the error on stderr), then bot:status of that id: NOT_FOUND. */
  const expectRefused = async (id: string, run: Promise<{ code: number; stdout: string; stderr: string }>, error: string) => {
    const before = await written();
    const result = await run;
    expect({ code: result.code, stdout: result.stdout, stderr: result.stderr.split('\n')[0] }).toEqual({ code: 1, stdout: '', stderr: error });
    const status = await cli('bot:status', id);
    expect([status.code, status.stderr]).toEqual([1, expect.stringContaining(`error [NOT_FOUND]: no bot with id "${id}"`)]);
    expect(await written()).toEqual(before);
    expect(await createdEvents(id)).toBe(0);
  };

  beforeAll(async () => {
    sandbox = await createSandbox('bot-create');
    sim = await startSimulator({
      venues: [{ id: 'create-venue', port: 0, tickIntervalMs: 0, accounts: [{ apiKey: KEY, secret: SECRET, balances: { USDT: '100000', BTC: '1' } }] }],
    });
    risk = await startRiskService(sandbox.env());
    gateway = await startExchangeGateway(sandbox.env({ GARDE_API_TOKENS: TEST_API_TOKENS }));
    const account = (id: string, exchangeId: string, url: string, check: boolean) =>
      api('admin', 'POST', '/api/v1/exchange-accounts', { id, exchangeId, ccxtId: 'binance', urlOverride: url, apiKey: KEY, secret: SECRET, check });
    expect((await account('create-main', 'sim-1', sim.venue('create-venue').url, true)).status).toBe(201);
    // An account whose venue does not answer (nothing listens on that port): added without the check.
    expect((await account('away-main', 'sim-away', `http://127.0.0.1:${await freePort()}`, false)).status).toBe(201);
    // Two accounts on one exchange: an order naming none (a bot's) is refused there.
    expect((await account('twin-a', 'sim-twins', sim.venue('create-venue').url, false)).status).toBe(201);
    expect((await account('twin-b', 'sim-twins', sim.venue('create-venue').url, false)).status).toBe(201);
    bots = await startBotService(sandbox.env());
  });
  afterAll(async () => {
    await bots?.close();
    await gateway?.close();
    await risk?.close();
    await sim?.stop();
    await sandbox?.dispose();
  });

  it('the gateway says which account trades a market and its steps and limits, or why there is none', async () => {
    const bus = bots.runtime.bus;
    expect(await bus.request(MarketInfoQry, { exchangeId: 'sim-1', symbol: 'BTC/USDT' })).toEqual({
      ok: true,
      result: {
        exchangeId: 'sim-1',
        symbol: 'BTC/USDT',
        accountId: 'create-main',
        tickSize: '0.01',
        stepSize: '0.00001',
        minQuantity: '0.00001',
        maxQuantity: expect.any(String),
        minNotional: '5',
      },
    });
    expect(await bus.request(MarketInfoQry, { exchangeId: 'sim-1', symbol: 'BTC/XYZ' })).toMatchObject({
      ok: false,
      error: { code: 'UNKNOWN_SYMBOL', message: 'BTC/XYZ is not listed on exchange sim-1 (account create-main)' },
    });
    expect(await bus.request(MarketInfoQry, { exchangeId: 'nowhere', symbol: 'BTC/USDT' })).toMatchObject({
      ok: false,
      error: { code: 'NO_VENUE_CONFIGURED', message: 'no exchange account is configured for exchange nowhere' },
    });
    expect(await bus.request(MarketInfoQry, { exchangeId: 'sim-twins', symbol: 'BTC/USDT' })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_REQUEST', message: expect.stringContaining('several accounts (twin-a, twin-b)') },
    });
    expect(await bus.request(MarketInfoQry, { exchangeId: 'sim-away', symbol: 'BTC/USDT' }, {}, 5000)).toMatchObject({
      ok: false,
      error: { code: 'EXCHANGE_UNAVAILABLE', message: expect.stringContaining('the markets of exchange sim-away') },
    });
  });

  it('a grid with lower >= upper: INVALID_REQUEST naming the problem, exit 1, nothing created', async () => {
    await expectRefused(
      'bad-bounds',
      create('bad-bounds', { params: { ...GRID, lower: '61000', upper: '61000' } }),
      'error [INVALID_REQUEST]: bot not created: grid parameters: lower must be below upper (lower 61000, upper 61000)',
    );
  });

  it('a grid with zero levels: INVALID_REQUEST naming the problem, exit 1, nothing created', async () => {
    await expectRefused(
      'bad-levels',
      create('bad-levels', { params: { ...GRID, levels: 0 } }),
      'error [INVALID_REQUEST]: bot not created: grid parameters: levels must be an integer ≥ 2 and ≤ 200 (got 0)',
    );
  });

  it('a symbol the venue does not list: UNKNOWN_SYMBOL, exit 1, nothing created', async () => {
    await expectRefused(
      'bad-symbol',
      create('bad-symbol', { symbol: 'BTC/XYZ' }),
      'error [UNKNOWN_SYMBOL]: bot not created: BTC/XYZ is not listed on exchange "sim-1"',
    );
  });

  it('an exchange with no account: NO_VENUE_CONFIGURED, exit 1, nothing created', async () => {
    await expectRefused(
      'bad-exchange',
      create('bad-exchange', { exchange: 'nowhere' }),
      'error [NO_VENUE_CONFIGURED]: bot not created: no exchange account for exchange "nowhere"',
    );
  });

  it('parameters that do not fit the venue steps (an order size below one lot): INVALID_REQUEST, exit 1, nothing created', async () => {
    await expectRefused(
      'bad-lot',
      create('bad-lot', { params: { ...GRID, orderSize: '0.0000001' } }),
      'error [INVALID_REQUEST]: bot not created: grid parameters do not fit BTC/USDT on exchange "sim-1" (its tickSize 0.01, stepSize 0.00001): orderSize 0.0000001 is smaller than stepSize 0.00001',
    );
  });

  it('a venue that cannot be reached, or an exchange with several accounts: refused, saying why, nothing created', async () => {
    await expectRefused(
      'bad-away',
      create('bad-away', { exchange: 'sim-away' }),
      expect.stringMatching(
        /^error \[EXCHANGE_UNAVAILABLE\]: bot not created: whether exchange "sim-away" has an account and lists BTC\/USDT is unknown: the markets of exchange sim-away/,
      ) as unknown as string,
    );
    await expectRefused(
      'bad-twins',
      create('bad-twins', { exchange: 'sim-twins' }),
      "error [INVALID_REQUEST]: bot not created: exchange sim-twins has several accounts (twin-a, twin-b): an order that names none, as a bot's do, is refused there",
    );
  });

  it('through the HTTP API: the same refusals with their status, and the list of bots unchanged', async () => {
    const list = async () => (await api('viewer', 'GET', '/api/v1/bots')).body.bots;
    const before = await list();
    const post = (body: Record<string, unknown>) =>
      api('operator', 'POST', '/api/v1/bots', { name: 'http bot', strategy: 'grid', exchangeId: 'sim-1', symbol: 'BTC/USDT', parameters: GRID, ...body });
    expect(await post({ id: 'http-1', symbol: 'DOGE/XYZ' })).toMatchObject({
      status: 422,
      body: { error: { code: 'UNKNOWN_SYMBOL', message: 'bot not created: DOGE/XYZ is not listed on exchange "sim-1"' } },
    });
    expect(await post({ id: 'http-2', exchangeId: 'kraken' })).toMatchObject({
      status: 422,
      body: { error: { code: 'NO_VENUE_CONFIGURED', message: 'bot not created: no exchange account for exchange "kraken"' } },
    });
    expect(await post({ id: 'http-3', parameters: { ...GRID, levels: 0, upper: '1' } })).toMatchObject({
      status: 400,
      body: { error: { code: 'INVALID_REQUEST', message: expect.stringMatching(/^bot not created: grid parameters: .*levels.*lower must be below upper/) } },
    });
    for (const id of ['http-1', 'http-2', 'http-3']) expect((await api('viewer', 'GET', `/api/v1/bots/${id}`)).status).toBe(404);
    expect(await list()).toEqual(before);
  });

  it('a valid definition is still created', async () => {
    const result = await create('good-grid');
    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(result.stdout).toContain('Created bot good-grid (good-grid), state CREATED');
    const status = await cli('bot:status', 'good-grid', '--json');
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ id: 'good-grid', state: 'CREATED', exchangeId: 'sim-1', symbol: 'BTC/USDT', parameters: GRID });
    expect((await written()).bots).toEqual(['good-grid']);
    expect(await createdEvents('good-grid')).toBe(1);
  });

  it('with no gateway answering, a bot is refused UNAVAILABLE, saying why, and nothing is created', async () => {
    await gateway!.close();
    gateway = undefined;
    const before = await written();
    const reply = await bots.runtime.bus.request(
      BotCreateCmd,
      { id: 'blind-1', name: 'blind', strategy: 'grid', exchangeId: 'sim-1', symbol: 'BTC/USDT', parameters: GRID },
      { actor: alice },
      10_000,
    );
    expect(reply).toMatchObject({
      ok: false,
      error: {
        code: 'UNAVAILABLE',
        message: expect.stringMatching(
          /^bot not created: the exchange gateway could not be asked .*so whether exchange "sim-1" has an account and lists BTC\/USDT is unknown$/,
        ),
      },
    });
    expect(await written()).toEqual(before);
  });
});
