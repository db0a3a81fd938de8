import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { RunningService } from '@garde/platform';
import { createSandbox, startTcpProxy, testOrder, until, type TcpProxy, type TestSandbox } from '@garde/testing';
import { startRiskService } from '../../risk-service/src/app.js';
import { startExchangeGateway } from '../src/app.js';
import { TEST_API_TOKENS, TEST_TOKENS, apiClient, type TestRole } from './api-client.js';
import { API_ROUTES } from '../src/http/openapi.js';

describe('exchange-gateway: kill-switch gate and operators API', () => {
  let sandbox: TestSandbox;
  let proxy: TcpProxy;
  let gateway: RunningService;
  let risk: RunningService | undefined;

  const call = apiClient(() => gateway.url);
  const api = (method: string, path: string, token?: TestRole, body?: unknown) => call(token, method, path, body);
  const submit = (extra?: Record<string, unknown>) => api('POST', '/api/v1/orders', 'operator', testOrder(extra));
  const startGateway = () => startExchangeGateway(sandbox.env({ NATS_URL: proxy.url('nats'), GARDE_API_TOKENS: TEST_API_TOKENS }));

  beforeAll(async () => {
    sandbox = await createSandbox('gateway');
    const nats = new URL(sandbox.natsUrl);
    proxy = await startTcpProxy({ host: nats.hostname, port: Number(nats.port) });
    gateway = await startGateway();
  });
  afterAll(async () => {
    await gateway?.close();
    await risk?.close();
    await proxy?.close();
    await sandbox?.dispose();
  });

  it('refuses orders RISK_STATE_UNKNOWN while risk-service has never published the kill-switch state', async () => {
    const res = await submit();
    expect(res.status).toBe(503);
    expect(res.body.error?.code).toBe('RISK_STATE_UNKNOWN');
  });

  it('lets an order through the gate once the state is known; with no venue it is refused NO_VENUE_CONFIGURED', async () => {
    risk = await startRiskService(sandbox.env());
    const res = await until(
      () => submit(),
      (r) => r.body.error?.code !== 'RISK_STATE_UNKNOWN',
    );
    expect(res.status).toBe(422);
    expect(res.body.error?.code).toBe('NO_VENUE_CONFIGURED');
  });

  it('answers 401 without a token, 403 to a viewer activating and to an operator deactivating; nothing is written', async () => {
    expect((await api('POST', '/api/v1/kill-switch/activate', undefined, { scope: 'global', reason: 'no token' })).status).toBe(401);
    expect((await api('POST', '/api/v1/kill-switch/activate', 'viewer', { scope: 'global', reason: 'viewer' })).body.error?.code).toBe('FORBIDDEN');
    expect((await api('POST', '/api/v1/kill-switch/deactivate', 'operator', { scope: 'global', reason: 'operator' })).status).toBe(403);
    expect(await sandbox.sql('SELECT * FROM risk.kill_switch_change')).toHaveLength(0);
  });

  it('rejects invalid bodies with a clear 400 and writes nothing', async () => {
    const noReason = await api('POST', '/api/v1/kill-switch/activate', 'operator', { scope: 'global' });
    expect(noReason.status).toBe(400);
    expect(noReason.body.error).toMatchObject({ code: 'CONTRACT_VIOLATION', message: expect.stringContaining('reason') });
    const badScope = await api('POST', '/api/v1/kill-switch/activate', 'operator', { scope: 'venue:x', reason: 'bad scope' });
    expect(badScope.status).toBe(400);
    expect(badScope.body.error?.message).toContain('scope');
    const badQuantity = await submit({ quantity: '-1' });
    expect(badQuantity.status).toBe(400);
    expect(badQuantity.body.error?.message).toContain('quantity');
    // A body that is not JSON at all: said so, not only the parser's words.
    const notJson = await fetch(`${gateway.url}/api/v1/kill-switch/activate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_TOKENS.risk}` },
      body: '{"scope": "global", "reason":',
    });
    expect([notJson.status, await notJson.json()]).toEqual([
      400,
      { error: { code: 'INVALID_REQUEST', message: expect.stringMatching(/^the request body is not valid JSON: ./) } },
    ]);
    expect(await sandbox.sql('SELECT * FROM risk.kill_switch_change')).toHaveLength(0);
  });

  it('an exchange scope refuses only that exchange, a bot scope only that bot, with scope and reason', async () => {
    const act = await api('POST', '/api/v1/kill-switch/activate', 'operator', { scope: 'exchange:kraken', reason: 'kraken degraded' });
    expect(act.status).toBe(200);
    const refused = await until(
      () => submit({ exchangeId: 'kraken' }),
      (r) => r.body.error?.code === 'KILL_SWITCH_ACTIVE',
    );
    expect(refused.status).toBe(423);
    expect(refused.body.error?.details).toMatchObject({ scope: 'exchange:kraken', reason: 'kraken degraded', actor: 'operator-person' });
    expect((await submit({ exchangeId: 'binance' })).body.error?.code).toBe('NO_VENUE_CONFIGURED');

    await api('POST', '/api/v1/kill-switch/activate', 'operator', { scope: 'bot:b-1', reason: 'b-1 misbehaves' });
    expect(
      (
        await until(
          () => submit({ botId: 'b-1' }),
          (r) => r.body.error?.code === 'KILL_SWITCH_ACTIVE',
        )
      ).body.error?.details,
    ).toMatchObject({ scope: 'bot:b-1' });
    expect((await submit({ botId: 'b-2' })).body.error?.code).toBe('NO_VENUE_CONFIGURED');
  });

  it('global HALTED refuses everything, still after a gateway restart; deactivation by the risk role lets orders through again', async () => {
    await api('POST', '/api/v1/kill-switch/activate', 'operator', { scope: 'global', reason: 'firm-wide stop' });
    expect(
      (
        await until(
          () => submit(),
          (r) => r.body.error?.code === 'KILL_SWITCH_ACTIVE',
        )
      ).body.error?.details,
    ).toMatchObject({ scope: 'global' });

    await gateway.close();
    gateway = await startGateway();
    const afterRestart = await submit();
    expect(afterRestart.body.error).toMatchObject({ code: 'KILL_SWITCH_ACTIVE', details: { scope: 'global', reason: 'firm-wide stop' } });

    const status = await api('GET', '/api/v1/kill-switch', 'viewer');
    expect((status.body.scopes as Array<{ scope: string; state: string }>)[0]).toMatchObject({ scope: 'global', state: 'HALTED' });
    expect((await api('POST', '/api/v1/kill-switch/deactivate', 'risk', { scope: 'global', reason: 'incident closed' })).status).toBe(200);
    expect(
      (
        await until(
          () => submit(),
          (r) => r.body.error?.code === 'NO_VENUE_CONFIGURED',
        )
      ).body.error?.code,
    ).toBe('NO_VENUE_CONFIGURED');
  });

  it('refuses RISK_STATE_UNKNOWN as soon as its NATS connection is cut, and recovers after reconnecting', async () => {
    proxy.cut();
    const cut = await until(
      () => submit(),
      (r) => r.body.error?.code === 'RISK_STATE_UNKNOWN',
    );
    expect(cut.body.error?.code).toBe('RISK_STATE_UNKNOWN');
    // A request over the bus is not left waiting (and delivered late): refused at once, saying why.
    const bots = await until(
      () => call('viewer', 'GET', '/api/v1/bots'),
      (r) => r.status === 503,
    );
    expect(bots.body.error).toEqual({
      code: 'UNAVAILABLE',
      message: expect.stringMatching(/^bot\.qry\.bot\.list not sent: exchange-gateway\/\S+ lost its NATS connection \d+ s ago and is reconnecting$/),
    });
    proxy.restore();
    const back = await until(
      () => submit(),
      (r) => r.body.error?.code !== 'RISK_STATE_UNKNOWN',
      10_000,
    );
    expect(back.body.error?.code).toBe('NO_VENUE_CONFIGURED');
  });

  it('serves every route of its OpenAPI document', async () => {
    const doc = (await api('GET', '/api/v1/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.paths).sort()).toEqual([...new Set(API_ROUTES.map((r) => r.path))].sort());
    for (const route of API_ROUTES) {
      const res = await api(route.method.toUpperCase(), route.path.replace('{id}', 'no-such-bot'), 'risk', route.method === 'post' ? {} : undefined);
      // A missing bot is a 404 with our error body; an unserved route would be Nest's plain 404 (code NOT_FOUND, message "Cannot …").
      expect(res.body.error?.message ?? '').not.toMatch(/^Cannot (GET|POST)/);
    }
  });
});
