import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startSimulator, type RunningSimulator } from '@garde/exchange-simulator';
import type { RunningService } from '@garde/platform';
import { createSandbox, freePort, startServiceProcess, testOrder, until, type ServiceProcess, type TestSandbox } from '@garde/testing';
import { startRiskService } from '../../risk-service/src/app.js';
import { TEST_API_TOKENS, apiClient, type ApiReply } from './api-client.js';
import { setFaults } from './trading-stack.js';

const KEY = 'sim-key-crash-1';
const SECRET = 'sim-secret-crash-1';
const ORDERS = 40;
/** While the orders go out, every venue call answers this late: many are on the wire when the gateway dies. */
const LATENCY_MS = 1200;

interface VenueOrder {
  orderId: number;
  clientOrderId: string;
  apiKey: string;
  status: string;
  executedQty: string;
}
interface GatewayRow {
  client_order_id: string;
  state: string;
  venue_order_id: string | null;
  filled: string;
}

/** States in which the venue's word on an order is known (not PENDING_SUBMIT, UNKNOWN or PENDING_CANCEL). */
const SETTLED = ['OPEN', 'PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'REJECTED', 'EXPIRED', 'LOST'];
/** The gateway's name for a venue status (Binance's NEW is OPEN). */
const fromVenue = (status: string) => (status === 'NEW' ? 'OPEN' : status);
/** A decimal without trailing zeros (PostgreSQL's numeric keeps its scale). */
const plain = (value: string) => (value.includes('.') ? value.replace(/0+$/, '').replace(/\.$/, '') : value);

/**
 * Issue 3: "Gateway killed (SIGKILL) with orders in flight → after restart every order is settled, none
 * duplicated". The gateway runs as its own process, as in production, against the exchange simulator
 * (over HTTP, through ccxt), and is SIGKILLed while orders stream in: at that moment some are answered,
 * some have reached the venue with their answer lost, and some are still on the wire and never arrive.
 */
describe('exchange-gateway killed (SIGKILL) with orders in flight', () => {
  let sandbox: TestSandbox;
  let sim: RunningSimulator;
  let risk: RunningService;
  let gateway: ServiceProcess;
  let env: Record<string, string>;
  let port: number;

  const api = apiClient(() => gateway.url);
  /** Resting limit buys far under the price (60000), and every fourth a market buy that fills at once. */
  const order = (i: number) =>
    testOrder({
      clientOrderId: `crash-${String(i).padStart(2, '0')}`,
      exchangeId: 'sim-crash',
      quantity: '0.001',
      ...(i % 4 === 1 ? { type: 'market', price: undefined } : { type: 'limit', price: String(40000 + i) }),
    });
  const ids = Array.from({ length: ORDERS }, (_, i) => order(i).clientOrderId);
  const control = () => sim.venue('venue-crash').controlUrl;
  const venueOrders = async (): Promise<VenueOrder[]> =>
    ((await (await fetch(`${control()}/state`)).json()) as { orders: VenueOrder[] }).orders.filter(
      (o) => o.apiKey === KEY && o.clientOrderId.startsWith('crash-'),
    );
  const faults = (body: Record<string, unknown> | null) => setFaults(control(), body);
  const rows = () =>
    sandbox.sql<GatewayRow>(
      "SELECT client_order_id, state, venue_order_id, filled::text AS filled FROM gateway.venue_order WHERE client_order_id LIKE 'crash-%' ORDER BY client_order_id",
    );
  const count = (list: GatewayRow[], ...states: string[]) => list.filter((r) => states.includes(r.state)).length;
  const recorded = (list: GatewayRow[]) =>
    list.map((r) => ({ id: r.client_order_id, state: r.state, venueOrderId: r.venue_order_id, filled: plain(r.filled) }));

  /** The venue's orders per client order id (all of them: a duplicate shows as a second one). */
  const venueTruth = async (forIds: Iterable<string>) => {
    const byId = new Map<string, VenueOrder[]>();
    for (const o of await venueOrders()) byId.set(o.clientOrderId, [...(byId.get(o.clientOrderId) ?? []), o]);
    return [...forIds].sort().map((id) => ({ id, atVenue: byId.get(id) ?? [] }));
  };

  const venueIds = async () => (await venueTruth(ids)).map((t) => ({ id: t.id, venueOrderIds: t.atVenue.map((o) => String(o.orderId)) }));

  let atCrash: GatewayRow[] = [];
  let settled: GatewayRow[] = [];
  let venueAtCrash: Array<{ id: string; venueOrderIds: string[] }> = [];

  beforeAll(async () => {
    sandbox = await createSandbox('gw-crash');
    sim = await startSimulator({
      venues: [
        {
          id: 'venue-crash',
          port: 0,
          tickIntervalMs: 0,
          accounts: [{ apiKey: KEY, secret: SECRET, balances: { USDT: '1000000', BTC: '10' } }],
          // Room for every order of this suite in one window: the venue's own limits are not the point here.
          rateLimits: { ordersPer10Seconds: 1000, requestWeightPerMinute: 100_000 },
        },
      ],
    });
    risk = await startRiskService(sandbox.env());
    env = sandbox.env({
      GARDE_API_TOKENS: TEST_API_TOKENS,
      LOG_LEVEL: 'info',
      // No send outlasts this, so a PENDING_SUBMIT row older than it (+2 s) was left by a dead process.
      VENUE_TIMEOUT_MS: '4000',
      UNKNOWN_FIRST_LOOKUP_MS: '300',
      UNKNOWN_LOOKUP_INTERVAL_MS: '300',
      UNKNOWN_MAX_LOOKUPS: '3',
      ORDER_TRACKER_INTERVAL_MS: '100',
      ORDER_POLL_MS: '200',
      DEGRADED_LATENCY_MS: '5000',
    });
    port = await freePort();
    gateway = await startServiceProcess('exchange-gateway', env, port, 'int-gw-crash');
    const added = await api('admin', 'POST', '/api/v1/exchange-accounts', {
      id: 'crash-main',
      exchangeId: 'sim-crash',
      ccxtId: 'binance',
      urlOverride: sim.venue('venue-crash').url,
      apiKey: KEY,
      secret: SECRET,
    });
    if (added.status !== 201) throw new Error(`could not add the exchange account: ${JSON.stringify(added.body)}`);
    // The account's ccxt client has its markets loaded before the venue turns slow.
    await until(
      () => api('operator', 'POST', '/api/v1/orders', testOrder({ clientOrderId: 'warm-up', exchangeId: 'sim-crash', quantity: '0.001', price: '30000' })),
      (r) => r.status === 201,
    );
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop('SIGTERM');
    await risk?.close();
    await sim?.stop();
    await sandbox?.dispose();
  });

  it('is SIGKILLed while some orders are answered, some are at the venue unanswered and some are still on the wire', async () => {
    await faults({ latencyMs: LATENCY_MS });
    // Orders come one after the other, as bots send them; none of these calls is awaited before the kill.
    const submits: Array<Promise<ApiReply>> = [];
    const sending = (async () => {
      for (let i = 0; i < ORDERS && gateway.child.exitCode === null && gateway.child.signalCode === null; i++) {
        submits.push(api('operator', 'POST', '/api/v1/orders', order(i)));
        await new Promise((r) => setTimeout(r, 40));
      }
    })();

    // 1. The first orders are answered and recorded.
    expect(count(await until(rows, (r) => count(r, 'OPEN', 'FILLED') >= 3, 20_000, 20), 'OPEN', 'FILLED')).toBeGreaterThanOrEqual(3);
    // 2. From now on the venue takes the orders that reach it, but its answers are lost on the way back.
    await faults({ timeoutAfterCreate: true });
    const atSwitch = (await venueOrders()).length;
    expect((await until(venueOrders, (o) => o.length >= atSwitch + 3, 20_000, 20)).length).toBeGreaterThanOrEqual(atSwitch + 3);
    // 3. The gateway process dies with all that in flight.
    await gateway.stop('SIGKILL');
    expect(gateway.child.signalCode).toBe('SIGKILL');
    // 4. What is still on the wire never reaches the venue (and the venue answers fast again).
    await faults({ latencyMs: null, timeoutAfterCreate: null, timeoutBeforeCreate: true });
    await sending;
    const replies = await Promise.allSettled(submits);
    atCrash = await rows();
    // The requests still held by the venue end (creating nothing); then the venue is healthy again.
    await new Promise((r) => setTimeout(r, LATENCY_MS + 500));
    await faults(null);
    venueAtCrash = await venueIds();

    // Persisted, with no venue answer recorded when the process died…
    expect(count(atCrash, 'PENDING_SUBMIT')).toBeGreaterThanOrEqual(3);
    // …and their callers got no answer at all.
    expect(replies.filter((r) => r.status === 'rejected').length).toBeGreaterThanOrEqual(count(atCrash, 'PENDING_SUBMIT'));
  }, 60_000);

  it('after a restart every order the gateway persisted is settled as the venue has it; none duplicated, none lost', async () => {
    // The same service, configuration and database, against a healthy venue: an order the restarted
    // gateway sent again instead of looking it up would show up there.
    gateway = await startServiceProcess('exchange-gateway', env, port, 'int-gw-crash-restart');

    settled = await until(rows, (r) => r.length === atCrash.length && r.every((row) => SETTLED.includes(row.state)), 30_000, 200);
    expect(settled.map((r) => r.client_order_id)).toEqual(atCrash.map((r) => r.client_order_id));
    expect(settled.filter((r) => !SETTLED.includes(r.state))).toEqual([]);

    // The restarted gateway sent nothing: the venue has exactly the orders it had when the gateway died,
    // at most one per client order id, and none the gateway has no row for.
    expect(await venueIds()).toEqual(venueAtCrash);
    const truth = await venueTruth(ids);
    expect(truth.filter((t) => t.atVenue.length > 1)).toEqual([]);
    const persisted = new Set(settled.map((r) => r.client_order_id));
    expect(truth.filter((t) => t.atVenue.length > 0 && !persisted.has(t.id)).map((t) => t.id)).toEqual([]);
    // Order by order, the gateway records what the venue has (its id, state and filled quantity); an order
    // the venue never received is LOST (and was not sent again).
    const asAtVenue = settled.map((r) => {
      const [atVenue] = truth.find((t) => t.id === r.client_order_id)!.atVenue;
      return atVenue
        ? { id: r.client_order_id, state: fromVenue(atVenue.status), venueOrderId: String(atVenue.orderId), filled: plain(atVenue.executedQty) }
        : { id: r.client_order_id, state: 'LOST', venueOrderId: null, filled: '0' };
    });
    expect(recorded(settled)).toEqual(asAtVenue);

    // Every execution of a filled order is recorded, also of one filled while its answer was lost or the
    // gateway was dead, and settled by a lookup.
    const fillsVsFilled = () =>
      sandbox.sql<{ id: string; filled: string; recorded: string }>(
        `SELECT o.client_order_id AS id, o.filled::text AS filled, COALESCE(sum(f.quantity), 0)::text AS recorded
           FROM gateway.venue_order o LEFT JOIN gateway.venue_fill f ON f.client_order_id = o.client_order_id
          WHERE o.state = 'FILLED' AND o.client_order_id LIKE 'crash-%' GROUP BY o.client_order_id, o.filled`,
      );
    const fills = await until(fillsVsFilled, (list) => list.every((f) => plain(f.filled) === plain(f.recorded)), 10_000, 200);
    expect(fills.length).toBeGreaterThan(0);
    expect(fills.filter((f) => plain(f.filled) !== plain(f.recorded))).toEqual([]);

    // The orders caught in flight were looked up: some had reached the venue, some had not.
    const inFlight = settled.filter((r) => atCrash.some((c) => c.client_order_id === r.client_order_id && c.state === 'PENDING_SUBMIT'));
    expect(count(inFlight, 'OPEN', 'FILLED')).toBeGreaterThanOrEqual(3);
    expect(count(inFlight, 'LOST')).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('submitting the same client order ids again after the restart makes no second venue order', async () => {
    const persisted = new Set(settled.map((r) => r.client_order_id));
    const before = await venueTruth(persisted);

    const again = await Promise.all(ids.map((_, i) => api('operator', 'POST', '/api/v1/orders', order(i))));
    expect(again.map((r) => r.status)).toEqual(Array(ORDERS).fill(201));
    // An order the gateway had recorded is answered as recorded, and nothing is sent for it…
    expect(
      again
        .filter((r) => persisted.has(r.body.clientOrderId as string))
        .map((r) => ({ id: r.body.clientOrderId, state: r.body.state, venueOrderId: r.body.venueOrderId, filled: r.body.filled })),
    ).toEqual(recorded(settled));
    expect(await venueTruth(persisted)).toEqual(before);
    // …while an id the dead gateway never persisted is a new order now, sent once; a LOST one stays LOST.
    const lost = new Set(settled.filter((r) => r.state === 'LOST').map((r) => r.client_order_id));
    expect((await venueTruth(ids)).map((t) => ({ id: t.id, venueOrders: t.atVenue.length }))).toEqual(
      ids.map((id) => ({ id, venueOrders: lost.has(id) ? 0 : 1 })),
    );
  }, 60_000);
});
