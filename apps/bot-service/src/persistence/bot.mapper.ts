import type { Bot, BotState } from '@garde/contracts';
import type { BotRow } from './bot.entities.js';

/** The wire view of a bot: `trading` is true while the strategy engine steps it (RUNNING). */
export function toBot(row: BotRow): Bot {
  const state = row.state as BotState;
  return {
    id: row.id,
    name: row.name,
    strategy: row.strategy,
    parameters: row.parameters,
    exchangeId: row.exchangeId,
    symbol: row.symbol,
    state,
    stateReason: row.stateReason,
    stateActor: row.stateActor,
    since: row.stateSince.toISOString(),
    trading: state === 'RUNNING',
    note: botNote(state, row.stateReason),
    createdAt: row.createdAt.toISOString(),
  };
}

/** A plain sentence about what the bot does now. */
export function botNote(state: BotState, stateReason: string): string {
  switch (state) {
    case 'CREATED':
      return 'created, not started: places no orders until bot:start';
    case 'RUNNING':
      return 'running: its strategy steps every tick and sends its orders through the gateway';
    case 'PAUSED':
      return 'paused: places no new orders; its open orders stay at the venue';
    case 'HALTED':
      return `halted (${stateReason}): places no orders until an operator resumes it`;
    case 'ERROR':
      return `in error (${stateReason}): places no orders until an operator resumes it (RB-002)`;
    case 'STOPPED':
      return 'stopped for good: places no orders; orders it left open stay at the venue unless stopped with --cancel-orders';
  }
}
