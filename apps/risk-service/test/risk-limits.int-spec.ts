import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import {
  OrderCheckQry,
  RiskLimitsChangedEvt,
  RiskLimitsSetCmd,
  RiskLimitsShowQry,
  RiskLimitsVersion,
  TickerUpdatedMd,
  riskLimitsKey,
  tickerKey,
  type Actor,
  type Envelope,
  type OrderCheckDecision,
  type RiskLimitsChange,
} from '@garde/contracts';
import { JsonLogger, type RunningService } from '@garde/platform';
import { createSandbox, startTcpProxy, testOrder, until, type TestSandbox } from '@garde/testing';
import { startRiskService } from '../src/app.js';
import { DEFAULT_FIRM_LIMITS } from '../src/persistence/migrations/1765200000000-risk-limits.js';
import { ExposureFeed } from '../src/state/exposure-feed.js';
import { RiskLimitsView } from '../src/state/risk-limits-view.js';
import { RiskLimitsBucket } from '../src/state/risk-limits.bucket.js';

const riskOfficer: Actor = { id: 'rita', kind: 'operator', role: 'risk' };
const admin: Actor = { id: 'adam', kind: 'operator', role: 'admin' };
const operator: Actor = { id: 'alice', kind: 'operator', role: 'operator' };

/** The limits themselves: versioned in PostgreSQL, published through the KV bucket to every replica, audited. */
describe('risk-service limits', () => {
  let sandbox: TestSandbox;
  let risk: RunningService;
  const bus = () => risk.runtime.bus;

  beforeAll(async () => {
    sandbox = await createSandbox('risk-limits');
    risk = await startRiskService(sandbox.env());
  });
  afterAll(async () => {
    await risk?.close();
    await sandbox?.dispose();
  });

  /** Every event of a type in the AUDIT stream, oldest first. */
  const auditEvents = async (type: string): Promise<Envelope[]> => {
    const topology = bus().topology;
    const filter = `${topology.namespace}.${type}`;
    const consumer = await jetstream(risk.runtime.nc).consumers.get(topology.auditStream, { filter_subjects: filter });
    const found: Envelope[] = [];
    for (;;) {
      const msg = await consumer.next({ expires: 1000 });
      if (!msg) break;
      found.push(msg.json<Envelope>());
      if (msg.info.pending === 0) break;
    }
    return found;
  };

  /** A fresh BTC/USDT price on binance, as the gateway publishes it: the reference of the next checks. */
  const publishBtcTicker = () =>
    bus().broadcast(
      TickerUpdatedMd,
      {
        exchangeId: 'binance',
        symbol: 'BTC/USDT',
        bid: '65000',
        ask: '65000',
        last: '65000',
        tickSize: '0.01',
        stepSize: '0.00001',
        venueTime: null,
        receivedAt: new Date().toISOString(),
      },
      tickerKey('binance', 'BTC/USDT'),
    );

  const set = (scope: string, changes: Record<string, unknown>, actor: Actor = riskOfficer, reason = 'limits test') =>
    bus().request(RiskLimitsSetCmd, { scope, changes, reason }, { actor });

  it("seeds the firm's defaults as version 1, in PostgreSQL and in the KV bucket every replica reads", async () => {
    const rows = await sandbox.sql<{ scope: string; version: number; limits: unknown; actor: Actor }>(
      'SELECT scope, version, limits, actor FROM risk.risk_limit_version',
    );
    expect(rows).toEqual([{ scope: 'firm', version: 1, limits: DEFAULT_FIRM_LIMITS, actor: { id: 'risk-limits-migration', kind: 'system' } }]);
    const kv = await new Kvm(risk.runtime.nc).open(bus().topology.riskLimitsBucket);
    expect(RiskLimitsVersion.parse((await kv.get(riskLimitsKey('firm')))?.json())).toMatchObject({ scope: 'firm', version: 1, limits: DEFAULT_FIRM_LIMITS });
  });

  it('only the risk or admin role changes limits; every change is a new version with actor, reason and time, never an update', async () => {
    expect(await set('firm', { maxOrderNotional: '1000' }, operator)).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await set('firm', { maxOrderNotional: '1000' }, { id: 'bot-engine', kind: 'system' })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });

    const first = await set('firm', { maxOrderNotional: '1000' }, riskOfficer, 'tighter for the drill');
    expect(first).toMatchObject({
      ok: true,
      result: {
        previous: { version: 1, limits: { maxOrderNotional: '25000' } },
        current: {
          scope: 'firm',
          version: 2,
          actor: riskOfficer,
          reason: 'tighter for the drill',
          limits: { ...DEFAULT_FIRM_LIMITS, maxOrderNotional: '1000' },
        },
      },
    });
    const second = await set('firm', { maxOrderNotional: '25000', maxOrderQuantity: '5' }, admin, 'drill over');
    expect(second).toMatchObject({ ok: true, result: { current: { version: 3, actor: admin, limits: { maxOrderNotional: '25000', maxOrderQuantity: '5' } } } });

    const versions = await sandbox.sql<{ version: number; reason: string }>(
      "SELECT version, reason FROM risk.risk_limit_version WHERE scope = 'firm' ORDER BY version",
    );
    expect(versions.map((v) => v.version)).toEqual([1, 2, 3]);
    await expect(sandbox.sql("UPDATE risk.risk_limit_version SET reason = 'rewritten' WHERE scope = 'firm'")).rejects.toThrow(/append-only/);
    await expect(sandbox.sql("DELETE FROM risk.risk_limit_version WHERE scope = 'firm'")).rejects.toThrow(/append-only/);

    // Each change is in the audit trail, with who and why, before and after.
    const changes = await auditEvents(RiskLimitsChangedEvt.type);
    expect(changes.map((e) => [e.actor?.id, (e.payload as RiskLimitsChange).current.version, (e.payload as RiskLimitsChange).previous?.version])).toEqual([
      ['rita', 2, 1],
      ['adam', 3, 2],
    ]);

    const shown = await bus().request(RiskLimitsShowQry, { scope: 'firm', history: true });
    expect(shown.ok && shown.result.history?.map((v) => [v.version, v.actor.id])).toEqual([
      [3, 'adam'],
      [2, 'rita'],
      [1, 'risk-limits-migration'],
    ]);
  });

  it('refuses limits a scope may not hold, naming each problem, and writes nothing', async () => {
    const before = await sandbox.sql('SELECT * FROM risk.risk_limit_version');
    expect(await set('instrument:binance:BTC/USDT', { maxMessagesPerSecond: 5 })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_REQUEST', message: expect.stringContaining('maxMessagesPerSecond') },
    });
    expect(await set('firm', { priceCollarPercent: null, maxReferenceAgeMs: null })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_REQUEST', details: { problems: [expect.stringContaining('priceCollarPercent'), expect.stringContaining('maxReferenceAgeMs')] } },
    });
    // The contract refuses the rest before anything is sent (and risk-service would answer CONTRACT_VIOLATION).
    await expect(set('venue:x', { maxOrderNotional: '1' })).rejects.toThrow(/scope: expected firm/);
    await expect(set('firm', { maxOrderNotional: '-1' })).rejects.toThrow(/maxOrderNotional/);
    await expect(set('firm', {})).rejects.toThrow(/at least one limit/);
    expect(await sandbox.sql('SELECT * FROM risk.risk_limit_version')).toHaveLength(before.length);
  });

  it('a change through one replica applies to the next order checked by every replica, without restart', async () => {
    const replica = await startRiskService(sandbox.env());
    try {
      const views = [risk, replica].map((s) => s.app.get(RiskLimitsView));
      const check = async (i: number): Promise<OrderCheckDecision> => {
        publishBtcTicker();
        const reply = await bus().request(OrderCheckQry, testOrder({ botId: 'b-live', quantity: '0.01', price: String(64000 + i) }));
        if (!reply.ok) throw new Error(reply.error.message);
        return reply.result;
      };
      expect(
        await until(
          () => check(0),
          (d) => d.decision === 'APPROVED',
        ),
      ).toEqual({ decision: 'APPROVED' });

      const changed = await replica.runtime.bus.request(
        RiskLimitsSetCmd,
        { scope: 'bot:b-live', changes: { maxOrderQuantity: '0.005' }, reason: 'b-live misbehaves' },
        { actor: riskOfficer },
      );
      expect(changed).toMatchObject({ ok: true, result: { previous: null, current: { scope: 'bot:b-live', version: 1 } } });
      await until(
        () => Promise.resolve(views.map((v) => v.lookup('bot:b-live')?.maxOrderQuantity?.toString())),
        (seen) => seen.every((q) => q === '0.005'),
        2000,
        5,
      );
      for (const view of views) expect(view.lookup('bot:b-live')?.maxOrderQuantity?.toString()).toBe('0.005');
      // Checks are shared between the two replicas (queue group): each one denies.
      const decisions = await Promise.all(Array.from({ length: 8 }, (_, i) => check(i + 1)));
      expect(decisions.every((d) => d.decision === 'DENIED' && d.reason === 'ORDER_QUANTITY_OVER_LIMIT' && d.scope === 'bot:b-live')).toBe(true);
      for (const service of [risk, replica]) {
        expect(await (await fetch(`${service.url}/metrics`)).text()).toMatch(/^garde_risk_check_ready\{part="limits",service="risk-service"\} 1$/m);
      }
    } finally {
      await replica.close();
    }
  });

  it('an order either replica approves counts at once in the other one too, from its approval on the bus', async () => {
    const replica = await startRiskService(sandbox.env());
    try {
      const books = [risk, replica].map((s) => s.app.get(ExposureFeed).book);
      // Several orders, so that both replicas of the queue group answer some of them.
      for (let i = 0; i < 6; i++) {
        publishBtcTicker();
        const order = testOrder({ clientOrderId: `shared-${i}`, botId: 'b-shared', quantity: '0.001', price: String(64000 + i) });
        const reply = await until(
          () => bus().request(OrderCheckQry, order),
          (r) => r.ok && r.result.decision === 'APPROVED',
        );
        expect(reply).toEqual({ ok: true, result: { decision: 'APPROVED' } });
        const counted = await until(
          () => Promise.resolve(books.map((b) => b.status(order.clientOrderId) !== undefined)),
          (c) => c.every(Boolean),
          2000,
          5,
        );
        expect(counted).toEqual([true, true]);
      }
    } finally {
      await replica.close();
    }
  });

  it('after a NATS outage a replica denies every order until it has read the kill switch, the limits and the order events again', async () => {
    const nats = new URL(sandbox.natsUrl);
    const proxy = await startTcpProxy({ host: nats.hostname, port: Number(nats.port) });
    const replica = await startRiskService(sandbox.env({ NATS_URL: proxy.url('nats') }));
    const ready = async () =>
      [...(await (await fetch(`${replica.url}/metrics`)).text()).matchAll(/^garde_risk_check_ready\{part="(\w+)",service="risk-service"\} (\d)$/gm)]
        .map((m) => `${m[1]}=${m[2]}`)
        .sort();
    try {
      expect(await ready()).toEqual(['exposure=1', 'kill_switch=1', 'limits=1']);
      proxy.cut();
      expect(await until(ready, (r) => !r.includes('exposure=1') && !r.includes('limits=1') && !r.includes('kill_switch=1'), 5000)).toEqual([
        'exposure=0',
        'kill_switch=0',
        'limits=0',
      ]);
      proxy.restore();
      expect(await until(ready, (r) => r.every((p) => p.endsWith('=1')), 15_000)).toEqual(['exposure=1', 'kill_switch=1', 'limits=1']);
    } finally {
      await replica.close();
      await proxy.close();
    }
  });

  it('says it stopped following the limits when stopped, without the warning of limits lost (a shutdown)', async () => {
    const lines: Array<{ level: string; msg: string }> = [];
    const logger = new JsonLogger('test', 'info', (line) => lines.push(JSON.parse(line) as { level: string; msg: string }));
    const view = new RiskLimitsView(risk.runtime.nc, risk.app.get(RiskLimitsBucket), logger);
    await view.start();
    expect(view.known).toBe(true);
    view.onApplicationShutdown();
    expect(view.known).toBe(false);
    expect(lines.filter((l) => l.level === 'warn')).toEqual([]);
    expect(lines.map((l) => l.msg)).toEqual(['risk limits known', 'risk limits no longer followed: stopping']);
  });

  it('re-publishes to the KV bucket on start a version the bucket lost', async () => {
    const kv = await new Kvm(risk.runtime.nc).open(bus().topology.riskLimitsBucket);
    await kv.purge(riskLimitsKey('bot:b-live'));
    await risk.close();
    risk = await startRiskService(sandbox.env());
    const entry = await (await new Kvm(risk.runtime.nc).open(bus().topology.riskLimitsBucket)).get(riskLimitsKey('bot:b-live'));
    expect(RiskLimitsVersion.parse(entry?.json())).toMatchObject({ scope: 'bot:b-live', version: 1 });
  });
});
