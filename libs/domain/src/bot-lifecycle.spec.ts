import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { BOT_ACTIONS, BOT_STATES, isHaltable, transition, type BotState } from './bot-lifecycle.js';

describe('bot lifecycle', () => {
  it.each([
    ['CREATED', 'start', 'RUNNING'],
    ['RUNNING', 'pause', 'PAUSED'],
    ['PAUSED', 'resume', 'RUNNING'],
    ['HALTED', 'resume', 'RUNNING'],
    ['ERROR', 'resume', 'RUNNING'],
    ['RUNNING', 'halt', 'HALTED'],
    ['PAUSED', 'halt', 'HALTED'],
    ['RUNNING', 'fail', 'ERROR'],
    ['HALTED', 'stop', 'STOPPED'],
  ] as const)('%s --%s--> %s', (from, action, to) => {
    expect(transition(from, action)).toEqual({ ok: true, to });
  });

  it.each([
    ['STOPPED', 'resume'],
    ['STOPPED', 'start'],
    ['RUNNING', 'start'],
    ['RUNNING', 'resume'],
    ['HALTED', 'pause'],
    ['ERROR', 'halt'],
  ] as const)('refuses %s --%s--> with a message naming the state', (from, action) => {
    expect(transition(from, action)).toEqual({ ok: false, message: expect.stringContaining(from) });
  });

  it('property: STOPPED is final, and a halt never leaves a bot able to trade', () => {
    fc.assert(
      fc.property(fc.constantFrom(...BOT_STATES), fc.constantFrom(...BOT_ACTIONS), (from: BotState, action) => {
        const r = transition(from, action);
        if (from === 'STOPPED') expect(r.ok).toBe(false);
        if (action === 'halt' && r.ok) expect(r.to).toBe('HALTED');
        if (isHaltable(from)) expect(transition(from, 'halt')).toEqual({ ok: true, to: 'HALTED' });
      }),
    );
  });
});
