import { describe, expect, it } from '@jest/globals';
import { Bot, BotState } from '@garde/contracts';
import { botNote, toBot } from './bot.mapper.js';
import type { BotRow } from './bot.entities.js';

const row: BotRow = {
  id: 'bot-1',
  name: 'grid one',
  strategy: 'grid',
  parameters: { levels: 10 },
  exchangeId: 'binance',
  symbol: 'BTC/USDT',
  state: 'RUNNING',
  stateReason: 'go',
  stateActor: 'alice',
  stateSince: new Date('2026-01-02T03:04:05.678Z'),
  createdAt: new Date('2026-01-01T00:00:00.000Z'),
  version: 2,
};

describe('toBot', () => {
  it('gives a contract-valid bot that says it does not trade', () => {
    const bot = toBot(row);
    expect(Bot.parse(bot)).toEqual(bot);
    expect(bot).toMatchObject({ trading: false, since: '2026-01-02T03:04:05.678Z', createdAt: '2026-01-01T00:00:00.000Z' });
    expect(bot.note).toContain('places no orders');
  });
});

describe('botNote', () => {
  it('never claims a bot trades, in any state', () => {
    for (const state of BotState.options) expect(botNote(state, 'why')).toContain('places no orders');
  });

  it('names the halting scope and reason of a HALTED bot', () => {
    expect(botNote('HALTED', 'kill switch global: drill')).toContain('kill switch global: drill');
  });
});
