import { BotRow, BotTransitionRow } from './bot.entities.js';
import { Bots1764316800000 } from './migrations/1764316800000-bots.js';
import { BotEngine1764662800000 } from './migrations/1764662800000-bot-engine.js';
import { BotFillDetails1765000000000 } from './migrations/1765000000000-bot-fill-details.js';
import { BotEngineRoundTrips1765200000000 } from './migrations/1765200000000-bot-engine-round-trips.js';
import { BotEngineBatches1765300000000 } from './migrations/1765300000000-bot-engine-batches.js';
import { BotHotUpdates1765400000000 } from './migrations/1765400000000-bot-hot-updates.js';
import { BotStepsInFences1765500000000 } from './migrations/1765500000000-bot-steps-in-fences.js';

export const BOTS_SCHEMA = 'bots';
export const botEntities = [BotRow, BotTransitionRow];
export const botMigrations = [
  Bots1764316800000,
  BotEngine1764662800000,
  BotFillDetails1765000000000,
  BotEngineRoundTrips1765200000000,
  BotEngineBatches1765300000000,
  BotHotUpdates1765400000000,
  BotStepsInFences1765500000000,
];
export { BotRow, BotTransitionRow };
export * from './bot.repository.js';
export * from './bot.mapper.js';
