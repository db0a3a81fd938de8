import { z } from 'zod';
import { BOT_STATES, ORDER_STATES, SCOPE_ID_PATTERN } from '@garde/domain';
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
  /** Why: mandatory for every transition an operator asks for but a start (BotStartCommand). */
  reason: Reason,
});
export type BotLifecycleCommand = z.infer<typeof BotLifecycleCommand>;

/**
 * `bot:start`: the lifecycle command, whose reason may be left out — starting a bot just created is the
 * expected next step, and the actor is recorded all the same. Pausing, resuming and stopping need one.
 */
export const BotStartCommand = BotLifecycleCommand.extend({ reason: Reason.default('started (no reason given)') });
export type BotStartCommand = z.infer<typeof BotStartCommand>;

/** `bot:stop`: the lifecycle command, and whether the bot's orders are cancelled once it is STOPPED. */
export const BotStopCommand = BotLifecycleCommand.extend({
  /**
   * Once the bot is STOPPED and no order send of it is in flight, ask the gateway to cancel all its
   * orders and confirm with the venues. Asked of a bot already STOPPED, only that cancellation runs
   * (again). False: the stopped bot's open orders stay at the venue.
   */
  cancelOrders: z.boolean().default(false),
});
export type BotStopCommand = z.infer<typeof BotStopCommand>;

/** One of a bot's orders as a cancel-all left it (as the gateway records it). */
export const BotOrderReport = z.object({
  clientOrderId: z.string(),
  /** Its state at the gateway now. */
  state: z.enum(ORDER_STATES),
  side: z.enum(['buy', 'sell']),
  /** Limit price; null for a market order. */
  price: z.string().nullable(),
  /** Base quantity ordered. */
  quantity: z.string(),
  /** Base quantity filled. */
  filled: z.string(),
  /** The gateway's last note on it: why a cancel failed, why its outcome is unknown. */
  lastError: z.string().nullable(),
});
export type BotOrderReport = z.infer<typeof BotOrderReport>;

/** What the gateway did with every order of one bot (`gateway.cmd.order.cancel-all`, `bot:stop --cancel-orders`). */
export const BotOrdersCancellation = z.object({
  botId: BotId,
  /** Orders now CANCELED (the venue confirmed it, or had no such order open). */
  canceled: z.array(BotOrderReport),
  /** Orders that ended otherwise before the cancel reached them (filled, expired, rejected, lost): nothing left to cancel. */
  ended: z.array(BotOrderReport),
  /** Orders still open at the venue, or whose cancel the venue did not confirm. */
  stillOpen: z.array(BotOrderReport),
  /**
   * Orders whose outcome at the venue is not known yet (UNKNOWN: looked up by the gateway; PENDING_SUBMIT:
   * its send is still in flight): they may be, or become, open. Not cancelled blindly: a cancel that finds
   * nothing would record them cancelled while they may still land.
   */
  unsettled: z.array(BotOrderReport),
  /** Exchange accounts whose venue could not be asked. */
  unreachable: z.array(z.string()),
  /** True when every venue concerned confirmed that no order of the bot is open, and none is unsettled. */
  flat: z.boolean(),
  /** From the request to the venues' last answer, in ms. */
  elapsedMs: z.number().nonnegative(),
});
export type BotOrdersCancellation = z.infer<typeof BotOrdersCancellation>;

/** A stopped bot; with `cancelOrders`, what became of its orders (flat: else the reply is an error). */
export const BotStopResult = Bot.extend({ cancellation: BotOrdersCancellation.optional() });
export type BotStopResult = z.infer<typeof BotStopResult>;

export const BotQuery = z.object({ botId: BotId });
export const BotListQuery = z.object({
  /** Only bots in this state. */
  state: BotState.optional(),
  /** Only bots on this exchange. */
  exchangeId: ExchangeId.optional(),
});

/** A decimal string that may be negative (PnL, a short position): `-12.5`, `0`, `0.000999`. */
const SignedDecimal = z.string().regex(/^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/, 'expected a decimal string, e.g. -12.5');

/**
 * A bot's position in its market, from the fills bot-service recorded for it (average-cost method,
 * libs/domain position.ts). Amounts are decimal strings; PnL is in the quote currency.
 */
