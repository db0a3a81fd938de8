import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Kvm } from '@nats-io/kv';
import {
  KillSwitchActivateCmd,
  KillSwitchDeactivateCmd,
  KillSwitchStatusQry,
  OrderCheckQry,
  ScopeState,
  TickerUpdatedMd,
  killSwitchKey,
  tickerKey,
  type Actor,
} from '@garde/contracts';
import pg from 'pg';
import { JsonLogger, KillSwitchWatcher, type RunningService } from '@garde/platform';
import { createSandbox, startTcpProxy, testOrder, until, type TcpProxy, type TestSandbox } from '@garde/testing';
import { startRiskService } from '../src/app.js';

const operator: Actor = { id: 'alice', kind: 'operator', role: 'operator' };
const riskOfficer: Actor = { id: 'rita', kind: 'operator', role: 'risk' };
const viewer: Actor = { id: 'victor', kind: 'operator', role: 'viewer' };

describe('risk-service kill switch', () => {
  let sandbox: TestSandbox;
  let risk: RunningService;

  beforeAll(async () => {
    sandbox = await createSandbox('risk-ks');
    risk = await startRiskService(sandbox.env());
  });
  afterAll(async () => {
    await risk?.close();
    await sandbox?.dispose();
  });

  const bus = () => risk.runtime.bus;

  it('activates a scope: PostgreSQL, then the KV bucket, then the reply', async () => {
    const reply = await bus().request(KillSwitchActivateCmd, { scope: 'exchange:binance', reason: 'venue acting up' }, { actor: operator });
    expect(reply).toMatchObject({
      ok: true,
      result: { changed: true, previousState: 'ACTIVE', current: { scope: 'exchange:binance', state: 'HALTED', reason: 'venue acting up', actor: operator } },
    });

    const rows = await sandbox.sql<{ state: string; version: number }>('SELECT state, version FROM risk.kill_switch_scope WHERE scope = $1', [
      'exchange:binance',
    ]);
    expect(rows).toEqual([{ state: 'HALTED', version: 1 }]);
    const kv = await new Kvm(risk.runtime.nc).open(bus().topology.killSwitchBucket);
    const entry = await kv.get(killSwitchKey('exchange:binance'));
    expect(ScopeState.parse(entry?.json())).toMatchObject({ state: 'HALTED', version: 1 });
  });

  it('lists every scope with global first, ACTIVE when never set', async () => {
    const reply = await bus().request(KillSwitchStatusQry, {}, { actor: viewer });
    expect(reply.ok && reply.result.scopes.map((s) => [s.scope, s.state])).toEqual([
      ['global', 'ACTIVE'],
      ['exchange:binance', 'HALTED'],
    ]);
  });

  it('refuses a viewer, and an operator who deactivates; lets the risk role deactivate', async () => {
    const byViewer = await bus().request(KillSwitchActivateCmd, { scope: 'global', reason: 'testing roles' }, { actor: viewer });
    expect(byViewer).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    const byOperator = await bus().request(KillSwitchDeactivateCmd, { scope: 'exchange:binance', reason: 'all good' }, { actor: operator });
    expect(byOperator).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    const byRisk = await bus().request(KillSwitchDeactivateCmd, { scope: 'exchange:binance', reason: 'all good' }, { actor: riskOfficer });
    expect(byRisk).toMatchObject({ ok: true, result: { changed: true, previousState: 'HALTED', current: { state: 'ACTIVE', version: 2 } } });
    const history = await sandbox.sql<{ from_state: string; to_state: string }>(
      'SELECT from_state, to_state FROM risk.kill_switch_change WHERE scope = $1 ORDER BY version',
      ['exchange:binance'],
    );
    expect(history).toEqual([
      { from_state: 'ACTIVE', to_state: 'HALTED' },
      { from_state: 'HALTED', to_state: 'ACTIVE' },
    ]);
  });

  it('answers CONTRACT_VIOLATION to a request without reason and writes nothing', async () => {
    const before = await sandbox.sql('SELECT * FROM risk.kill_switch_change');
    const reply = await risk.runtime.nc.request(
      bus().topology.subject(KillSwitchActivateCmd),
      new TextEncoder().encode(JSON.stringify(bus().envelope(KillSwitchActivateCmd.type, 1, { scope: 'global' }, { actor: operator }))),
      { timeout: 2000 },
    );
    expect(JSON.parse(new TextDecoder().decode(reply.data))).toMatchObject({
      ok: false,
      error: { code: 'CONTRACT_VIOLATION', message: expect.stringContaining('reason') },
    });
    expect(await sandbox.sql('SELECT * FROM risk.kill_switch_change')).toHaveLength(before.length);
  });

  it('serves its state as metrics, right in every replica whichever applied the change', async () => {
    const replica = await startRiskService(sandbox.env());
    try {
      const reply = await replica.runtime.bus.request(KillSwitchActivateCmd, { scope: 'global', reason: 'metrics check' }, { actor: operator });
      expect(reply.ok).toBe(true);
      for (const service of [risk, replica]) {
        const text = await (await fetch(`${service.url}/metrics`)).text();
        expect(text).toMatch(/^garde_risk_kill_switch_global_halted\{service="risk-service"\} 1$/m);
        expect(text).toMatch(/^garde_risk_kill_switch_scopes\{state="HALTED",service="risk-service"\} 1$/m); // global; exchange:binance is ACTIVE again
      }
      await replica.runtime.bus.request(KillSwitchDeactivateCmd, { scope: 'global', reason: 'metrics check done' }, { actor: riskOfficer });
      expect(await (await fetch(`${risk.url}/metrics`)).text()).toMatch(/^garde_risk_kill_switch_global_halted\{service="risk-service"\} 0$/m);
    } finally {
      await replica.close();
    }
  });

  it('answers the pre-trade check from the kill-switch state: HALTED and REDUCING deny with the scope', async () => {
    // The gateway's ticker for the market, as it broadcasts them (no gateway in this suite).
    const ticker = (exchangeId: string) =>
      bus().broadcast(
        TickerUpdatedMd,
        {
          exchangeId,
          symbol: 'BTC/USDT',
          bid: '64999',
          ask: '65001',
          last: '65000',
          tickSize: '0.01',
          stepSize: '0.00001',
          venueTime: null,
          receivedAt: new Date().toISOString(),
        },
        tickerKey(exchangeId, 'BTC/USDT'),
      );
    const check = async (extra: Record<string, unknown> = {}) => {
      ticker(typeof extra.exchangeId === 'string' ? extra.exchangeId : 'binance');
      await new Promise((r) => setTimeout(r, 20));
      const reply = await bus().request(OrderCheckQry, testOrder({ price: '64000', ...extra }));
      if (!reply.ok) throw new Error(reply.error.message);
      return reply.result;
    };
    expect(
      await until(
        () => check({ exchangeId: 'okx' }),
        (d) => d.decision === 'APPROVED',
      ),
    ).toEqual({ decision: 'APPROVED' });
    await bus().request(KillSwitchActivateCmd, { scope: 'exchange:okx', reason: 'okx maintenance', state: 'REDUCING' }, { actor: operator });
    const reducing = await until(
      () => check({ exchangeId: 'okx' }),
      (d) => d.decision === 'DENIED',
    );
    expect(reducing).toMatchObject({ decision: 'DENIED', reason: 'KILL_SWITCH_REDUCING', scope: 'exchange:okx' });
    // The sender's word is not enough: with no position from fills, nothing reduces.
    expect(await check({ exchangeId: 'okx', side: 'sell', reduceOnly: true })).toMatchObject({ decision: 'DENIED', reason: 'KILL_SWITCH_REDUCING' });
    await bus().request(KillSwitchActivateCmd, { scope: 'bot:b-9', reason: 'runaway' }, { actor: operator });
    expect(
      await until(
        () => check({ botId: 'b-9' }),
        (d) => d.decision === 'DENIED',
      ),
    ).toMatchObject({ reason: 'KILL_SWITCH_HALTED', scope: 'bot:b-9', message: expect.stringContaining('runaway') });
    expect(await (await fetch(`${risk.url}/metrics`)).text()).toMatch(
      /^garde_risk_order_checks_total\{decision="DENIED",reason="KILL_SWITCH_HALTED",service="risk-service"\} [1-9]/m,
    );
  });

  it('re-publishes to the KV bucket on start a state the bucket lost', async () => {
    await bus().request(KillSwitchActivateCmd, { scope: 'bot:b-7', reason: 'runaway' }, { actor: operator });
    const kv = await new Kvm(risk.runtime.nc).open(bus().topology.killSwitchBucket);
    await kv.purge(killSwitchKey('bot:b-7'));
    await risk.close();
    risk = await startRiskService(sandbox.env());
    const kv2 = await new Kvm(risk.runtime.nc).open(bus().topology.killSwitchBucket);
    const entry = await kv2.get(killSwitchKey('bot:b-7'));
    expect(entry?.operation).toBe('PUT');
    expect(ScopeState.parse(entry?.json())).toMatchObject({ scope: 'bot:b-7', state: 'HALTED' });
  });

  it('announces an activation before PostgreSQL has it: a kill-switch view refuses while the commit waits', async () => {
    const view = new KillSwitchWatcher(risk.runtime.nc, bus().topology, new JsonLogger('test', 'error').child('kill-switch'), { announcements: true });
    await view.start();
    const db = new pg.Client({ connectionString: sandbox.databaseUrl });
    await db.connect();
    try {
      // The table locked: risk-service's change waits for it, as it would for a slow commit.
      await db.query('BEGIN');
      await db.query('LOCK TABLE risk.kill_switch_scope IN EXCLUSIVE MODE');
      const reply = bus().request(KillSwitchActivateCmd, { scope: 'bot:held-1', reason: 'commit held' }, { actor: operator });
      const target = { exchangeId: 'binance', botId: 'held-1' };
      const enforced = await until(
        () => Promise.resolve(view.effective(target)),
        (e) => e.state === 'HALTED',
        5000,
        5,
      );
      expect(enforced.imposedBy).toMatchObject({ scope: 'bot:held-1', reason: 'commit held', actor: operator });
      expect(view.get('bot:held-1')).toBeUndefined();
      await db.query('COMMIT');
      expect(await reply).toMatchObject({ ok: true, result: { changed: true, current: { state: 'HALTED', version: 1 } } });
      // Recorded: the bucket's write takes over from the announcement.
      expect(
        await until(
          () => Promise.resolve(view.get('bot:held-1')),
          (s) => s !== undefined,
          5000,
          5,
        ),
      ).toMatchObject({ state: 'HALTED', version: 1 });
      expect(view.effective(target).state).toBe('HALTED');
    } finally {
      await db.query('ROLLBACK').catch(() => undefined);
      await db.end();
      await view.stop();
    }
  });
});

