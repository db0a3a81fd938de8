import { z } from 'zod';
import { defineRequest } from './catalog.js';
import { BotId, ExchangeId } from './bots.js';
import { TradingState } from './kill-switch.js';

export const ExposureReportQuery = z.object({
  /** Only the positions and open orders on this exchange (the firm total stays everyone's). */
  exchangeId: ExchangeId.optional(),
  /** Only this bot's positions and open orders (the firm total stays everyone's). */
  botId: BotId.optional(),
});
export type ExposureReportQuery = z.infer<typeof ExposureReportQuery>;

/** A figure against the limit that bounds it. */
export const LimitUse = z.object({
  /** The figure: an amount in quote, or a count; null when it cannot be valued (an instrument held has no price at all). */
  value: z.string().nullable(),
  /** The limit in force; null when no scope sets one. */
  limit: z.string().nullable(),
  /** The limit scope that sets it (`firm`, `exchange:<id>`, `bot:<id>`). */
  limitScope: z.string().nullable(),
  /** value / limit in %, two decimals (rounded half-up); null without a limit or a value. */
  utilizationPercent: z.string().nullable(),
});
export type LimitUse = z.infer<typeof LimitUse>;

/** PnL figures in quote (decimal strings), from the fills: average cost, marked to market. */
const PnlFields = {
  /** Realized against the average cost, fees left out. */
  realizedPnl: z.string(),
  /** Position × mark − cost. */
  unrealizedPnl: z.string(),
  /** Fees valued in quote (a fee in base at its fill's price, a third currency at its price when one was known). */
  fees: z.string(),
  /** Fees no price could value, per currency (never converted, not in the equity). */
  unpricedFees: z.record(z.string(), z.string()),
};

/** One holder's (a bot, or the manual orders) position and open orders in one instrument. */
export const ExposurePosition = z.object({
  /** Null for the operators' manual orders. */
  botId: z.string().nullable(),
  exchangeId: z.string(),
  symbol: z.string(),
  /** The quote currency, in which every amount of the row is. */
  quote: z.string(),
  /** Signed base from the fills (buys +, sells −). */
  quantity: z.string(),
  /** Average cost of the position; null when flat. */
  averageCost: z.string().nullable(),
  /** The price the row is valued at; null when none is known. */
  markPrice: z.string().nullable(),
  /**
   * `market`: the gateway's ticker (its reference price); `fill`: the instrument's last fill, younger
   * than any ticker seen; `order`: no ticker nor fill, the last price an order of it carried.
   */
  markSource: z.enum(['market', 'fill', 'order']).nullable(),
  /** |quantity| × mark; null without a mark. */
  notional: z.string().nullable(),
  /** Base of the buy orders counted against the limits (approved or open), and of the sells. */
  openBuy: z.string(),
  openSell: z.string(),
  /** (openBuy + openSell) × mark; null without a mark. */
  openOrderNotional: z.string().nullable(),
  ...PnlFields,
  /** realizedPnl + unrealizedPnl − fees. */
  equity: z.string(),
});
export type ExposurePosition = z.infer<typeof ExposurePosition>;

/** Equity figures of a bot or of the firm, each loss figure against its limit. */
const EquityFields = {
  ...PnlFields,
  /** realizedPnl + unrealizedPnl − fees. */
  equity: z.string(),
  /** Highest equity seen (≥ 0). */
  peak: z.string(),
  /** peak − equity, against maxDrawdown. */
  drawdown: LimitUse,
  /** Equity now − equity at 00:00 UTC. */
  dailyPnl: z.string(),
  /** The loss since 00:00 UTC (0 when the day is a gain), against maxDailyLoss. */
  dailyLoss: LimitUse,
  /** The quote every amount is in; null when the positions are in several quotes (then added as they are). */
  currency: z.string().nullable(),
};

export const ExposureBot = z.object({
  /** Null for the operators' manual orders (no bot, no bot limit). */
  botId: z.string().nullable(),
  /** Worst-case position with its open orders, at the reference prices, against the bot's maxOpenNotional. */
  exposure: LimitUse,
  openOrderNotional: z.string().nullable(),
  ...EquityFields,
  /** Fills of the last minute, against maxFillsPerMinute (the bot's, else the firm's). */
  fillsLastMinute: LimitUse,
  /** Orders denied in the last minute that count for a runaway bot, against maxDenialsPerMinute. */
  deniedLastMinute: LimitUse,
  /** The state of its kill-switch scope `bot:<id>` (null for the manual orders). */
  killSwitch: TradingState.nullable(),
});
export type ExposureBot = z.infer<typeof ExposureBot>;

export const ExposureExchange = z.object({
  exchangeId: z.string(),
  /** Everyone's worst-case positions on it, against its maxOpenNotional. */
  exposure: LimitUse,
  openOrderNotional: z.string().nullable(),
  ...PnlFields,
});
export type ExposureExchange = z.infer<typeof ExposureExchange>;

export const ExposureFirm = z.object({
  /** Everyone's worst-case positions, against the firm's maxOpenNotional. */
  exposure: LimitUse,
  openOrderNotional: z.string().nullable(),
  ...EquityFields,
  /** The state of the `global` kill-switch scope. */
  killSwitch: TradingState,
});
export type ExposureFirm = z.infer<typeof ExposureFirm>;

/** Positions, open orders, PnL and drawdown against their limits, as one risk-service replica knows them now. */
export const ExposureReport = z.object({
  /** When it was computed (ISO-8601 UTC). */
  generatedAt: z.iso.datetime({ offset: true }),
  /** The filters applied. */
  exchangeId: z.string().nullable(),
  botId: z.string().nullable(),
  /** Per holder and instrument, with a position or open orders or fills; manual orders last. */
  positions: z.array(ExposurePosition),
  /** Per bot in the positions (whole-bot figures), manual orders last. */
  bots: z.array(ExposureBot),
  /** Per exchange in the positions. */
  exchanges: z.array(ExposureExchange),
  /** Everyone, whatever the filters. */
  firm: ExposureFirm,
});
export type ExposureReport = z.infer<typeof ExposureReport>;

/** Positions and PnL against their limits (`risk:exposure:report`), from the replica's book and ledger. */
export const RiskExposureReportQry = defineRequest({ type: 'risk.qry.exposure.report', payload: ExposureReportQuery, result: ExposureReport });
