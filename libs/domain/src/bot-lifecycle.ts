/**
 * Bot lifecycle state machine (DESIGN §5). Pure: the caller persists and publishes.
 *
 *   CREATED --start--> RUNNING <--pause/resume--> PAUSED
 *   any but STOPPED/ERROR --halt--> HALTED (kill switch); HALTED --resume--> RUNNING
 *   any but STOPPED --fail--> ERROR; ERROR --resume--> RUNNING
 *   any but STOPPED --stop--> STOPPED (final)
 */
export const BOT_STATES = ['CREATED', 'RUNNING', 'PAUSED', 'HALTED', 'ERROR', 'STOPPED'] as const;
export type BotState = (typeof BOT_STATES)[number];

export const BOT_ACTIONS = ['start', 'pause', 'resume', 'stop', 'halt', 'fail'] as const;
export type BotAction = (typeof BOT_ACTIONS)[number];

const ALLOWED: Record<BotAction, readonly BotState[]> = {
  start: ['CREATED'],
  pause: ['RUNNING'],
  resume: ['PAUSED', 'HALTED', 'ERROR'],
  stop: ['CREATED', 'RUNNING', 'PAUSED', 'HALTED', 'ERROR'],
  // An ERROR bot keeps its state (and its recorded cause) under a kill switch: it is not trading anyway.
  halt: ['CREATED', 'RUNNING', 'PAUSED'],
  fail: ['CREATED', 'RUNNING', 'PAUSED', 'HALTED'],
};

const TARGET: Record<BotAction, BotState> = {
  start: 'RUNNING',
  pause: 'PAUSED',
  resume: 'RUNNING',
  stop: 'STOPPED',
  halt: 'HALTED',
  fail: 'ERROR',
};

export type TransitionResult = { ok: true; to: BotState } | { ok: false; message: string };

export function transition(from: BotState, action: BotAction): TransitionResult {
  if (ALLOWED[action].includes(from)) return { ok: true, to: TARGET[action] };
  const allowed = ALLOWED[action].join(', ');
  return { ok: false, message: `cannot ${action} a bot that is ${from} (allowed from: ${allowed})` };
}

/** States a kill switch moves to HALTED. */
export function isHaltable(state: BotState): boolean {
  return ALLOWED.halt.includes(state);
}
