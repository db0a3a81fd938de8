import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import {
  BUS_SERVICES,
  BotStateChangedEvt,
  busIdentity,
  busTopology,
  KillSwitchActivatedEvt,
  natsAuthorization,
  OrderCheckQry,
  type BusService,
} from '@garde/contracts';
import {
  createSandbox,
  freePort,
  REPO_ROOT,
  runConsole,
  startNatsServer,
  startServiceProcess,
  testOrder,
  until,
  type PrivateNatsServer,
  type ServiceProcess,
  type TestSandbox,
} from '@garde/testing';

/**
 * The walking skeleton's promise, with every service in its own process on real NATS and PostgreSQL,
 * driven the way an operator drives it: bin/console and the HTTP API. The NATS server is the suite's
 * own, with one user per service and the permissions of `natsAuthorization`, as deployed: the flow
 * below is also the proof that those permissions are enough.
 */
/**
 * A valid grid definition: bot-service refuses a bot whose parameters are wrong. Both levels are below the
 * simulated price (60000): each RUNNING bot keeps one resting buy at 55000 at the venue.
 */
const GRID = { lower: '55000', upper: '58000', levels: 2, orderSize: '0.001' };
const TOKENS = {
  viewer: 'e2e-viewer-token-0001',
  operator: 'e2e-operator-token-0001',
  risk: 'e2e-risk-token-00001',
  admin: 'e2e-admin-token-00001',
} as const;
/** bot:create refuses a bot whose exchange has no account: both exchanges trade on a simulated venue. */
const EXCHANGES = ['binance', 'kraken'] as const;
const SIM_KEY = 'e2e-sim-key';
const SIM_SECRET = 'e2e-sim-secret';
/** The suite's own NATS user, with every permission, to look behind the services' backs. */
const OBSERVER = 'e2e-observer';
const OBSERVER_PASSWORD = randomBytes(12).toString('base64url');
const API_TOKENS = Object.entries(TOKENS)
  .map(([role, token]) => `e2e-${role}:${role}:${createHash('sha256').update(token).digest('hex')}`)
  .join(',');

interface Bot {
  id: string;
  state: string;
  exchangeId: string;
  stateReason: string;
}

