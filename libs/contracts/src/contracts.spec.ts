import { describe, expect, it } from '@jest/globals';
import { busTopology, killSwitchKey, scopeFromKillSwitchKey } from './topology.js';
import { ActivateKillSwitch, KillSwitchActivateCmd, KillSwitchActivatedEvt } from './kill-switch.js';
import { SubmitOrder } from './orders.js';
import { CreateBot } from './bots.js';
import { TickerUpdatedMd, tickerKey } from './market-data.js';

describe('bus topology', () => {
  it('builds subjects, streams and buckets, namespaced for isolation', () => {
    const prod = busTopology();
    expect(prod.subject(KillSwitchActivateCmd)).toBe('risk.cmd.killswitch.activate');
    expect(prod.subject(KillSwitchActivatedEvt, 'global')).toBe('risk.evt.killswitch.activated.global');
    expect([prod.auditStream, prod.killSwitchBucket, ...prod.auditSubjects]).toEqual(['AUDIT', 'KILL_SWITCH', '*.evt.>']);
    const test = busTopology('t1a2');
    expect(test.subject(KillSwitchActivateCmd)).toBe('t1a2.risk.cmd.killswitch.activate');
    expect([test.auditStream, test.killSwitchBucket, ...test.auditSubjects]).toEqual(['t1a2_AUDIT', 't1a2_KILL_SWITCH', 't1a2.*.evt.>']);
    expect(() => busTopology('has.dot')).toThrow('invalid bus namespace');
  });

  it('puts market data on subjects of its own, outside the audit stream (`*.evt.>`)', () => {
    const subject = busTopology().subject(TickerUpdatedMd, tickerKey('binance', 'BTC/USDT'));
    expect(subject).toBe('gateway.md.ticker.updated.binance.BTC_USDT');
    expect(subject.split('.')[1]).not.toBe('evt');
  });

  it('maps scopes to KV keys and back, ids with dots included', () => {
    for (const scope of ['global', 'exchange:binance.eu', 'bot:b-1.x']) expect(scopeFromKillSwitchKey(killSwitchKey(scope))).toBe(scope);
  });
});

describe('contracts refuse what the design forbids', () => {
  it('a kill-switch activation needs a reason and a known scope kind', () => {
    expect(ActivateKillSwitch.safeParse({ scope: 'global', reason: '  ' }).success).toBe(false);
    expect(ActivateKillSwitch.safeParse({ scope: 'venue:x', reason: 'why not' }).success).toBe(false);
    expect(ActivateKillSwitch.parse({ scope: 'exchange:binance', reason: 'venue down' })).toEqual({
      scope: 'exchange:binance',
      reason: 'venue down',
      state: 'HALTED',
    });
  });

  it('orders carry decimal strings, never numbers, and limit orders need a price', () => {
    const order = { clientOrderId: 'c1', exchangeId: 'binance', symbol: 'BTC/USDT', side: 'buy', type: 'limit', quantity: '0.5', price: '65000.10' };
    expect(SubmitOrder.safeParse(order).success).toBe(true);
    for (const bad of [{ quantity: 0.5 }, { quantity: '-1' }, { quantity: '0' }, { quantity: '1e3' }, { price: undefined }, { type: 'market' }]) {
      expect(SubmitOrder.safeParse({ ...order, ...bad }).success).toBe(false);
    }
  });

  it('a bad quantity or price gets one message, the one that says what is wrong with it', () => {
    const order = { clientOrderId: 'c1', exchangeId: 'binance', symbol: 'BTC/USDT', side: 'buy', type: 'limit', quantity: '0.5', price: '65000.10' };
    const messages = (bad: object) => (SubmitOrder.safeParse({ ...order, ...bad }).error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(messages({ quantity: '0' })).toEqual(['quantity: must be greater than zero']);
    expect(messages({ quantity: '0.000' })).toEqual(['quantity: must be greater than zero']);
    for (const notDecimal of ['-1', '5e4', '1,000', ' 1', '.5', '']) {
      expect(messages({ price: notDecimal })).toEqual([
        'price: expected a positive decimal string such as "0.01" (digits and one optional ".", no sign, exponent or separator)',
      ]);
    }
    expect(messages({ quantity: 0.5 })).toEqual(['quantity: Invalid input: expected string, received number']);
  });

  it('bots need a BASE/QUOTE symbol and ids that fit in a kill-switch scope', () => {
    const bot = { name: 'grid 1', strategy: 'grid', exchangeId: 'binance', symbol: 'BTC/USDT' };
    expect(CreateBot.safeParse(bot).success).toBe(true);
    expect(CreateBot.safeParse({ ...bot, symbol: 'BTCUSDT' }).success).toBe(false);
    expect(CreateBot.safeParse({ ...bot, id: 'has space' }).success).toBe(false);
  });
});

describe('event catalogue', () => {
  it('holds every event the contracts define, so the audit trail grades each one', async () => {
    const contracts = await import('./index.js');
    const defined = Object.values(contracts as Record<string, unknown>).filter(
      (v): v is { kind: 'evt'; type: string } => typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'evt',
    );
    expect(defined.length).toBeGreaterThan(5);
    expect(defined.map((d) => d.type).sort()).toEqual([...contracts.EVENT_CATALOG.keys()].sort());
    expect(contracts.eventLevel('gateway.evt.order.lost')).toBe('critical');
  });

  it('grades a venue or rate-limit change by where it went: a recovery is not an error', async () => {
    const { eventLevel } = await import('./index.js');
    const venue = (state: string) => ({
      venue: {
        accountId: 'a',
        exchangeId: 'binance',
        state,
        reconciling: false,
        latencyMs: 3,
        consecutiveFailures: 0,
        lastError: null,
        since: '2026-11-29T16:00:00.000Z',
        checkedAt: null,
      },
      previous: 'DEGRADED',
    });
    expect(['DISCONNECTED', 'DEGRADED', 'CONNECTED'].map((s) => eventLevel('gateway.evt.venue.health-changed', venue(s)))).toEqual([
      'error',
      'warning',
      'info',
    ]);
    const rateLimit = (state: string) => ({
      status: {
        accountId: 'a',
        exchangeId: 'binance',
        state,
        limitsSource: 'venue',
        windows: [],
        pausedUntil: null,
        reason: null,
        since: '2026-11-29T16:00:00.000Z',
        waiting: 0,
        count429: 0,
        count418: 0,
        refusedOrders: 0,
      },
      previous: 'OK',
    });
    expect(['HALTED', 'PAUSED', 'OK'].map((s) => eventLevel('gateway.evt.rate-limit.changed', rateLimit(s)))).toEqual(['critical', 'error', 'info']);
    // A payload its schema refuses (or none) gets the type's level, the worst of them.
    expect(eventLevel('gateway.evt.venue.health-changed', { venue: { state: 'CONNECTED' } })).toBe('error');
    expect(eventLevel('gateway.evt.rate-limit.changed')).toBe('critical');
  });
});
