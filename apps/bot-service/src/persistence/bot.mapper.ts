import type { Bot, BotState } from '@garde/contracts';
import type { BotRow } from './bot.entities.js';

/** The wire view of a bot. No strategy engine exists yet, so no bot trades, and its note says so. */
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
    trading: false,
    note: botNote(state, row.stateReason),
    createdAt: row.createdAt.toISOString(),
  };
}

const NO_ENGINE = 'the strategy engine is not built yet: this bot places no orders';

/** A plain sentence about what the bot does; honest that nothing trades yet. */
export function botNote(state: BotState, stateReason: string): string {
  switch (state) {
    case 'CREATED':
      return `created, not started; ${NO_ENGINE}`;
    case 'RUNNING':
      return `marked RUNNING, but ${NO_ENGINE}`;
    case 'PAUSED':
      return `paused; ${NO_ENGINE}`;
    case 'HALTED':
      return `halted (${stateReason}): places no orders until an operator resumes it; ${NO_ENGINE}`;
    case 'ERROR':
      return `in error (${stateReason}): places no orders until an operator resumes it; ${NO_ENGINE}`;
    case 'STOPPED':
      return `stopped for good; ${NO_ENGINE}`;
  }
}