describe('e2e: one kill switch stops everything', () => {
  let sandbox: TestSandbox;
  let nats: PrivateNatsServer;
  const services: ServiceProcess[] = [];
  let apiUrl: string;
  const passwords = Object.fromEntries(BUS_SERVICES.map((s) => [s, randomBytes(12).toString('base64url')])) as Record<BusService, string>;
  const serviceEnv = (name: string) => ({
    ...sandbox.env(),
    NATS_URL: nats.url,
    ...(name in passwords ? { NATS_PASSWORD: passwords[name as BusService] } : {}),
    GARDE_API_TOKENS: API_TOKENS,
  });

  /** No service was refused anything by the NATS server (its metric), nor anybody in `serverLog`. */
  const expectNoRefusal = async (serverLog: string) => {
    for (const s of services.filter((x) => x.name in passwords)) {
      const text = await (await fetch(`${s.url}/metrics`)).text();
      expect([s.name, text.match(/^garde_nats_permission_violations_total\{.*\} (\d+)$/m)?.[1]]).toEqual([s.name, '0']);
    }
    expect(serverLog).not.toMatch(/violation/i);
  };
  const consoleAs = (role: keyof typeof TOKENS, ...args: string[]) => runConsole(args, { GARDE_API_URL: apiUrl, GARDE_TOKEN: TOKENS[role] });
  const api = async (role: keyof typeof TOKENS, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKENS[role]}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> & { error?: { code: string; details?: Record<string, unknown> } } };
  };
  const bots = async (): Promise<Bot[]> => (JSON.parse((await consoleAs('viewer', 'bot:status', '--all', '--json')).stdout) as { bots: Bot[] }).bots;
  /** An operator's order (a buy below the price: it rests at the venue unless a kill switch refuses it). */
  const submit = (extra: Record<string, unknown> = {}) => api('operator', 'POST', '/api/v1/orders', testOrder({ price: '50000', ...extra }));

  beforeAll(async () => {
    sandbox = await createSandbox('e2e-ks');
    nats = await startNatsServer(natsAuthorization(busTopology(sandbox.namespace), passwords, { [OBSERVER]: OBSERVER_PASSWORD }));
    // The venues: one simulated exchange per exchange id (`npm run simulator`, configured through SIM_CONFIG).
    const ports = { binance: await freePort(), kraken: await freePort() };
    const simConfig = {
      venues: EXCHANGES.map((x) => ({
        id: `sim-${x}`,
        port: ports[x],
        tickIntervalMs: 0,
        accounts: [{ apiKey: SIM_KEY, secret: SIM_SECRET, balances: { USDT: '10000000', BTC: '100' } }],
      })),
      controlPort: await freePort(),
    };
    services.push(
      await startServiceProcess('exchange-simulator', { SIM_CONFIG: JSON.stringify(simConfig) }, ports.binance, 'e2e-ks', { readyPath: '/api/v3/ping' }),
    );
    for (const name of ['risk-service', 'bot-service', 'audit-service', 'exchange-gateway']) {
      services.push(await startServiceProcess(name, { ...serviceEnv(name), LOG_LEVEL: 'info' }, await freePort(), `e2e-ks`));
    }
    apiUrl = services.at(-1)!.url;
    for (const x of EXCHANGES) {
      const added = await runConsole(['exchange:account:add', `--id=paper-${x}`, `--exchange=${x}`, '--ccxt=binance', `--url=http://127.0.0.1:${ports[x]}`], {
        GARDE_API_URL: apiUrl,
        GARDE_TOKEN: TOKENS.admin,
        GARDE_EXCHANGE_API_KEY: SIM_KEY,
        GARDE_EXCHANGE_SECRET: SIM_SECRET,
      });
      expect([added.code, added.stderr]).toEqual([0, '']);
    }

    // 50 bots across two exchanges, RUNNING or PAUSED; a few created through the console.
    for (let i = 0; i < 50; i++) {
      const exchange = i % 2 ? 'kraken' : 'binance';
      const id = `e2e-bot-${String(i).padStart(2, '0')}`;
      if (i === 2) {
        // A bot defined in a YAML file, as an operator keeps them.
        const file = path.join(mkdtempSync(path.join(tmpdir(), 'garde-e2e-')), 'bot.yaml');
        writeFileSync(
          file,
          `id: ${id}\nname: E2E ${i}\nstrategy: grid\nexchange: ${exchange}\nsymbol: BTC/USDT\nparameters:\n${Object.entries(GRID)
            .map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`)
            .join('\n')}\n`,
        );
        expect((await consoleAs('operator', 'bot:create', `--file=${file}`, '--json')).code).toBe(0);
      } else if (i < 3) {
        const created = await consoleAs(
          'operator',
          'bot:create',
          `--id=${id}`,
          `--name=E2E ${i}`,
          '--strategy=grid',
          `--exchange=${exchange}`,
          '--symbol=BTC/USDT',
          `--params=${JSON.stringify(GRID)}`,
          '--json',
        );
        expect(created.code).toBe(0);
      } else {
        expect(
          (
            await api('operator', 'POST', '/api/v1/bots', {
              id,
              name: `E2E ${i}`,
              strategy: 'grid',
              exchangeId: exchange,
              symbol: 'BTC/USDT',
              parameters: GRID,
            })
          ).status,
        ).toBe(201);
      }
      if (i < 3) {
        // As an operator starts a bot just created: no reason asked (the actor is recorded).
        const started = await consoleAs('operator', 'bot:start', id, '--json');
        expect([started.code, (JSON.parse(started.stdout) as Bot).stateReason]).toEqual([0, 'started (no reason given)']);
      } else {
        expect((await api('operator', 'POST', `/api/v1/bots/${id}/start`, { reason: 'e2e start' })).status).toBe(200);
      }
      if (i % 5 === 0) expect((await api('operator', 'POST', `/api/v1/bots/${id}/pause`, { reason: 'e2e pause' })).status).toBe(200);
    }
    // Orders pass the gate before any activation, and reach the venue.
    expect(
      (
        await until(
          () => submit(),
          (r) => r.status === 201,
        )
      ).status,
    ).toBe(201);
  }, 120_000);

  afterAll(async () => {
    for (const s of services.reverse()) await s.stop();
    await nats?.stop();
    await sandbox?.dispose();
  });

  it('50 bots, two exchanges: a global activation halts every bot (persisted), refuses orders, and is in a verified audit trail', async () => {
    const before = await bots();
    expect(before).toHaveLength(50);
    expect(new Set(before.map((b) => b.state))).toEqual(new Set(['RUNNING', 'PAUSED']));

    const activation = await consoleAs('operator', 'risk:kill-switch:activate', '--global', '--reason=e2e: anomaly on the fleet');
    expect(activation.stderr).toBe('');
    expect(activation.code).toBe(0);
    expect(activation.stdout).toContain('Kill switch global: ACTIVE -> HALTED');

    const halted = await until(bots, (bs) => bs.every((b) => b.state === 'HALTED'));
    expect(halted.map((b) => b.state)).toEqual(Array(50).fill('HALTED'));
    expect(halted[0]!.stateReason).toContain('e2e: anomaly on the fleet');
    const persisted = await sandbox.sql<{ state: string; n: string }>('SELECT state, count(*) AS n FROM bots.bot GROUP BY state');
    expect(persisted).toEqual([{ state: 'HALTED', n: '50' }]);

    const refused = await submit({ botId: 'e2e-bot-07' });
    expect(refused.status).toBe(423);
    expect(refused.body.error).toMatchObject({
      code: 'KILL_SWITCH_ACTIVE',
      details: { scope: 'global', reason: 'e2e: anomaly on the fleet', actor: 'e2e-operator' },
    });

    const metrics = async (service: string) => (await fetch(`${services.find((s) => s.name === service)!.url}/metrics`)).text();
    expect(await metrics('bot-service')).toMatch(/^garde_bot_bots\{state="HALTED",service="bot-service"\} 50$/m);
    expect(await metrics('exchange-gateway')).toMatch(
      /^garde_gateway_orders_total\{exchange="not-routed",result="KILL_SWITCH_ACTIVE",service="exchange-gateway"\} [1-9]/m,
    );
    expect(await metrics('risk-service')).toMatch(/^garde_risk_kill_switch_global_halted\{service="risk-service"\} 1$/m);

    const status = JSON.parse((await consoleAs('viewer', 'risk:kill-switch:status', '--json')).stdout) as { scopes: Array<Record<string, unknown>> };
    expect(status.scopes[0]).toMatchObject({ scope: 'global', state: 'HALTED', reason: 'e2e: anomaly on the fleet', actor: 'e2e-operator' });
    expect(new Date(String(status.scopes[0]!.since)).toISOString()).toBe(status.scopes[0]!.since);

    const trail = await until(
      () => api('viewer', 'GET', `/api/v1/audit/events?type=${KillSwitchActivatedEvt.type}`),
      (r) => ((r.body.events as unknown[]) ?? []).length > 0,
    );
    const event = (trail.body.events as Array<{ event: { actor: { id: string }; payload: { current: { reason: string } } } }>)[0]!.event;
    expect(event.actor.id).toBe('e2e-operator');
    expect(event.payload.current.reason).toBe('e2e: anomaly on the fleet');

    // Every bot's HALT is in the trail too, then the chain verifies.
    await until(
      () => api('viewer', 'GET', `/api/v1/audit/events?type=${BotStateChangedEvt.type}&limit=1000`),
      (r) => ((r.body.events as Array<{ event: { payload: { to: string } } }>) ?? []).filter((e) => e.event.payload.to === 'HALTED').length === 50,
    );
    const verify = await consoleAs('viewer', 'audit:verify');
    expect(verify.stdout).toContain('Audit chain valid');
    expect(verify.code).toBe(0);
  });

  it('deactivation needs the risk role; afterwards orders pass the gate again and bots stay HALTED until resumed', async () => {
    const byOperator = await consoleAs('operator', 'risk:kill-switch:deactivate', '--global', '--reason=all clear');
    expect(byOperator.code).toBe(1);
    expect(byOperator.stderr).toContain('FORBIDDEN');

    const byRisk = await consoleAs('risk', 'risk:kill-switch:deactivate', '--global', '--reason=e2e: incident closed');
    expect(byRisk.code).toBe(0);
    expect(
      (
        await until(
          () => submit(),
          (r) => r.status === 201,
        )
      ).status,
    ).toBe(201);

    await new Promise((r) => setTimeout(r, 300));
    expect((await bots()).every((b) => b.state === 'HALTED')).toBe(true);
    const resumed = await consoleAs('operator', 'bot:resume', 'e2e-bot-01', '--reason=checked, restart', '--json');
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ id: 'e2e-bot-01', state: 'RUNNING' });
  });

  it('an exchange scope halts only that exchange; a bot scope only that bot', async () => {
    for (const id of ['e2e-bot-02', 'e2e-bot-03', 'e2e-bot-04']) expect((await consoleAs('operator', 'bot:resume', id, '--reason=e2e')).code).toBe(0);
    // Running now: 01 (kraken), 02 (binance), 03 (kraken), 04 (binance).
    expect((await consoleAs('operator', 'risk:kill-switch:activate', '--exchange=kraken', '--reason=kraken degraded')).code).toBe(0);
    const afterExchange = await until(bots, (bs) => bs.filter((b) => ['e2e-bot-01', 'e2e-bot-03'].includes(b.id)).every((b) => b.state === 'HALTED'));
    const state = (bs: Bot[], id: string) => bs.find((b) => b.id === id)?.state;
    expect([state(afterExchange, 'e2e-bot-01'), state(afterExchange, 'e2e-bot-03')]).toEqual(['HALTED', 'HALTED']);
    expect([state(afterExchange, 'e2e-bot-02'), state(afterExchange, 'e2e-bot-04')]).toEqual(['RUNNING', 'RUNNING']);
    expect((await submit({ exchangeId: 'kraken' })).body.error?.code).toBe('KILL_SWITCH_ACTIVE');
    expect((await submit({ exchangeId: 'binance' })).status).toBe(201);

    expect((await consoleAs('operator', 'risk:kill-switch:activate', '--bot=e2e-bot-02', '--reason=bot 02 misbehaves')).code).toBe(0);
    const afterBot = await until(bots, (bs) => state(bs, 'e2e-bot-02') === 'HALTED');
    expect([state(afterBot, 'e2e-bot-02'), state(afterBot, 'e2e-bot-04')]).toEqual(['HALTED', 'RUNNING']);
    expect((await submit({ botId: 'e2e-bot-02' })).body.error?.details).toMatchObject({ scope: 'bot:e2e-bot-02' });
    expect((await submit({ botId: 'e2e-bot-04' })).status).toBe(201);
  });

  it('a gateway restarted while HALTED still refuses; invalid commands write nothing', async () => {
    const gateway = services.pop()!;
    await gateway.stop('SIGKILL');
    const port = Number(new URL(gateway.url).port);
    services.push(await startServiceProcess('exchange-gateway', serviceEnv('exchange-gateway'), port, 'e2e-ks-restart'));
    expect((await submit({ exchangeId: 'kraken' })).body.error).toMatchObject({ code: 'KILL_SWITCH_ACTIVE', details: { scope: 'exchange:kraken' } });

    const changes = await sandbox.sql('SELECT * FROM risk.kill_switch_change');
    expect((await consoleAs('operator', 'risk:kill-switch:activate', '--global')).code).toBe(2);
    expect((await consoleAs('operator', 'risk:kill-switch:activate', '--exchange=has space', '--reason=bad id')).code).toBe(2);
    expect((await consoleAs('viewer', 'risk:kill-switch:activate', '--global', '--reason=viewer tries')).code).toBe(1);
    const unknownBot = await consoleAs('operator', 'bot:pause', 'no-such-bot', '--reason=test');
    expect(unknownBot.code).toBe(1);
    expect(unknownBot.stderr).toContain('NOT_FOUND');
    expect(await sandbox.sql('SELECT * FROM risk.kill_switch_change')).toHaveLength(changes.length);
    expect((await runConsole(['risk:kill-switch:status'], { GARDE_API_URL: apiUrl })).code).toBe(1);
  });

  it('audit:verify fails and names the row when one byte of the trail is changed behind the service', async () => {
    const [row] = await sandbox.sql<{ sequence: string }>('SELECT sequence FROM audit.audit_event WHERE type = $1 ORDER BY sequence LIMIT 1', [
      KillSwitchActivatedEvt.type,
    ]);
    await sandbox.sql('ALTER TABLE audit.audit_event DISABLE TRIGGER USER');
    await sandbox.sql("UPDATE audit.audit_event SET canonical = replace(canonical, 'e2e: anomaly', 'e2e: anomalx') WHERE sequence = $1", [row!.sequence]);
    await sandbox.sql('ALTER TABLE audit.audit_event ENABLE TRIGGER USER');
    const verify = await consoleAs('viewer', 'audit:verify');
    expect(verify.code).toBe(1);
    expect(verify.stdout).toContain(`Audit chain BROKEN at sequence ${row!.sequence}`);
  });

  it('on the bus each service holds only its own permissions: no other may write the kill switch, answer its checks or edit the trail', async () => {
    // The flow above ran without one refusal: the permissions are enough.
    await expectNoRefusal(nats.log());

    const topology = busTopology(sandbox.namespace);
    const as = (service: BusService) =>
      connect({
        servers: nats.url,
        user: busIdentity(topology, service).user,
        pass: passwords[service],
        inboxPrefix: busIdentity(topology, service).inboxPrefix,
      });
    const refusals = (nc: NatsConnection) => {
      const seen: string[] = [];
      void (async () => {
        for await (const st of nc.status()) if (st.type === 'error') seen.push(String(st.error.message));
      })();
      return seen;
    };
    const [bot, gateway, risk, observer] = await Promise.all([
      as('bot-service'),
      as('exchange-gateway'),
      as('risk-service'),
      connect({ servers: nats.url, user: OBSERVER, pass: OBSERVER_PASSWORD }),
    ]);
    try {
      const botRefusals = refusals(bot);
      const gatewayRefusals = refusals(gateway);
      const switchSubject = topology.subject(KillSwitchActivatedEvt);
      const forged = risk.subscribe(switchSubject, { max: 1 });

      // bot-service: a forged kill-switch event reaches nobody; the bucket and the checks are not its own.
      bot.publish(switchSubject, '{"forged":true}');
      const botKv = await new Kvm(bot).open(topology.killSwitchBucket);
      await expect(botKv.put('global', '{"state":"ACTIVE"}')).rejects.toThrow(/permissions violation/i);
      bot.subscribe(topology.subject(OrderCheckQry), { queue: topology.queueGroup('risk-service') });
      await bot.flush();
      await until(
        () => Promise.resolve(botRefusals.length),
        (n) => n >= 3,
      );
      expect(botRefusals.join('\n')).toMatch(new RegExp(`Publish to "${switchSubject.replace(/\./g, '\\.')}"`));
      expect(botRefusals.join('\n')).toMatch(/Subscription to ".*risk\.qry\.order\.check"/);

      // The gateway cannot purge the audit stream, nor delete the audit-service's consumer.
      const jsm = await jetstreamManager(gateway);
      await expect(jsm.streams.purge(topology.auditStream)).rejects.toThrow(/violation|timeout/i);
      await expect(jsm.consumers.delete(topology.auditStream, topology.auditConsumer)).rejects.toThrow(/violation|timeout/i);
      expect((await (await jetstreamManager(observer)).consumers.info(topology.auditStream, topology.auditConsumer)).name).toBe(topology.auditConsumer);
      // Nor may risk-service, which reads the stream through a consumer of its own.
      await expect((await jetstreamManager(risk)).consumers.info(topology.auditStream, topology.auditConsumer)).rejects.toThrow(/violation/i);
      expect(gatewayRefusals.join('\n')).toMatch(/Publish to "\$JS\.API\.STREAM\.PURGE\./);

      // risk-service may write its bucket (what it does on every change), and nobody received the forgery.
      const riskKv = await new Kvm(risk).open(topology.killSwitchBucket);
      const current = await riskKv.get('global');
      expect(await riskKv.put('global', current!.string())).toBeGreaterThan(current!.revision);
      await risk.flush();
      expect(forged.getProcessed()).toBe(0);
    } finally {
      await Promise.all([bot.close(), gateway.close(), risk.close(), observer.close()]);
    }
  });

  it('NATS restarted: every service reconnects as its own user, and a kill switch still halts and refuses', async () => {
    await nats.restart();
    for (const s of services)
      await until(
        () => fetch(`${s.url}${s.name === 'exchange-simulator' ? '/api/v3/ping' : '/health/ready'}`),
        (r) => r.ok,
        15_000,
        100,
      );
    const activated = await consoleAs('operator', 'risk:kill-switch:activate', '--bot=e2e-bot-04', '--reason=after a NATS restart');
    expect([activated.code, activated.stderr]).toEqual([0, '']);
    await until(bots, (bs) => bs.find((b) => b.id === 'e2e-bot-04')?.state === 'HALTED');
    const refused = await until(
      () => submit({ botId: 'e2e-bot-04' }),
      (r) => r.body.error?.code === 'KILL_SWITCH_ACTIVE',
    );
    expect(refused.body.error?.details).toMatchObject({ scope: 'bot:e2e-bot-04' });
    // Re-subscribed, consumers recreated (the old ones deleted where nats.js does): nothing refused.
    await expectNoRefusal(nats.log());
  });

  it('a service whose NATS password is wrong does not start, and says whose credentials NATS refused', async () => {
    const started = startServiceProcess(
      'risk-service',
      { ...serviceEnv('risk-service'), NATS_PASSWORD: 'not-the-password' },
      await freePort(),
      'e2e-ks-bad-password',
    );
    await expect(started).rejects.toThrow(/exited with 1 during start-up/);
    const log = readFileSync(path.join(REPO_ROOT, '.garde', 'test-logs', 'e2e-ks-bad-password-risk-service.log'), 'utf8');
    expect(log).toContain(`refused the credentials of user \\"${busIdentity(busTopology(sandbox.namespace), 'risk-service').user}\\"`);
    expect(log).not.toContain('not-the-password');
  });
});
