import type { BotLastError, BotOpenOrders, BotPosition, BotStatus, TickerView } from '@garde/contracts';
import {
  Decimal,
  STRATEGIES,
  applyFill,
  averageEntryPrice,
  emptyPositionOf,
  isStrategyName,
  unrealizedPnl,
  type Position,
  type PositionFill,
} from '@garde/domain';
import type { BotRow } from '../../persistence/bot.entities.js';
import { toBot } from '../../persistence/bot.mapper.js';
import type { BotStatusDetails, StoredFill } from '../../persistence/bot.repository.js';
import type { EngineState } from '../run-bot-step/run-bot-step.use-case.js';

/** Digits of the average entry price shown. */
const AVERAGE_PRICE_SCALE = 12;

/** The price a position is valued at, or why there is none. */
export type MarkPrice = { ok: true; price: Decimal; at: string } | { ok: false; why: string };

/**
 * The tickers the gateway answered (or the failure of the request), as a mark price per bot market: the
 * last price of a fresh ticker; a stale one, one without a last price, or none, is no mark price.
 */
export function markPrices(reply: { ok: true; tickers: TickerView[] } | { ok: false; why: string }): (exchangeId: string, symbol: string) => MarkPrice {
  if (!reply.ok) {
    const why = `no mark price: ${reply.why}`;
    return () => ({ ok: false, why });
  }
  const byMarket = new Map(reply.tickers.map((t) => [`${t.exchangeId} ${t.symbol}`, t]));
  return (exchangeId, symbol) => {
    const ticker = byMarket.get(`${exchangeId} ${symbol}`);
    if (!ticker) return { ok: false, why: `no mark price: the gateway has no ticker for ${symbol} on ${exchangeId} (it polls the symbols in use only)` };
    if (ticker.stale) {
      return { ok: false, why: `no mark price: the ticker for ${symbol} on ${exchangeId} is stale (${Math.round(ticker.ageMs / 1000)} s old)` };
    }
    if (!ticker.last) return { ok: false, why: `no mark price: the ticker for ${symbol} on ${exchangeId} has no last price` };
    return { ok: true, price: Decimal.of(ticker.last), at: ticker.receivedAt };
  };
}

/** The bot's position from its recorded fills (in their order), valued at `mark`. */
export function positionView(symbol: string, fills: readonly StoredFill[], mark: MarkPrice): BotPosition {
  let position: Position = emptyPositionOf(symbol);
  let withoutDetails = 0;
  for (const f of fills) {
    const fill = detailsOf(f);
    if (fill === undefined) withoutDetails++;
    else if (fill !== null) position = applyFill(position, fill);
  }
  const flat = position.quantity.isZero();
  const unrealized = mark.ok ? unrealizedPnl(position, mark.price) : flat ? Decimal.ZERO : null;
  return {
    baseCurrency: position.base,
    quoteCurrency: position.quote,
    quantity: position.quantity.toString(),
    averagePrice: averageEntryPrice(position, AVERAGE_PRICE_SCALE)?.toString() ?? null,
    realizedPnl: position.realizedPnl.toString(),
    unrealizedPnl: unrealized?.toString() ?? null,
    unrealizedPnlNote: unrealized === null && !mark.ok ? mark.why : null,
    markPrice: mark.ok ? mark.price.toString() : null,
    markPriceAt: mark.ok ? mark.at : null,
    fees: Object.fromEntries(Object.entries(position.fees).map(([currency, fee]) => [currency, fee.toString()])),
    fillCount: position.fills,
    fillsWithoutDetails: withoutDetails,
  };
}

/** A stored fill for the position; undefined when its details were not recorded, null when it moved nothing. */
function detailsOf(f: StoredFill): PositionFill | null | undefined {
  if (f.side === null || f.price === null || f.quantity === null || f.fee === null) return undefined;
  const quantity = Decimal.of(f.quantity);
  if (!quantity.isPositive()) return null;
  return { side: f.side, price: Decimal.of(f.price), quantity, fee: Decimal.of(f.fee), feeCurrency: f.feeCurrency };
}

/**
 * The orders the strategy counts as open after its last step, what of them the engine has not sent
 * yet, and `atGateway`: the gateway's count of the bot's orders not final (null: no answer).
 */
export function openOrdersView(strategy: string, engine: unknown, atGateway: number | null): BotOpenOrders {
  const saved = engine as EngineState | null;
  if (!saved) return { count: 0, unsent: 0, unsentCancels: 0, atGateway };
  const places = saved.outbox.filter((i) => i.kind === 'place').map((i) => i.clientOrderId);
  const open = isStrategyName(strategy) ? STRATEGIES[strategy].openOrders(saved.strategy as never) : [];
  return { count: new Set([...open, ...places]).size, unsent: places.length, unsentCancels: saved.outbox.length - places.length, atGateway };
}

/** The later of the bot's latest ERROR cause and the latest error its engine recorded; null when neither. */
export function lastErrorView(details: Pick<BotStatusDetails, 'engine' | 'lastFailure'>): BotLastError | null {
  const failure = details.lastFailure;
  const engineErrors = (details.engine as EngineState | null)?.errors ?? [];
  const engineError = engineErrors.reduce<{ at: number; what: string } | undefined>((latest, e) => (!latest || e.at >= latest.at ? e : latest), undefined);
  if (engineError && (!failure || engineError.at > failure.at.getTime())) {
    return { source: 'engine', message: engineError.what, at: new Date(engineError.at).toISOString() };
  }
  return failure ? { source: 'state', message: failure.reason, at: failure.at.toISOString() } : null;
}

/** The whole status of one bot. */
export function botStatus(row: BotRow, details: BotStatusDetails | undefined, mark: MarkPrice, atGateway: number | null): BotStatus {
  const d = details ?? { engine: null, fills: [], lastFailure: null };
  return {
    ...toBot(row),
    position: positionView(row.symbol, d.fills, mark),
    openOrders: openOrdersView(row.strategy, d.engine, atGateway),
    lastError: lastErrorView(d),
  };
}
