import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { jetstreamManager } from '@nats-io/jetstream';
import { ExchangeAccountAddedEvt, ExchangeAccountRemovedEvt } from '@garde/contracts';
import { startSimulator, type RunningSimulator } from '@garde/exchange-simulator';
import type { RunningService } from '@garde/platform';
import { createSandbox, freePort, runConsole, type TestSandbox } from '@garde/testing';
import { startExchangeGateway } from '../src/app.js';
import { TEST_API_TOKENS, TEST_TOKENS, apiClient } from './api-client.js';
import { CredentialCipher } from '../src/venues/credential-cipher.js';

const TOKENS = TEST_TOKENS;
const KEY = 'sim-key-acct-7Q2x';
const SECRET = 'sim-secret-acct-very-secret';

describe('exchange accounts: credentials checked with the venue, sealed at rest', () => {
  let sandbox: TestSandbox;
  let sim: RunningSimulator;
  let gateway: RunningService;
  let venueUrl: string;

  const call = apiClient(() => gateway.url);
  const api = (role: keyof typeof TOKENS, method: string, path: string, body?: unknown) => call(role, method, path, body);
  const account = (extra: Record<string, unknown> = {}) => ({
    id: 'sim-main',
    exchangeId: 'sim-binance',
    ccxtId: 'binance',
    urlOverride: venueUrl,
    apiKey: KEY,
    secret: SECRET,
    ...extra,
  });
  const rows = () => sandbox.sql<Record<string, string>>('SELECT * FROM gateway.exchange_account ORDER BY id');

  beforeAll(async () => {
    sandbox = await createSandbox('gw-accounts');
    sim = await startSimulator({
      venues: [{ id: 'sim-a', port: 0, tickIntervalMs: 0, accounts: [{ apiKey: KEY, secret: SECRET, balances: { USDT: '1000' } }] }],
    });
    venueUrl = sim.venue('sim-a').url;
    const tokens = TEST_API_TOKENS;
    gateway = await startExchangeGateway(sandbox.env({ GARDE_API_TOKENS: tokens }));
  });
  afterAll(async () => {
    await gateway?.close();
    await sim?.stop();
    await sandbox?.dispose();
  });

  it('refuses what cannot work, with a clear error, and stores nothing', async () => {
    const wrongSecret = await api('admin', 'POST', '/api/v1/exchange-accounts', account({ secret: 'not-the-secret' }));
    expect(wrongSecret.status).toBe(400);
    expect(wrongSecret.body.error?.message).toContain('the venue refused these credentials');

    const unreachable = await api('admin', 'POST', '/api/v1/exchange-accounts', account({ urlOverride: `http://127.0.0.1:${await freePort()}` }));
    expect(unreachable.status).toBe(503);
    expect(unreachable.body.error).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining('could not reach binance') });

    const unknownClass = await api('admin', 'POST', '/api/v1/exchange-accounts', account({ ccxtId: 'nosuchvenue' }));
    expect(unknownClass.body.error).toMatchObject({ code: 'INVALID_REQUEST', message: 'ccxt has no exchange "nosuchvenue"' });

    const badBody = await api('admin', 'POST', '/api/v1/exchange-accounts', account({ urlOverride: 'ftp://x', id: 'has space' }));
    expect(badBody.status).toBe(400);
    expect(badBody.body.error?.message).toMatch(/id: .*urlOverride: /s);

    expect((await api('viewer', 'POST', '/api/v1/exchange-accounts', account())).status).toBe(403);
    expect(await rows()).toEqual([]);
  });

  it('adds an account whose credentials the venue accepts; the secret is never shown and sealed at rest', async () => {
    const added = await api('admin', 'POST', '/api/v1/exchange-accounts', account());
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({
      id: 'sim-main',
      exchangeId: 'sim-binance',
      ccxtId: 'binance',
      urlOverride: venueUrl,
      sandbox: false,
      apiKeyHint: '7Q2x',
      createdBy: 'admin-person',
    });
    expect(JSON.stringify(added.body)).not.toContain(SECRET);

    const [row] = await rows();
    expect(JSON.stringify(row)).not.toContain(SECRET);
    expect(JSON.stringify(row)).not.toContain(KEY);
    const cipher = new CredentialCipher(Buffer.from(sandbox.env().GARDE_MASTER_KEY!, 'base64'));
    expect(cipher.decrypt(row!.secret_sealed!, 'sim-main')).toBe(SECRET);

    const list = await api('viewer', 'GET', '/api/v1/exchange-accounts');
    expect(list.body).toEqual({ accounts: [added.body] });
    expect((await api('admin', 'POST', '/api/v1/exchange-accounts', account())).body.error?.code).toBe('ALREADY_EXISTS');
    expect(await (await fetch(`${gateway.url}/metrics`)).text()).toMatch(/^garde_gateway_exchange_accounts\{service="exchange-gateway"\} 1$/m);
  });

  it('removes an account with a reason; both changes are in the AUDIT stream with the actor, without the secret', async () => {
    expect((await api('admin', 'POST', '/api/v1/exchange-accounts/sim-main/remove', {})).status).toBe(400);
    const removed = await api('admin', 'POST', '/api/v1/exchange-accounts/sim-main/remove', { reason: 'key rotated' });
    expect(removed.status).toBe(200);
    expect(await rows()).toEqual([]);
    expect((await api('admin', 'POST', '/api/v1/exchange-accounts/sim-main/remove', { reason: 'again' })).body.error?.code).toBe('NOT_FOUND');

    const jsm = await jetstreamManager(gateway.runtime.nc);
    const topology = gateway.runtime.bus.topology;
    for (const def of [ExchangeAccountAddedEvt, ExchangeAccountRemovedEvt]) {
      const msg = await jsm.streams.getMessage(topology.auditStream, { last_by_subj: topology.subject(def) });
      const text = new TextDecoder().decode(msg!.data);
      expect(JSON.parse(text)).toMatchObject({ type: def.type, actor: { id: 'admin-person', role: 'admin' } });
      expect(text).not.toContain(SECRET);
    }
  });

  it('is driven from bin/console, the secret read from the environment', async () => {
    const env = { GARDE_API_URL: gateway.url, GARDE_TOKEN: TOKENS.admin, GARDE_EXCHANGE_API_KEY: KEY };
    const noSecret = await runConsole(['exchange:account:add', '--id=cli-acct', '--exchange=sim-binance', '--ccxt=binance', `--url=${venueUrl}`], env);
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toContain('set the API key and secret in GARDE_EXCHANGE_SECRET');

    const added = await runConsole(['exchange:account:add', '--id=cli-acct', '--exchange=sim-binance', '--ccxt=binance', `--url=${venueUrl}`], {
      ...env,
      GARDE_EXCHANGE_SECRET: SECRET,
    });
    expect(added.stderr).toBe('');
    expect(added.stdout).toContain('Added exchange account cli-acct (binance as sim-binance, key …7Q2x), credentials checked with the venue');
    const list = await runConsole(['exchange:account:list', '--json'], env);
    expect(JSON.parse(list.stdout)).toMatchObject({ accounts: [{ id: 'cli-acct', apiKeyHint: '7Q2x' }] });
    const removed = await runConsole(['exchange:account:remove', 'cli-acct', '--reason=cli test done'], env);
    expect(removed.code).toBe(0);
  });
});
