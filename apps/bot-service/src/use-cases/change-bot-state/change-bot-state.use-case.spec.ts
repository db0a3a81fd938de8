import { describe, expect, it } from '@jest/globals';
import type { Actor, BotOrdersCancellation, BotStopCommand, Reply, TypedEnvelope } from '@garde/contracts';
import type { MessageBus } from '@garde/platform';
import type { BotConfig } from '../../config/bot.config.js';
import type { BotMetrics } from '../../metrics/bot.metrics.js';
import type { BotRow } from '../../persistence/bot.entities.js';
import type { BotRepository, PlannedTransition } from '../../persistence/index.js';
import type { KillSwitchGate } from '../../state/kill-switch.gate.js';
import { ChangeBotStateUseCase } from './change-bot-state.use-case.js';

const alice: Actor = { id: 'alice', kind: 'operator', role: 'operator' };
const ROW: BotRow = {
  id: 'grid-1',
  name: 'grid one',
  strategy: 'grid',
  parameters: {},
  exchangeId: 'binance',
  symbol: 'BTC/USDT',
  state: 'RUNNING',
  stateReason: 'go',
  stateActor: 'alice',
  stateSince: new Date('2026-01-02T00:00:00.000Z'),
  createdAt: new Date('2026-01-01T00:00:00.000Z'),
  version: 2,
};
const FLAT: BotOrdersCancellation = { botId: 'grid-1', canceled: [], ended: [], stillOpen: [], unsettled: [], unreachable: [], flat: true, elapsedMs: 12 };
const ORDER = { side: 'buy' as const, price: '59000', quantity: '0.001', filled: '0', lastError: null };

/**
 * The stop's order of work, with the bot's store, the fence and the gateway faked: what each edge case
 * answers, and what it must not do (no cancel before the fence, nothing for a bot that does not exist).
 */
function setup(opts: { row?: BotRow | null; fenced?: boolean; reply?: Reply<BotOrdersCancellation> } = {}) {
  const calls: string[] = [];
  let row = opts.row === undefined ? ROW : opts.row;
  const requests: Array<{ payload: unknown; ctx: unknown; timeoutMs: unknown }> = [];
  const repository = {
    get: (id: string) => {
      calls.push(`get ${id}`);
      return Promise.resolve(row);
    },
    changeState: (id: string, decide: (current: BotRow) => PlannedTransition) => {
      calls.push(`changeState ${id}`);
      if (!row) return Promise.resolve(undefined);
      const plan = decide(row);
      const before = row;
      row = { ...row, state: plan.to, stateReason: plan.reason, stateActor: plan.actor.id, stateSince: plan.at, version: row.version + 1 };
      return Promise.resolve({ before, after: row });
    },
    awaitSends: (id: string) => {
      calls.push(`awaitSends ${id}`);
      return Promise.resolve(opts.fenced ?? true);
    },
  };
  const bus = {
    publish: (def: { type: string }) => {
      calls.push(`publish ${def.type}`);
      return Promise.resolve();
    },
    request: (def: { type: string }, payload: unknown, ctx: unknown, timeoutMs: unknown) => {
      calls.push(`request ${def.type}`);
      requests.push({ payload, ctx, timeoutMs });
      return Promise.resolve(opts.reply ?? { ok: true, result: FLAT });
    },
  };
  const useCase = new ChangeBotStateUseCase(
    repository as unknown as BotRepository,
    { assertMayRun: () => undefined } as unknown as KillSwitchGate,
    bus as unknown as MessageBus,
    { transitions: { inc: () => undefined } } as unknown as BotMetrics,
    { STOP_FENCE_TIMEOUT_MS: 10_000, STOP_CANCEL_TIMEOUT_MS: 30_000 } as BotConfig,
  );
  const env = (actor: Actor | undefined = alice): TypedEnvelope<unknown> => ({
    messageId: '00000000-0000-4000-8000-000000000001',
    type: 'bot.cmd.bot.stop',
    schemaVersion: 1,
    correlationId: 'story-7',
    causationId: null,
    occurredAt: '2026-01-03T00:00:00.000Z',
    producer: 'exchange-gateway',
    ...(actor ? { actor } : {}),
    payload: {},
  });
  const stop = (command: Partial<BotStopCommand> = {}, actor?: Actor) =>
    useCase.stop({ botId: 'grid-1', reason: 'retire it', cancelOrders: true, ...command }, env(actor));
  return { stop, calls, requests };
}

