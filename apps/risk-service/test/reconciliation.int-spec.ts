import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { jetstream } from '@nats-io/jetstream';
import {
  BotCreateCmd,
  BotGetQry,
  DiscrepancyFoundEvt,
  KillSwitchStatusQry,
  LedgerAdjustedEvt,
  LedgerOpenedEvt,
  OrderFilledEvt,
  eventLevel,
  type Actor,
  type Discrepancy,
  type DiscrepancyList,
  type EventDef,
  type Order,
  type ReconciliationApplied,
  type ReconciliationReport,
  type TypedEnvelope,
} from '@garde/contracts';
import { Decimal } from '@garde/domain';
import type { RunningService } from '@garde/platform';
import { runConsole, testOrder, until } from '@garde/testing';
import { startBotService } from '../../bot-service/src/app.js';
import { TEST_TOKENS, apiClient } from '../../exchange-gateway/test/api-client.js';
import { setFaults, startTradingStack, type TradingStack } from '../../exchange-gateway/test/trading-stack.js';
import { createCcxtClient } from '../../exchange-gateway/src/venues/ccxt-client.js';
import { LedgerFeed } from '../src/state/ledger-feed.js';
import { LedgerRepository, type LedgerFill } from '../src/persistence/ledger.repository.js';

const KEY = 'sim-key-recon-1';
const SECRET = 'sim-secret-recon-1';
const ACCOUNT = 'recon-main';
const EXCHANGE = 'sim-recon';
/** A short period, so that the test sees several runs; the confirmation look comes CONFIRM ms after the first. */
const INTERVAL = 1500;
const CONFIRM = 300;
/** What a run may take beyond its period: the gateway asking the venue, the ledger, the kill switch. */
const RUN_SLACK = 4000;
const alice: Actor = { id: 'alice', kind: 'operator', role: 'operator' };

/**
 * Reconciliation (issue 5, points 6-7; RB-003, RB-012) against real NATS, PostgreSQL, the gateway, the
 * exchange simulator and bot-service: the ledger is opened from the venue and books every fill once; a
 * balance drift injected at the venue is a discrepancy within one period (plus the confirmation look),
 * with the account's bots halted; `portfolio:reconcile` without --apply changes nothing; with --apply and
 * a reason it adjusts the ledger to the venue, clears the discrepancy, and the audit trail says who and why.
 */
