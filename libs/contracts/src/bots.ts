import { z } from 'zod';
import { BOT_STATES, SCOPE_ID_PATTERN } from '@garde/domain';
import { defineEvent, defineRequest } from './catalog.js';
import { Reason } from './kill-switch.js';

export const BotState = z.enum(BOT_STATES);
export type BotState = z.infer<typeof BotState>;

/** Bot and exchange ids: 1-64 letters, digits, `_`, `-` or `.` (they appear in kill-switch scopes). */
export const BotId = z.string().regex(SCOPE_ID_PATTERN, 'expected 1-64 letters, digits, "_", "-" or "."');
export const ExchangeId = z.string().regex(SCOPE_ID_PATTERN, 'expected 1-64 letters, digits, "_", "-" or "."');
/** A market symbol as ccxt writes it: `BTC/USDT`. */
export const MarketSymbol = z.string().regex(/^[A-Z0-9]{1,20}\/[A-Z0-9]{1,20}$/, 'expected BASE/QUOTE, e.g. BTC/USDT');

export const Bot = z.object({
  /** Unique id; also the key of the bot's kill-switch scope `bot:<id>`. */
  id: BotId,
  /** Human name, unique. */
  name: z.string(),
  /** Strategy name (`grid`, `dca`, …). */
  strategy: z.string(),
  /** Strategy parameters as given at creation. */
  parameters: z.record(z.string(), z.unknown()),
  /** Exchange the bot trades on. */
  exchangeId: ExchangeId,
  /** Market it trades. */
  symbol: MarketSymbol,
  /** Lifecycle state. */
  state: BotState,
  /** Why it is in this state. */
  stateReason: z.string(),
  /** Who put it in this state. */
  stateActor: z.string(),
  /** When it entered this state (ISO-8601 UTC). */
  since: z.iso.datetime({ offset: true }),
  /** Whether the strategy engine actually trades for this bot (false until strategies are built). */
  trading: z.boolean(),
  /** A plain sentence about what the bot is doing. */
  note: z.string(),
  /** Creation time (ISO-8601 UTC). */
  createdAt: z.iso.datetime({ offset: true }),
});
export type Bot = z.infer<typeof Bot>;

export const CreateBot = z.object({
  /** Optional id; generated when absent. */
  id: BotId.optional(),
  /** Human name, unique, 1-100 characters. */
  name: z.string().trim().min(1).max(100),
  /** Strategy name. */
  strategy: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'expected a strategy name such as grid or dca'),
  /** Strategy parameters. */
  parameters: z.record(z.string(), z.unknown()).default({}),
  exchangeId: ExchangeId,
  symbol: MarketSymbol,
});
export type CreateBot = z.infer<typeof CreateBot>;

/** A lifecycle command on one bot: start, pause, resume, stop. */
export const BotLifecycleCommand = z.object({
  botId: BotId,
  /** Why: mandatory for every transition an operator asks for. */
  reason: Reason,
});
export type BotLifecycleCommand = z.infer<typeof BotLifecycleCommand>;

export const BotQuery = z.object({ botId: BotId });
export const BotListQuery = z.object({
  /** Only bots in this state. */
  state: BotState.optional(),
  /** Only bots on this exchange. */
  exchangeId: ExchangeId.optional(),
});
export const BotList = z.object({ bots: z.array(Bot) });

export const BotCreateCmd = defineRequest({ type: 'bot.cmd.bot.create', payload: CreateBot, result: Bot });
export const BotStartCmd = defineRequest({ type: 'bot.cmd.bot.start', payload: BotLifecycleCommand, result: Bot });
export const BotPauseCmd = defineRequest({ type: 'bot.cmd.bot.pause', payload: BotLifecycleCommand, result: Bot });
export const BotResumeCmd = defineRequest({ type: 'bot.cmd.bot.resume', payload: BotLifecycleCommand, result: Bot });
export const BotStopCmd = defineRequest({ type: 'bot.cmd.bot.stop', payload: BotLifecycleCommand, result: Bot });
export const BotGetQry = defineRequest({ type: 'bot.qry.bot.get', payload: BotQuery, result: Bot });
export const BotListQry = defineRequest({ type: 'bot.qry.bot.list', payload: BotListQuery, result: BotList });

export const BotCreatedEvt = defineEvent({ type: 'bot.evt.bot.created', payload: Bot });
export const BotStateChangedEvt = defineEvent({
  type: 'bot.evt.bot.state-changed',
  payload: z.object({
    botId: BotId,
    from: BotState,
    to: BotState,
    reason: z.string(),
    /** The kill-switch scope that caused a HALT, if any. */
    scope: z.string().optional(),
  }),
  level: 'warning',
});

/** A bot went to ERROR by itself (RB-002): its strategy failed; `reason` is the cause. Error level: `audit:errors` lists it. */
export const BotFailedEvt = defineEvent({
  type: 'bot.evt.bot.failed',
  payload: z.object({ botId: BotId, from: BotState, to: z.literal('ERROR'), reason: z.string() }),
  level: 'error',
});