export const BotPosition = z.object({
  /** Base currency of the market (`BTC` for BTC/USDT). */
  baseCurrency: z.string(),
  /** Quote currency of the market (`USDT` for BTC/USDT): the currency of prices and PnL. */
  quoteCurrency: z.string(),
  /** Base held from the bot's fills, net of fees charged in base: positive long, negative short (sold more than bought), `0` flat. */
  quantity: SignedDecimal,
  /** Average entry price (fees in quote and in base included), rounded half-up to 12 decimals; null when flat. */
  averagePrice: SignedDecimal.nullable(),
  /** PnL realized by the fills that reduced the position, fees in quote on them deducted. Fees in other currencies are not in it. */
  realizedPnl: SignedDecimal,
  /**
   * What closing the position at `markPrice` would realize (quantity × mark − cost), fees of that close
   * left out; `0` when flat. Null when there is no fresh mark price: `unrealizedPnlNote` says why.
   */
  unrealizedPnl: SignedDecimal.nullable(),
  /** Why `unrealizedPnl` is null (no ticker, stale ticker, gateway not answering); null when it is given. */
  unrealizedPnlNote: z.string().nullable(),
  /** The market's last price as the gateway's ticker gives it, when fresh; null otherwise. */
  markPrice: z.string().nullable(),
  /** When the gateway received that ticker (ISO-8601 UTC); null without a mark price. */
  markPriceAt: z.iso.datetime({ offset: true }).nullable(),
  /** Fees paid per currency, each in its own currency and never converted (`{ "BTC": "0.000002", "USDT": "0.12" }`). */
  fees: z.record(z.string(), z.string()),
  /** Fills counted in this position. */
  fillCount: z.number().int().nonnegative(),
  /**
   * Fills bot-service recorded without their side, price or quantity: those applied before it kept
   * them (migration BotFillDetails1765000000000), or a fill whose order the gateway did not list with
   * it. They are not in this position, which then misses them; 0 for a bot created since.
   */
  fillsWithoutDetails: z.number().int().nonnegative(),
});
export type BotPosition = z.infer<typeof BotPosition>;

/** The orders the bot's strategy counts as open, as of its last step, and the gateway's count of them. */
export const BotOpenOrders = z.object({
  /** Orders the strategy counts as open: at the venue, or about to be sent (the client order ids of both, once each). */
  count: z.number().int().nonnegative(),
  /** Of these, orders not sent to the gateway yet (still in the engine's outbox: sent at its next step). */
  unsent: z.number().int().nonnegative(),
  /** Cancels the strategy asked for that are not sent to the gateway yet. */
  unsentCancels: z.number().int().nonnegative(),
  /**
   * The bot's orders not final in the gateway's books: what may be open at the venue now. It differs
   * from `count` while the bot does not run (its strategy's view is as of its last step: a kill
   * switch's cancels reach it when the bot is resumed). Null when the gateway did not answer in time.
   */
  atGateway: z.number().int().nonnegative().nullable(),
});
export type BotOpenOrders = z.infer<typeof BotOpenOrders>;

/** The last error of a bot. */
export const BotLastError = z.object({
  /** `state`: the cause that put the bot in ERROR (its latest ERROR, even if it was resumed since); `engine`: an order the venue rejected or a send that failed, counted by the engine (RB-002). */
  source: z.enum(['state', 'engine']),
  /** What happened, as recorded. */
  message: z.string(),
  /** When (ISO-8601 UTC). */
  at: z.iso.datetime({ offset: true }),
});
export type BotLastError = z.infer<typeof BotLastError>;

/** A bot as `bot:status` shows it: the bot, its position and PnL, its open orders and its last error. Events keep carrying `Bot`. */
export const BotStatus = Bot.extend({
  /** Its position and PnL from its fills. */
  position: BotPosition,
  /** The orders its strategy counts as open. */
  openOrders: BotOpenOrders,
  /** Its latest error (the latest ERROR cause or engine error, whichever is later); null when it never had one. */
  lastError: BotLastError.nullable(),
});
export type BotStatus = z.infer<typeof BotStatus>;

export const BotList = z.object({ bots: z.array(BotStatus) });

export const BotCreateCmd = defineRequest({ type: 'bot.cmd.bot.create', payload: CreateBot, result: Bot });
export const BotStartCmd = defineRequest({ type: 'bot.cmd.bot.start', payload: BotStartCommand, result: Bot });
export const BotPauseCmd = defineRequest({ type: 'bot.cmd.bot.pause', payload: BotLifecycleCommand, result: Bot });
export const BotResumeCmd = defineRequest({ type: 'bot.cmd.bot.resume', payload: BotLifecycleCommand, result: Bot });
export const BotStopCmd = defineRequest({ type: 'bot.cmd.bot.stop', payload: BotStopCommand, result: BotStopResult });
export const BotGetQry = defineRequest({ type: 'bot.qry.bot.get', payload: BotQuery, result: BotStatus });
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