/** The emergency stop must not depend on the database: risk-service behind a proxy whose link to PostgreSQL is cut. */
describe('risk-service kill switch while PostgreSQL is unreachable', () => {
  let sandbox: TestSandbox;
  let proxy: TcpProxy;
  let risk: RunningService;

  beforeAll(async () => {
    sandbox = await createSandbox('risk-ks-nodb');
    const db = new URL(sandbox.databaseUrl);
    proxy = await startTcpProxy({ host: db.hostname, port: Number(db.port || 5432) });
    db.port = String(proxy.port);
    risk = await startRiskService(sandbox.env({ DATABASE_URL: db.toString() }));
  });
  afterAll(async () => {
    proxy?.restore();
    await risk?.close();
    await proxy?.close();
    await sandbox?.dispose();
  });

  const bus = () => risk.runtime.bus;
  const inBucket = async (scope: string) => {
    const entry = await (await new Kvm(risk.runtime.nc).open(bus().topology.killSwitchBucket)).get(killSwitchKey(scope));
    return entry ? ScopeState.parse(entry.json()) : undefined;
  };
  const metric = async (name: string) =>
    Number(new RegExp(`^${name}\\{service="risk-service"\\} (\\S+)$`, 'm').exec(await (await fetch(`${risk.url}/metrics`)).text())?.[1]);
  const recorded = (scope: string) =>
    sandbox.sql<{ state: string; version: number }>('SELECT state, version FROM risk.kill_switch_scope WHERE scope = $1', [scope]);

  it('activates from the KV bucket, says it is unrecorded, refuses to deactivate, and records it once the database is back', async () => {
    // bot:b-1 halted and resumed while the database answers: versions 1 and 2, in both.
    await bus().request(KillSwitchActivateCmd, { scope: 'bot:b-1', reason: 'first halt' }, { actor: operator });
    await bus().request(KillSwitchDeactivateCmd, { scope: 'bot:b-1', reason: 'all good' }, { actor: riskOfficer });

    proxy.cut();
    const global = await bus().request(KillSwitchActivateCmd, { scope: 'global', reason: 'database down, stop everything' }, { actor: operator });
    expect(global).toMatchObject({
      ok: true,
      result: {
        changed: true,
        previousState: 'ACTIVE',
        current: { scope: 'global', state: 'HALTED', reason: 'database down, stop everything', actor: operator, version: 1 },
        unrecorded: expect.stringMatching(/^risk-service could not reach its database \(.+\): the activation is in force, and recorded there once it is back$/),
      },
    });
    const bot = await bus().request(KillSwitchActivateCmd, { scope: 'bot:b-1', reason: 'second halt' }, { actor: operator });
    expect(bot).toMatchObject({ ok: true, result: { changed: true, previousState: 'ACTIVE', current: { state: 'HALTED', version: 3 } } });
    // What the gateway and the bots act on has it; the status says where it comes from.
    expect(await inBucket('global')).toMatchObject({ state: 'HALTED', version: 1 });
    const status = await bus().request(KillSwitchStatusQry, {}, { actor: viewer });
    expect(status).toMatchObject({
      ok: true,
      result: {
        note: expect.stringContaining('these are the states in force in the KV bucket'),
        scopes: [
          { scope: 'global', state: 'HALTED' },
          { scope: 'bot:b-1', state: 'HALTED' },
        ],
      },
    });
    // Its metrics say so, from the bucket: the global scope halted, two activations not recorded yet.
    expect(await metric('garde_risk_kill_switch_global_halted')).toBe(1);
    expect(await metric('garde_risk_kill_switch_unrecorded_changes')).toBe(2);
    // Still ready (NATS answers): a database outage does not take the kill switch away; reported degraded.
    const health = await fetch(`${risk.url}/health/ready`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'degraded', checks: { nats: 'ok', database: expect.stringMatching(/^down: /) } });
    // Never a deactivation without its record.
    const deactivate = await bus().request(KillSwitchDeactivateCmd, { scope: 'global', reason: 'too early' }, { actor: riskOfficer });
    expect(deactivate).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE', message: expect.stringContaining('cannot reach what it depends on') } });
    expect(await inBucket('global')).toMatchObject({ state: 'HALTED', version: 1 });

    proxy.restore();
    expect(
      await until(
        () => recorded('global'),
        (rows) => rows.length === 1,
        15_000,
      ),
    ).toEqual([{ state: 'HALTED', version: 1 }]);
    expect(
      await until(
        () => recorded('bot:b-1'),
        (rows) => rows[0]?.version === 3,
        15_000,
      ),
    ).toEqual([{ state: 'HALTED', version: 3 }]);
    const history = await sandbox.sql<{ from_state: string; to_state: string; reason: string; correlation_id: string }>(
      "SELECT from_state, to_state, reason, correlation_id FROM risk.kill_switch_change WHERE scope = 'global' ORDER BY version",
    );
    expect(history).toEqual([{ from_state: 'ACTIVE', to_state: 'HALTED', reason: 'database down, stop everything', correlation_id: 'kill-switch:global:v1' }]);
    expect(
      await until(
        () => metric('garde_risk_kill_switch_unrecorded_changes'),
        (n) => n === 0,
        10_000,
      ),
    ).toBe(0);
    const after = await bus().request(KillSwitchStatusQry, {}, { actor: viewer });
    expect(after.ok && after.result.note).toBeUndefined();
    const back = await bus().request(KillSwitchDeactivateCmd, { scope: 'global', reason: 'database back, cause known' }, { actor: riskOfficer });
    expect(back).toMatchObject({ ok: true, result: { changed: true, previousState: 'HALTED', current: { state: 'ACTIVE', version: 2 } } });
  });
});
