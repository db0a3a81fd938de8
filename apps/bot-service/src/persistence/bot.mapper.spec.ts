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
  it('gives a contract-valid bot, trading only while RUNNING', () => {
    const bot = toBot(row);
    expect(Bot.parse(bot)).toEqual(bot);
    expect(bot).toMatchObject({ trading: row.state === 'RUNNING', since: '2026-01-02T03:04:05.678Z', createdAt: '2026-01-01T00:00:00.000Z' });
    expect(toBot({ ...row, state: 'RUNNING' })).toMatchObject({ trading: true, note: expect.stringContaining('its strategy steps') });
    expect(toBot({ ...row, state: 'PAUSED' })).toMatchObject({ trading: false, note: expect.stringContaining('its open orders stay') });
  });
});

describe('botNote', () => {
  it('says a bot places no orders in every state but RUNNING', () => {
    for (const state of BotState.options) if (state !== 'RUNNING') expect(botNote(state, 'why')).toMatch(/places no (new )?orders/);
  });

  it('names the halting scope and reason of a HALTED bot', () => {
    expect(botNote('HALTED', 'kill switch global: drill')).toContain('kill switch global: drill');
  });
});