describe('ChangeBotStateUseCase.stop', () => {
  it('without cancelOrders: the transition only, nothing asked of the fence or the gateway', async () => {
    const { stop, calls } = setup();
    expect(await stop({ cancelOrders: false })).toMatchObject({ id: 'grid-1', state: 'STOPPED' });
    expect(await stop({ cancelOrders: false }).catch((e: unknown) => e)).toMatchObject({ code: 'INVALID_TRANSITION' });
    expect(calls.filter((c) => !c.startsWith('changeState') && !c.startsWith('publish'))).toEqual([]);
  });

  it('with cancelOrders: STOPPED and published, then the fence, then the cancel-all as the operator in the stop’s story', async () => {
    const { stop, calls, requests } = setup();
    expect(await stop()).toMatchObject({ id: 'grid-1', state: 'STOPPED', stateReason: 'retire it', cancellation: FLAT });
    expect(calls).toEqual([
      'get grid-1',
      'changeState grid-1',
      'publish bot.evt.bot.state-changed',
      'awaitSends grid-1',
      'request gateway.cmd.order.cancel-all',
    ]);
    expect(requests).toEqual([
      {
        payload: { botId: 'grid-1', reason: 'retire it' },
        ctx: { actor: alice, correlationId: 'story-7', causationId: '00000000-0000-4000-8000-000000000001' },
        timeoutMs: 30_000,
      },
    ]);
  });

  it('on a bot already STOPPED: only the cancellation runs again (no transition, no event)', async () => {
    const { stop, calls } = setup({ row: { ...ROW, state: 'STOPPED', stateReason: 'earlier' } });
    expect(await stop()).toMatchObject({ state: 'STOPPED', stateReason: 'earlier', cancellation: { flat: true } });
    expect(calls).toEqual(['get grid-1', 'awaitSends grid-1', 'request gateway.cmd.order.cancel-all']);
  });

  it('an unknown bot is NOT_FOUND and a viewer FORBIDDEN, with nothing changed and nothing cancelled', async () => {
    const missing = setup({ row: null });
    expect(await missing.stop().catch((e: unknown) => e)).toMatchObject({ code: 'NOT_FOUND', message: 'no bot with id "grid-1"' });
    expect(missing.calls).toEqual(['get grid-1']);
    const viewer = setup();
    expect(await viewer.stop({}, { id: 'v', kind: 'operator', role: 'viewer' }).catch((e: unknown) => e)).toMatchObject({ code: 'FORBIDDEN' });
    expect(viewer.calls).toEqual([]);
  });

  it('a send still in flight after the fence timeout: an error saying the bot IS stopped, and no cancel-all', async () => {
    const { stop, calls } = setup({ fenced: false });
    expect(await stop().catch((e: unknown) => e)).toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringMatching(/^bot grid-1 is STOPPED, but an order send of it was still in flight after 10000 ms: .*--cancel-orders again$/),
      details: { botId: 'grid-1', state: 'STOPPED' },
    });
    expect(calls).not.toContain('request gateway.cmd.order.cancel-all');
  });

  it('a gateway that does not answer: the error says the bot IS stopped and its orders may be open', async () => {
    const timeout = setup({ reply: { ok: false, error: { code: 'TIMEOUT', message: 'no answer within 30000 ms' } } });
    expect(await timeout.stop().catch((e: unknown) => e)).toMatchObject({
      code: 'TIMEOUT',
      message: expect.stringMatching(/^bot grid-1 is STOPPED, but the gateway did not cancel its orders \(TIMEOUT: .*may still be open at the venue/),
    });
    const away = setup({ reply: { ok: false, error: { code: 'UNAVAILABLE', message: 'no gateway' } } });
    expect(await away.stop().catch((e: unknown) => e)).toMatchObject({ code: 'UNAVAILABLE', details: { state: 'STOPPED' } });
  });

  it('orders left open or unsettled: an error naming them, with the cancellation in its details', async () => {
    const left: BotOrdersCancellation = {
      ...FLAT,
      flat: false,
      canceled: [{ ...ORDER, clientOrderId: 'c-1', state: 'CANCELED' }],
      stillOpen: [{ ...ORDER, clientOrderId: 'c-2', state: 'PENDING_CANCEL', lastError: 'cancel failed: 503' }],
      unsettled: [{ ...ORDER, clientOrderId: 'c-3', state: 'UNKNOWN' }],
      unreachable: ['acct-1'],
    };
    const { stop } = setup({ reply: { ok: true, result: left } });
    expect(await stop().catch((e: unknown) => e)).toMatchObject({
      code: 'UNAVAILABLE',
      message:
        'bot grid-1 is STOPPED, but 1 order(s) still open at the venue or not confirmed cancelled (c-2); 1 order(s) with an outcome not known yet (c-3 UNKNOWN); venue account(s) not reachable: acct-1; run bot:stop grid-1 --reason="…" --cancel-orders again',
      details: { botId: 'grid-1', state: 'STOPPED', cancellation: left },
    });
  });
});