describe('reconciliation: the ledger against the venue', () => {
  let stack: TradingStack;
  let bots: RunningService;
  const api = apiClient(() => stack.gateway.url);
  const bus = () => stack.risk.runtime.bus;
  const sql = <T = Record<string, unknown>>(text: string, params: unknown[] = []) => stack.sandbox.sql<T>(text, params);
  const cli = (role: keyof typeof TEST_TOKENS, ...args: string[]) => runConsole(args, { GARDE_API_URL: stack.gateway.url, GARDE_TOKEN: TEST_TOKENS[role] });
  const submit = (extra: Record<string, unknown>) =>
    api('operator', 'POST', '/api/v1/orders', testOrder({ exchangeId: EXCHANGE, type: 'market', price: undefined, quantity: '0.01', ...extra }));
  const venueControl = () => stack.sim.venue('recon-a').controlUrl;

  /** Every event of one type in the AUDIT stream, oldest first. */
  const auditEvents = async <P>(def: EventDef): Promise<Array<TypedEnvelope<P>>> => {
    const topology = bus().topology;
    const consumer = await jetstream(stack.risk.runtime.nc).consumers.get(topology.auditStream, { filter_subjects: topology.subject(def) });
    const found: Array<TypedEnvelope<P>> = [];
    for (;;) {
      const msg = await consumer.next({ expires: 1000 });
      if (!msg) break;
      found.push(msg.json<TypedEnvelope<P>>());
      if (msg.info.pending === 0) break;
    }
    return found;
  };
  const discrepancies = async (all = false): Promise<Discrepancy[]> => {
    const res = await api('viewer', 'GET', `/api/v1/portfolio/discrepancies${all ? '?all=true' : ''}`);
    expect(res.status).toBe(200);
    return (res.body as unknown as DiscrepancyList).discrepancies;
  };
  const report = async (): Promise<ReconciliationReport> => {
    const res = await api('viewer', 'GET', `/api/v1/portfolio/reconciliation?exchange=${EXCHANGE}`);
    expect(res.status).toBe(200);
    return res.body as unknown as ReconciliationReport;
  };
  const scope = async (name: string) => {
    const reply = await bus().request(KillSwitchStatusQry, { scope: name });
    if (!reply.ok) throw new Error(reply.error.message);
    return reply.result.scopes[0]!;
  };
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /** What the ledger, the discrepancies and the kill switch hold: what "changes nothing" is checked against. */
  const books = async () => ({
    entries: await sql('SELECT id, account_id, asset, amount::text, kind FROM risk.ledger_entry ORDER BY id'),
    discrepancies: await sql('SELECT id, status, halted_bots FROM risk.reconciliation_discrepancy ORDER BY id'),
    killSwitch: await sql('SELECT scope, version FROM risk.kill_switch_change ORDER BY id'),
  });

  beforeAll(async () => {
    stack = await startTradingStack({
      label: 'reconciliation',
      venues: [
        {
          id: 'recon-a',
          port: 0,
          tickIntervalMs: 0,
          accounts: [{ apiKey: KEY, secret: SECRET, balances: { USDT: '100000', BTC: '1' } }],
          // Balances and open orders of every account every 1.5 s weigh 100 a run: room for them and the orders.
          rateLimits: { requestWeightPerMinute: 60_000 },
        },
      ],
      gatewayEnv: { ORDER_TRACKER_INTERVAL_MS: '100', ORDER_POLL_MS: '100' },
      accounts: [{ id: ACCOUNT, exchangeId: EXCHANGE, venue: 'recon-a', apiKey: KEY, secret: SECRET }],
      riskEnv: { RECONCILE_INTERVAL_MS: String(INTERVAL), RECONCILE_CONFIRM_DELAY_MS: String(CONFIRM), RECONCILE_TOLERANCES: 'USDT=0.01' },
    });
    bots = await startBotService(stack.sandbox.env());
    // A bot configured on the account's exchange that has not traded yet: only bot-service knows it.
    const created = await bots.runtime.bus.request(
      BotCreateCmd,
      {
        id: 'recon-grid',
        name: 'recon-grid',
        strategy: 'grid',
        exchangeId: EXCHANGE,
        symbol: 'BTC/USDT',
        parameters: { lower: '59000', upper: '61000', levels: 5, orderSize: '0.001' },
      },
      { actor: alice },
    );
    if (!created.ok) throw new Error(created.error.message);
    // The first order waits for risk-service's first reference price.
    const warm = await until(
      () => submit({ clientOrderId: 'warm-up', botId: 'b-trader', quantity: '0.001' }),
      (r) => r.status === 201,
    );
    expect(warm.body).toMatchObject({ state: 'FILLED' });
  });
  afterAll(async () => {
    await bots?.close();
    await stack?.stop();
  });

  it('opens the ledger from the venue at the first reconciliation, books every fill after it, and then matches the venue', async () => {
    const opened = await until(
      () => sql<{ opened_by: Actor }>('SELECT opened_by FROM risk.ledger_account WHERE account_id = $1', [ACCOUNT]),
      (rows) => rows.length === 1,
      INTERVAL * 4,
    );
    expect(opened).toEqual([{ opened_by: { id: 'risk-service:reconciliation', kind: 'system' } }]);
    const openings = await sql<{ asset: string; reason: string }>(
      "SELECT asset, reason FROM risk.ledger_entry WHERE kind = 'opening' AND account_id = $1 ORDER BY asset",
      [ACCOUNT],
    );
    expect(openings.map((o) => o.asset)).toEqual(['BTC', 'USDT']);
    expect((await auditEvents<{ accountId: string }>(LedgerOpenedEvt)).map((e) => e.payload.accountId)).toEqual([ACCOUNT]);

    // A buy and a sell of the bot, after the opening: each fill booked (base, quote, fee).
    for (const [id, side, quantity] of [
      ['recon-buy', 'buy', '0.02'],
      ['recon-sell', 'sell', '0.005'],
    ] as const) {
      const res = await submit({ clientOrderId: id, botId: 'b-trader', side, quantity });
      expect(res.body).toMatchObject({ state: 'FILLED' });
    }
    const legs = await until(
      () =>
        sql<{ client_order_id: string; legs: string[] }>(
          `SELECT f.client_order_id, array_agg(e.leg || ':' || e.asset || ':' || e.amount::text ORDER BY e.leg) AS legs
             FROM risk.ledger_fill f JOIN risk.ledger_entry e ON e.account_id = f.account_id AND e.trade_id = f.trade_id
            WHERE f.client_order_id IN ('recon-buy', 'recon-sell') GROUP BY f.client_order_id ORDER BY f.client_order_id`,
        ),
      (rows) => rows.length === 2,
    );
    // Taker fee 0.1 %: in base on a buy, in quote on a sell (the simulator's price is 60000).
    const amounts = (l: { legs: string[] }) => l.legs.map((x) => x.split(':')).map(([leg, asset, amount]) => [leg, asset, Number(amount)]);
    expect(legs.map((l) => [l.client_order_id, amounts(l)])).toEqual([
      [
        'recon-buy',
        [
          ['base', 'BTC', 0.02],
          ['fee', 'BTC', -0.00002],
          ['quote', 'USDT', -1200],
        ],
      ],
      [
        'recon-sell',
        [
          ['base', 'BTC', -0.005],
          ['fee', 'USDT', -0.3],
          ['quote', 'USDT', 300],
        ],
      ],
    ]);

    const now = await report();
    expect(now.ledgerCaughtUp).toBe(true);
    const [account] = now.accounts;
    expect(account).toMatchObject({ accountId: ACCOUNT, exchangeId: EXCHANGE, status: 'MATCHED', orders: [], openDiscrepancies: 0 });
    for (const line of account!.balances) expect([line.asset, line.difference]).toEqual([line.asset, '0']);
  });

  it('a fill delivered twice changes the ledger once', async () => {
    const order: Order = {
      clientOrderId: 'dup-order',
      venueOrderId: '999',
      accountId: 'ledger-only',
      exchangeId: 'paper',
      botId: 'b-dup',
      symbol: 'ETH/USDT',
      side: 'buy',
      type: 'market',
      quantity: '2',
      price: null,
      state: 'FILLED',
      filled: '2',
      lastError: null,
      createdAt: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
    };
    const fill = { tradeId: `t-${randomUUID()}`, price: '3000', quantity: '2', fee: '6', feeCurrency: 'USDT', at: new Date().toISOString() };
    // Two messages (two message ids: JetStream keeps both), the same execution.
    await bus().publish(OrderFilledEvt, { order, fill });
    await bus().publish(OrderFilledEvt, { order, fill });
    expect(await stack.risk.app.get(LedgerFeed).waitCaughtUp(10_000)).toBe(true);
    expect(await sql('SELECT trade_id FROM risk.ledger_fill WHERE account_id = $1', ['ledger-only'])).toEqual([{ trade_id: fill.tradeId }]);
    const sums = await sql<{ asset: string; total: string }>(
      "SELECT asset, sum(amount)::text AS total FROM risk.ledger_entry WHERE account_id = 'ledger-only' GROUP BY asset ORDER BY asset",
    );
    expect(sums.map((s) => [s.asset, Number(s.total)])).toEqual([
      ['ETH', 2],
      ['USDT', -6006],
    ]);
    const metrics = await (await fetch(`${stack.risk.url}/metrics`)).text();
    expect(metrics).toMatch(/^garde_risk_ledger_fills_total\{outcome="duplicate",service="risk-service"\} [1-9]/m);
    // The ledger is append-only: a fill's entries are never rewritten.
    await expect(sql("UPDATE risk.ledger_entry SET amount = 0 WHERE account_id = 'ledger-only'")).rejects.toThrow(/append-only/);
    await expect(sql("DELETE FROM risk.ledger_fill WHERE account_id = 'ledger-only'")).rejects.toThrow(/append-only/);
  });

  it('fills published together (a tick crossing a level) are each booked once with their legs, a repeat in the same burst included', async () => {
    const now = new Date().toISOString();
    const order = (i: number): Order => ({
      clientOrderId: `burst-${i}`,
      venueOrderId: String(5000 + i),
      accountId: 'ledger-burst',
      exchangeId: 'paper',
      botId: `b-burst-${i % 4}`,
      symbol: 'SOL/USDT',
      side: i % 2 === 0 ? 'buy' : 'sell',
      type: 'limit',
      quantity: '1',
      price: '100',
      state: 'FILLED',
      filled: '1',
      lastError: null,
      createdAt: now,
      updatedAt: now,
    });
    const fill = (i: number) => ({ tradeId: `tb-${i}`, price: '100', quantity: '1', fee: '0.1', feeCurrency: 'USDT', at: now });
    // 30 buys and 30 sells of 1 SOL at 100, and ten of them published twice in the same burst.
    const burst = Array.from({ length: 60 }, (_, i) => i);
    await Promise.all([...burst, ...burst.slice(0, 10)].map((i) => bus().publish(OrderFilledEvt, { order: order(i), fill: fill(i) })));
    expect(await stack.risk.app.get(LedgerFeed).waitCaughtUp(10_000)).toBe(true);
    const fills = await sql<{ n: string }>("SELECT count(*)::text AS n FROM risk.ledger_fill WHERE account_id = 'ledger-burst'");
    expect(fills).toEqual([{ n: '60' }]);
    const legs = await sql<{ leg: string; n: string; total: string }>(
      "SELECT leg, count(*)::text AS n, sum(amount)::text AS total FROM risk.ledger_entry WHERE account_id = 'ledger-burst' GROUP BY leg ORDER BY leg",
    );
    // Base: +30 −30; quote: −3000 +3000; fee: 60 × 0.1 USDT.
    expect(legs.map((l) => [l.leg, l.n, Number(l.total)])).toEqual([
      ['base', '60', 0],
      ['fee', '60', -6],
      ['quote', '60', 0],
    ]);
    // The same fill twice in one statement (calls of one turn are grouped): booked by the first call only.
    const ledger = stack.risk.app.get(LedgerRepository);
    const direct = (tradeId: string): LedgerFill => ({
      accountId: 'ledger-burst',
      exchangeId: 'paper',
      tradeId,
      clientOrderId: `direct-${tradeId}`,
      botId: null,
      symbol: 'SOL/USDT',
      side: 'buy',
      price: '100',
      quantity: '1',
      fee: '0',
      feeCurrency: null,
      executedAt: new Date(),
      movements: [
        { leg: 'base', asset: 'SOL', amount: Decimal.of('1') },
        { leg: 'quote', asset: 'USDT', amount: Decimal.of('-100') },
      ],
      problem: undefined,
      messageId: randomUUID(),
      correlationId: randomUUID(),
    });
    expect(
      await Promise.all([
        ledger.recordFill(direct('td-1')),
        ledger.recordFill(direct('td-1')),
        ledger.recordFill(direct('td-2')),
        ledger.recordFill(direct('tb-0')),
      ]),
    ).toEqual([true, false, true, false]);
    const direct1 = await sql<{ n: string }>("SELECT count(*)::text AS n FROM risk.ledger_entry WHERE account_id = 'ledger-burst' AND trade_id = 'td-1'");
    expect(direct1).toEqual([{ n: '2' }]);
  });

  it('a balance drift at the venue is a discrepancy within one period; the bots of the account are halted', async () => {
    expect(await discrepancies()).toEqual([]);
    const drifted = await setFaults(venueControl(), { driftBalance: { apiKey: KEY, asset: 'BTC', delta: '0.5' } });
    expect(drifted.status).toBe(200);

    // Within one period (plus the confirmation look and a run's own time): recorded, then its bots
    // halted, then published. Not found by then, the expectations below fail.
    const open = await until(
      () => discrepancies(),
      (list) => list.length > 0 && list[0]!.haltedBots.length > 0,
      INTERVAL + CONFIRM + RUN_SLACK,
      100,
    );
    expect(open).toHaveLength(1);
    const [found] = open;
    expect(found).toMatchObject({
      accountId: ACCOUNT,
      exchangeId: EXCHANGE,
      kind: 'BALANCE',
      subject: 'BTC',
      difference: '0.5',
      tolerance: '0.00001',
      status: 'OPEN',
    });
    expect(Number(found!.venue) - Number(found!.ledger)).toBeCloseTo(0.5, 10);
    // The bot that traded on the account (its fills) and the one bot-service has on its exchange.
    expect(found!.haltedBots).toEqual(['b-trader', 'recon-grid']);

    for (const botId of ['b-trader', 'recon-grid']) {
      const state = await scope(`bot:${botId}`);
      expect(state).toMatchObject({ state: 'HALTED', actor: { id: 'risk-service:reconciliation', kind: 'system' } });
      expect(state.reason).toContain(`reconciliation discrepancy #${found!.id} on account ${ACCOUNT}`);
      expect(state.reason).toContain('BTC');
    }
    const grid = await until(
      async () => {
        const reply = await bots.runtime.bus.request(BotGetQry, { botId: 'recon-grid' });
        return reply.ok ? reply.result.state : reply.error.code;
      },
      (s) => s === 'HALTED',
    );
    expect(grid).toBe('HALTED');
    const refused = await submit({ clientOrderId: 'after-halt', botId: 'b-trader' });
    expect(refused.body.error?.code).toBe('KILL_SWITCH_ACTIVE');

    // The event, error level (audit:errors lists it), with the discrepancy and the halted bots.
    expect(eventLevel(DiscrepancyFoundEvt.type)).toBe('error');
    const events = await auditEvents<Discrepancy>(DiscrepancyFoundEvt);
    expect(events.map((e) => [e.payload.id, e.payload.subject, e.payload.haltedBots, e.actor?.id])).toEqual([
      [found!.id, 'BTC', ['b-trader', 'recon-grid'], 'risk-service:reconciliation'],
    ]);
    expect(await (await fetch(`${stack.risk.url}/metrics`)).text()).toMatch(/^garde_risk_discrepancies_open\{kind="BALANCE",service="risk-service"\} 1$/m);

    // Seen again by the next runs, it is not recorded again.
    await pause(INTERVAL * 2 + CONFIRM);
    expect(await sql('SELECT id FROM risk.reconciliation_discrepancy')).toHaveLength(1);
  });

  it('portfolio:reconcile without --apply shows the difference and changes nothing', async () => {
    const before = await books();
    const json = await cli('viewer', 'portfolio:reconcile', `--exchange=${EXCHANGE}`, '--json');
    expect(json.code).toBe(1);
    const shown = JSON.parse(json.stdout) as ReconciliationReport;
    expect(shown.accounts).toHaveLength(1);
    expect(shown.accounts[0]).toMatchObject({ accountId: ACCOUNT, status: 'DIFFERENCES', openDiscrepancies: 1 });
    expect(shown.accounts[0]!.balances.find((b) => b.asset === 'BTC')).toMatchObject({ difference: '0.5', overTolerance: true });

    const human = await cli('viewer', 'portfolio:reconcile');
    expect(human.code).toBe(1);
    expect(human.stdout).toContain('nothing was changed');
    expect(human.stdout).toMatch(/BTC\s+\S+\s+\S+\s+0\.5\s+0\.00001\s+OVER TOLERANCE/);
    const listed = await cli('viewer', 'portfolio:discrepancies');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/BTC.*0\.5.*b-trader,recon-grid/);

    expect(await books()).toEqual(before);
  });

  it('--apply --reason adjusts the ledger to the venue with actor and reason, clears the discrepancy; the bots stay halted', async () => {
    const [open] = await discrepancies();
    // The reason is mandatory; only the risk (or admin) role applies.
    expect((await cli('risk', 'portfolio:reconcile', '--apply')).code).toBe(2);
    expect((await api('risk', 'POST', '/api/v1/portfolio/reconciliation', {})).body.error?.code).toBe('CONTRACT_VIOLATION');
    expect((await api('operator', 'POST', '/api/v1/portfolio/reconciliation', { reason: 'not mine to do' })).status).toBe(403);
    const refused = await cli('viewer', 'portfolio:reconcile', '--apply', '--reason=not mine to do');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('FORBIDDEN');

    const reason = 'Dérive BTC injectée au simulateur (exercice RB-003)';
    const applied = await cli('risk', 'portfolio:reconcile', `--exchange=${EXCHANGE}`, '--apply', `--reason=${reason}`, '--json');
    expect(applied.code).toBe(0);
    const result = JSON.parse(applied.stdout) as ReconciliationApplied;
    expect(result).toMatchObject({ actor: { id: 'risk-person', role: 'risk' }, reason });
    expect(result.accounts).toEqual([
      {
        accountId: ACCOUNT,
        exchangeId: EXCHANGE,
        opened: false,
        adjustments: [expect.objectContaining({ asset: 'BTC', amount: '0.5' })],
        cleared: [open!.id],
        orders: [],
        haltedBots: ['b-trader', 'recon-grid'],
      },
    ]);

    const adjustments = await sql<{ asset: string; amount: string; actor: Actor; reason: string }>(
      "SELECT asset, amount::text, actor, reason FROM risk.ledger_entry WHERE kind = 'adjustment'",
    );
    expect(adjustments).toEqual([{ asset: 'BTC', amount: '0.5', actor: { id: 'risk-person', kind: 'operator', role: 'risk' }, reason }]);
    const [cleared] = await discrepancies(true);
    expect(cleared).toMatchObject({ id: open!.id, status: 'CLEARED', clearedBy: { id: 'risk-person' }, clearReason: reason });
    expect(await discrepancies()).toEqual([]);

    // The audit trail: who and why.
    const events = await auditEvents<{ reason: string; adjustedBy: Actor; adjustments: Array<{ asset: string; amount: string }>; cleared: string[] }>(
      LedgerAdjustedEvt,
    );
    expect(
      events.map((e) => [e.actor?.id, e.payload.adjustedBy.id, e.payload.reason, e.payload.adjustments.map((a) => [a.asset, a.amount]), e.payload.cleared]),
    ).toEqual([['risk-person', 'risk-person', reason, [['BTC', '0.5']], [open!.id]]]);

    // Matches now, and stays so over the next runs; the bots stay HALTED until an operator resumes them.
    const now = await cli('viewer', 'portfolio:reconcile', `--exchange=${EXCHANGE}`);
    expect(now.code).toBe(0);
    expect(now.stdout).toContain(`${ACCOUNT} (${EXCHANGE}): MATCHED`);
    await pause(INTERVAL * 2 + CONFIRM);
    expect(await discrepancies()).toEqual([]);
    expect((await scope('bot:b-trader')).state).toBe('HALTED');
    const grid = await bots.runtime.bus.request(BotGetQry, { botId: 'recon-grid' });
    expect(grid.ok && grid.result.state).toBe('HALTED');
  });

  it('an order open at the venue that Garde does not know is a discrepancy too; once cancelled, a manual reconciliation clears it', async () => {
    const direct = createCcxtClient({
      ccxtId: 'binance',
      urlOverride: stack.sim.venue('recon-a').url,
      sandbox: false,
      apiKey: KEY,
      secret: SECRET,
      timeoutMs: 3000,
    });
    const placed = await direct.createOrder('BTC/USDT', 'limit', 'buy', 0.002, 50000, { newClientOrderId: 'outside-garde' });
    const found = await until(
      () => discrepancies(),
      (list) => list.length > 0 && list[0]!.haltedBots.length > 0,
      INTERVAL + CONFIRM + RUN_SLACK,
      100,
    );
    expect(found).toEqual([
      expect.objectContaining({
        kind: 'UNKNOWN_VENUE_ORDER',
        subject: String(placed.id),
        message: expect.stringContaining('client id outside-garde'),
        haltedBots: ['b-trader', 'recon-grid'],
      }),
    ]);

    // No entry fixes an order: applied while it is still open, the difference stays listed.
    await direct.cancelOrder(String(placed.id), 'BTC/USDT');
    const applied = await cli('risk', 'portfolio:reconcile', '--apply', '--reason=ordre passé hors Garde, annulé chez la venue', '--json');
    expect(applied.code).toBe(0);
    expect((JSON.parse(applied.stdout) as ReconciliationApplied).accounts[0]).toMatchObject({ adjustments: [], cleared: [found[0]!.id], orders: [] });
    await pause(INTERVAL * 2 + CONFIRM);
    expect(await discrepancies()).toEqual([]);
  });
});
