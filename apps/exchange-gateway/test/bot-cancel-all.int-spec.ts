import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import {
  BotOrdersCancelFailedEvt,
  BotOrdersCanceledEvt,
  OrderCanceledEvt,
  OrdersCancelForBotCmd,
  type Actor,
  type Envelope,
  type EventDef,
  type Order,
} from '@garde/contracts';
import { testOrder, until } from '@garde/testing';
import { apiClient } from './api-client.js';
import { setFaults, startTradingStack, type TradingStack } from './trading-stack.js';
import { createCcxtClient } from '../src/venues/ccxt-client.js';

const KEY = 'sim-key-cancel-all';
const SECRET = 'sim-secret-cancel-all';
const ops: Actor = { id: 'ops', kind: 'operator', role: 'operator' };

/**
 * gateway.cmd.order.cancel-all (`bot:stop --cancel-orders` at the gateway): every order of one bot
 * cancelled and confirmed with the venue; orders whose outcome is unknown are reported, not cancelled
 * blindly; a send that lands during the sweep is cancelled once it has.
 */
describe('cancel-all of one bot’s orders', () => {
  let stack: TradingStack;
  const api = apiClient(() => stack.gateway.url);
  const bus = () => stack.gateway.runtime.bus;
  const venue = () => stack.sim.venue('ca-venue');
  const openAtVenue = async () =>
    ((await (await fetch(`${venue().url}/__sim/state`)).json()) as { orders: Array<{ clientOrderId: string; status: string }> }).orders
      .filter((o) => ['NEW', 'PARTIALLY_FILLED'].includes(o.status))
      .map((o) => o.clientOrderId)
      .sort();
  const place = async (botId: string, clientOrderId: string) => {
    const res = await api('operator', 'POST', '/api/v1/orders', testOrder({ exchangeId: 'ex-ca', botId, clientOrderId, price: '50000', quantity: '0.001' }));
    return res.body as unknown as Order;
  };
  const stateOf = async (clientOrderId: string) => (await api('operator', 'GET', `/api/v1/orders/${clientOrderId}`)).body.state;
  /** What a gateway's submit in flight has written: PENDING_SUBMIT, the venue's answer not recorded yet. */
  const pendingSubmit = (botId: string, clientOrderId: string) =>
    stack.sandbox.sql(
      `INSERT INTO gateway.venue_order (client_order_id, account_id, exchange_id, bot_id, symbol, side, type, quantity, price, state, filled, correlation_id, created_at, updated_at)
       VALUES ($1, 'ca-main', 'ex-ca', $2, 'BTC/USDT', 'buy', 'limit', 0.001, 50000, 'PENDING_SUBMIT', 0, $1, now(), now())`,
      [clientOrderId, botId],
    );
  const events = async (def: EventDef, key?: string): Promise<Envelope[]> => {
    const topology = bus().topology;
    const filter = topology.subject(def, key);
    const { state } = await (await jetstreamManager(stack.gateway.runtime.nc)).streams.info(topology.auditStream, { subjects_filter: filter });
    const found: Envelope[] = [];
    if ((state.subjects?.[filter] ?? 0) === 0) return found;
    const consumer = await jetstream(stack.gateway.runtime.nc).consumers.get(topology.auditStream, { filter_subjects: filter });
    for (;;) {
      const msg = await consumer.next({ expires: 2000 });
      if (!msg) break;
      found.push(msg.json<Envelope>());
      if (msg.info.pending === 0) break;
    }
    return found;
  };

  beforeAll(async () => {
    stack = await startTradingStack({
      label: 'gw-cancel-all',
      venues: [{ id: 'ca-venue', port: 0, tickIntervalMs: 0, accounts: [{ apiKey: KEY, secret: SECRET, balances: { USDT: '1000000', BTC: '10' } }] }],
      // Unknown orders are not looked up during these tests: they stay UNKNOWN.
      gatewayEnv: { FLAT_CONFIRM_TIMEOUT_MS: '1500', VENUE_TIMEOUT_MS: '1000', UNKNOWN_FIRST_LOOKUP_MS: '60000' },
      accounts: [{ id: 'ca-main', exchangeId: 'ex-ca', venue: 'ca-venue', apiKey: KEY, secret: SECRET }],
    });
    await until(
      () => place('warm-up', 'ca-warm'),
      (o) => o.state === 'OPEN',
    );
  });
  afterAll(() => stack?.stop());

  it('cancels the bot’s open orders only; UNKNOWN and PENDING_SUBMIT ones are reported unsettled, not cancelled blindly: not flat', async () => {
    expect((await place('bot-ca', 'ca-1')).state).toBe('OPEN');
    expect((await place('bot-ca', 'ca-2')).state).toBe('OPEN');
    expect((await place('bot-other', 'other-1')).state).toBe('OPEN');
    await setFaults(venue().controlUrl, { timeoutBeforeCreate: true });
    const unknown = await place('bot-ca', 'ca-unknown').finally(() => setFaults(venue().controlUrl, null));
    expect(unknown.state).toBe('UNKNOWN');
    await pendingSubmit('bot-ca', 'ca-sending');

    const reply = await bus().request(OrdersCancelForBotCmd, { botId: 'bot-ca', reason: 'retire it' }, { actor: ops, correlationId: 'story-ca' }, 15_000);
    if (!reply.ok) throw new Error(reply.error.message);
    const result = reply.result;
    expect(result.canceled.map((o) => [o.clientOrderId, o.state])).toEqual([
      ['ca-1', 'CANCELED'],
      ['ca-2', 'CANCELED'],
    ]);
    expect(result.unsettled.map((o) => [o.clientOrderId, o.state])).toEqual([
      ['ca-unknown', 'UNKNOWN'],
      ['ca-sending', 'PENDING_SUBMIT'],
    ]);
    expect(result).toMatchObject({ botId: 'bot-ca', stillOpen: [], ended: [], unreachable: [], flat: false });
    expect([await stateOf('ca-unknown'), await stateOf('ca-sending')]).toEqual(['UNKNOWN', 'PENDING_SUBMIT']);
    expect(await openAtVenue()).toEqual(['ca-warm', 'other-1']);

    const [failed] = await events(BotOrdersCancelFailedEvt, 'bot-ca');
    expect(failed).toMatchObject({ correlationId: 'story-ca', actor: ops, payload: { botId: 'bot-ca', reason: 'retire it', flat: false } });
    const cancels = (await events(OrderCanceledEvt)).filter((e) => (e.payload as { order: Order }).order.botId === 'bot-ca');
    expect(cancels.map((e) => [(e.payload as { order: Order }).order.clientOrderId, e.correlationId, e.actor?.id]).sort()).toEqual([
      ['ca-1', 'story-ca', 'ops'],
      ['ca-2', 'story-ca', 'ops'],
    ]);
  });

  it('an order whose send lands during the sweep is cancelled once the venue’s answer is recorded: flat', async () => {
    // The venue has it; the gateway has not recorded the answer yet.
    const direct = createCcxtClient({ ccxtId: 'binance', urlOverride: venue().url, sandbox: false, apiKey: KEY, secret: SECRET, timeoutMs: 3000 });
    await direct.createOrder('BTC/USDT', 'limit', 'buy', 0.001, 50000, { newClientOrderId: 'cb-landing' });
    await pendingSubmit('bot-cb', 'cb-landing');
    const answered = new Promise((resolve) => setTimeout(resolve, 400)).then(() =>
      stack.sandbox.sql("UPDATE gateway.venue_order SET state = 'OPEN', updated_at = now() WHERE client_order_id = 'cb-landing'"),
    );
    const reply = await bus().request(OrdersCancelForBotCmd, { botId: 'bot-cb', reason: 'retire it' }, { actor: ops, correlationId: 'story-cb' }, 15_000);
    await answered;
    expect(reply).toMatchObject({
      ok: true,
      result: { flat: true, canceled: [expect.objectContaining({ clientOrderId: 'cb-landing', state: 'CANCELED' })], unsettled: [], stillOpen: [] },
    });
    expect(await openAtVenue()).not.toContain('cb-landing');
    const [done] = await events(BotOrdersCanceledEvt, 'bot-cb');
    expect(done).toMatchObject({ correlationId: 'story-cb', actor: ops, payload: { flat: true } });
  });

  it('a bot with no live order: flat at once, nothing cancelled', async () => {
    expect(await bus().request(OrdersCancelForBotCmd, { botId: 'bot-none', reason: 'retire it' }, { actor: ops })).toMatchObject({
      ok: true,
      result: { botId: 'bot-none', canceled: [], ended: [], stillOpen: [], unsettled: [], flat: true },
    });
  });
});
