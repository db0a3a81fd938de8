/**
 * The pre-trade checks (DESIGN §6), as pure functions: an order, the limits, the market, the book and
 * the scope's trading state in; approve or deny with a closed reason out. No clock of their own (`now`
 * is passed in), no I/O. The first check that fails decides; they run cheapest and most basic first.
 * risk-service turns a denial into its reply and an event; it records an approval in the book itself.
 */
import { Decimal } from '../decimal-math.js';
import type { TradingState } from '../kill-switch.js';
import { EMPTY_HOLDING, withOrder, worstCaseQuantity, type BookOrder, type ExposureBook, type Holding } from './exposure-book.js';
import {
  limitScopesCovering,
  messageRateLimits,
  parseLimitScope,
  strictest,
  strictestReferenceAge,
  type AppliedLimit,
  type LimitLookup,
  type ParsedLimitScope,
} from './limits.js';
import { quoteAgeMs, referencePrice, type MarketQuote } from './market-quote.js';

/** Every reason the checks of this module deny for (the contracts' DenialReason has each, documented). */
export const PRE_TRADE_DENIALS = [
  'KILL_SWITCH_HALTED',
  'KILL_SWITCH_REDUCING',
  'QUANTITY_NOT_POSITIVE',
  'PRICE_NOT_POSITIVE',
  'REFERENCE_PRICE_MISSING',
  'REFERENCE_PRICE_STALE',
  'INSTRUMENT_STEPS_UNKNOWN',
  'QUANTITY_OFF_STEP',
  'PRICE_OFF_TICK',
  'PRICE_OUTSIDE_COLLAR',
  'ORDER_QUANTITY_OVER_LIMIT',
  'ORDER_NOTIONAL_OVER_LIMIT',
  'DUPLICATE_ORDER',
  'MESSAGE_RATE_OVER_LIMIT',
  'OPEN_NOTIONAL_OVER_LIMIT',
] as const;
export type PreTradeDenialReason = (typeof PRE_TRADE_DENIALS)[number];

export interface PreTradeDenial {
  readonly approved: false;
  readonly reason: PreTradeDenialReason;
  /** For people: what was wrong, with the figures. */
  readonly message: string;
  /** The kill-switch or limit scope that denies it, when one does. */
  readonly scope?: string;
  /** The figures behind the denial (limit, value, reference, age…), as strings. */
  readonly context: Readonly<Record<string, string>>;
}

export interface PreTradeApproval {
  readonly approved: true;
  /** The reference price the order was checked against. */
  readonly referencePrice: Decimal;
  /** Its notional in quote: quantity × limit price, or × the reference for a market order. */
  readonly notional: Decimal;
}

export type PreTradeDecision = PreTradeApproval | PreTradeDenial;

export interface PreTradeOrder extends BookOrder {
  /** The sender says it only reduces a position (the check does not take its word for it). */
  readonly reduceOnly?: boolean;
}

/** The most restrictive kill-switch state covering the order, and the scope that imposes it. */
export interface TradingStateView {
  readonly state: TradingState;
  readonly scope?: string | undefined;
  readonly reason?: string | undefined;
}

export interface PreTradeInput {
  readonly order: PreTradeOrder;
  /** Now, epoch ms. */
  readonly now: number;
  /** The order's market, from the gateway's tickers; undefined when none was ever seen. */
  readonly quote: MarketQuote | undefined;
  readonly limits: LimitLookup;
  readonly book: ExposureBook;
  readonly tradingState: TradingStateView;
  /** The same order of the same bot within this long is a duplicate. */
  readonly duplicateWindowMs: number;
  /** The price to value another instrument's holdings at (its latest reference of any age); the book's last price when undefined. */
  readonly priceOf: (exchangeId: string, symbol: string) => Decimal | undefined;
}

/** Message rates are counted over any one second. */
export const MESSAGE_RATE_WINDOW_MS = 1000;

const deny = (reason: PreTradeDenialReason, message: string, context: Record<string, string> = {}, scope?: string): PreTradeDenial =>
  scope === undefined ? { approved: false, reason, message, context } : { approved: false, reason, message, context, scope };

const describe = (o: PreTradeOrder) => `${o.side} ${o.quantity.toString()} ${o.symbol}${o.price ? ` at ${o.price.toString()}` : ' at market'}`;

/** Runs every check in order; the first denial decides. */
export function checkPreTrade(input: PreTradeInput): PreTradeDecision {
  const early = checkHalted(input.tradingState) ?? checkAmounts(input.order);
  if (early) return early;
  const reference = checkReference(input);
  if ('approved' in reference) return reference;
  const ref = reference.price;
  const denial =
    checkSteps(input.order, input.quote!) ??
    checkCollar(input.order, ref, input.limits) ??
    checkReducing(input.order, input.tradingState, input.book) ??
    checkOrderSize(input.order, ref, input.limits) ??
    checkDuplicate(input.order, input.book, input.now, input.duplicateWindowMs) ??
    checkMessageRate(input.order, input.book, input.now, input.limits) ??
    checkOpenNotional(input, ref);
  return denial ?? { approved: true, referencePrice: ref, notional: notionalOf(input.order, ref) };
}

/** Quantity × limit price, or × the reference for a market order. */
export function notionalOf(order: Pick<PreTradeOrder, 'quantity' | 'price'>, reference: Decimal): Decimal {
  return order.quantity.times(order.price ?? reference);
}

/** A HALTED scope covering the order denies it (REDUCING is judged once the position is known). */
export function checkHalted(state: TradingStateView): PreTradeDenial | undefined {
  if (state.state !== 'HALTED') return undefined;
  return deny('KILL_SWITCH_HALTED', `kill switch ${state.scope ?? '?'} is HALTED: ${state.reason ?? ''}`, {}, state.scope);
}

/** Quantity positive; a limit order has a positive price, a market order none. */
export function checkAmounts(order: PreTradeOrder): PreTradeDenial | undefined {
  if (!order.quantity.isPositive())
    return deny('QUANTITY_NOT_POSITIVE', `quantity ${order.quantity.toString()} is not positive`, { quantity: order.quantity.toString() });
  if (order.type === 'limit' && !order.price?.isPositive()) {
    return deny('PRICE_NOT_POSITIVE', `a limit order needs a positive price (got ${order.price?.toString() ?? 'none'})`, {
      price: order.price?.toString() ?? '',
    });
  }
  if (order.type === 'market' && order.price !== undefined)
    return deny('PRICE_NOT_POSITIVE', 'a market order carries no price', { price: order.price.toString() });
  return undefined;
}

/** A reference price no older than the strictest maxReferenceAgeMs (missing, stale or no age limit at all: deny). */
export function checkReference(input: Pick<PreTradeInput, 'order' | 'quote' | 'limits' | 'now'>): { price: Decimal } | PreTradeDenial {
  const { order, quote } = input;
  const ref = quote ? referencePrice(quote) : null;
  if (!quote || !ref) {
    return deny(
      'REFERENCE_PRICE_MISSING',
      `no reference price for ${order.symbol} on ${order.exchangeId}: the gateway has published no ticker with a price for it`,
      {
        exchangeId: order.exchangeId,
        symbol: order.symbol,
      },
    );
  }
  const maxAge = strictestReferenceAge(order, input.limits);
  const ageMs = quoteAgeMs(quote, input.now);
  if (!maxAge) return deny('REFERENCE_PRICE_STALE', 'no scope sets maxReferenceAgeMs: no reference price can be judged fresh', { ageMs: String(ageMs) });
  if (ageMs > maxAge.value) {
    return deny(
      'REFERENCE_PRICE_STALE',
      `the reference price of ${order.symbol} on ${order.exchangeId} is ${ageMs} ms old (limit ${maxAge.value} ms, ${maxAge.scope})`,
      { referencePrice: ref.toString(), ageMs: String(ageMs), limitMs: String(maxAge.value) },
      maxAge.scope,
    );
  }
  return { price: ref };
}

/** Quantity on the lot size, limit price on the tick; unknown steps deny (fail closed: the order cannot be judged). */
export function checkSteps(order: PreTradeOrder, quote: MarketQuote): PreTradeDenial | undefined {
  const { tickSize, stepSize } = quote;
  if (!stepSize?.isPositive() || (order.type === 'limit' && !tickSize?.isPositive())) {
    return deny('INSTRUMENT_STEPS_UNKNOWN', `the price and quantity steps of ${order.symbol} on ${order.exchangeId} are unknown (its tickers carry none)`, {
      tickSize: tickSize?.toString() ?? '',
      stepSize: stepSize?.toString() ?? '',
    });
  }
  if (!order.quantity.isMultipleOf(stepSize)) {
    return deny('QUANTITY_OFF_STEP', `quantity ${order.quantity.toString()} is not a multiple of the lot size ${stepSize.toString()}`, {
      quantity: order.quantity.toString(),
      stepSize: stepSize.toString(),
    });
  }
  if (order.price && !order.price.isMultipleOf(tickSize!)) {
    return deny('PRICE_OFF_TICK', `price ${order.price.toString()} is not a multiple of the tick size ${tickSize!.toString()}`, {
      price: order.price.toString(),
      tickSize: tickSize!.toString(),
    });
  }
  return undefined;
}

/**
 * A limit price may cross the market by at most the strictest collar: a buy at most collar % above the
 * reference, a sell at most collar % below it. A price on the passive side (a buy below, a sell above)
 * rests and cannot trade through the market: it is not limited here, and its notional still counts.
 * A market order has no price: it is checked at the reference (notional, exposure).
 */
export function checkCollar(order: PreTradeOrder, reference: Decimal, limits: LimitLookup): PreTradeDenial | undefined {
  if (!order.price) return undefined;
  const collar = strictest('priceCollarPercent', order, limits);
  if (!collar) return undefined;
  const band = reference.times(collar.value).dividedBy('100', reference.scale + collar.value.scale + 2, 'down');
  const crossing = order.side === 'buy' ? order.price.gt(reference.plus(band)) : order.price.lt(reference.minus(band));
  if (!crossing) return undefined;
  const distance = order.price.minus(reference).abs().times('100').dividedBy(reference, 2, 'up');
  return deny(
    'PRICE_OUTSIDE_COLLAR',
    `${order.side} at ${order.price.toString()} is ${distance.toString()} % ${order.side === 'buy' ? 'above' : 'below'} the reference ${reference.toString()} (collar ${collar.value.toString()} %, ${collar.scope})`,
    { price: order.price.toString(), referencePrice: reference.toString(), collarPercent: collar.value.toString(), distancePercent: distance.toString() },
    collar.scope,
  );
}

/**
 * In a REDUCING scope, only an order that shrinks the position passes: the opposite side of the
 * position, for no more than what is left of it once the open orders on that side are counted. A bot's
 * order must shrink both the bot's own position (from its fills) and everyone's position in the
 * instrument (the account's base is shared); a manual order is judged on everyone's. The sender's
 * reduceOnly flag alone is not enough.
 */
export function checkReducing(order: PreTradeOrder, state: TradingStateView, book: ExposureBook): PreTradeDenial | undefined {
  if (state.state !== 'REDUCING') return undefined;
  const holdings: Array<[string, Holding]> = [['firm', book.instrumentHolding(order.exchangeId, order.symbol)]];
  if (order.botId !== undefined) holdings.unshift([`bot ${order.botId}`, book.holding(order.exchangeId, order.symbol, order.botId)]);
  for (const [whose, holding] of holdings) {
    const { position } = holding;
    const reducingSide = position.isPositive() ? 'sell' : position.isNegative() ? 'buy' : undefined;
    const pending = reducingSide === 'sell' ? holding.openSell : holding.openBuy;
    const room = Decimal.max(Decimal.ZERO, position.abs().minus(pending));
    if (order.side === reducingSide && order.quantity.lte(room)) continue;
    return deny(
      'KILL_SWITCH_REDUCING',
      `kill switch ${state.scope ?? '?'} is REDUCING (${state.reason ?? ''}): ${describe(order)} does not reduce the ${whose} position ${position.toString()} in ${order.symbol} (room ${room.toString()} once the open ${reducingSide ?? 'orders'} are counted)`,
      { position: position.toString(), pending: pending.toString(), room: room.toString() },
      state.scope,
    );
  }
  return undefined;
}

/** The strictest max order quantity and max order notional among the covering scopes. */
export function checkOrderSize(order: PreTradeOrder, reference: Decimal, limits: LimitLookup): PreTradeDenial | undefined {
  const maxQuantity = strictest('maxOrderQuantity', order, limits);
  if (maxQuantity && order.quantity.gt(maxQuantity.value)) {
    return deny(
      'ORDER_QUANTITY_OVER_LIMIT',
      `quantity ${order.quantity.toString()} is over the limit ${maxQuantity.value.toString()} of ${maxQuantity.scope}`,
      { quantity: order.quantity.toString(), limit: maxQuantity.value.toString() },
      maxQuantity.scope,
    );
  }
  const maxNotional = strictest('maxOrderNotional', order, limits);
  const notional = notionalOf(order, reference);
  if (maxNotional && notional.gt(maxNotional.value)) {
    return deny(
      'ORDER_NOTIONAL_OVER_LIMIT',
      `notional ${notional.toString()} (${describe(order)}${order.price ? '' : `, reference ${reference.toString()}`}) is over the limit ${maxNotional.value.toString()} of ${maxNotional.scope}`,
      { notional: notional.toString(), limit: maxNotional.value.toString(), referencePrice: reference.toString() },
      maxNotional.scope,
    );
  }
  return undefined;
}

/**
 * The same order (bot, market, side, quantity, price) under another client order id, approved within the
 * window and still working (approved, or open at the venue): a bot sending one order twice. An order sent
 * again once the first has ended (filled, rejected, cancelled) is a new one — a grid re-placing a level
 * after a round trip — and a bot that loops that way meets its message rate. Operators' manual orders are
 * not judged here.
 */
export function checkDuplicate(order: PreTradeOrder, book: ExposureBook, now: number, windowMs: number): PreTradeDenial | undefined {
  if (order.botId === undefined) return undefined;
  for (const { at, order: o } of book.sameOrderApprovals(order, now - windowMs)) {
    if (o.clientOrderId === order.clientOrderId || !book.working(o.clientOrderId)) continue;
    return deny(
      'DUPLICATE_ORDER',
      `bot ${order.botId} sent the same order (${describe(order)}) as ${o.clientOrderId} ${Math.max(0, now - at)} ms ago (window ${windowMs} ms)`,
      { duplicateOf: o.clientOrderId, ageMs: String(Math.max(0, now - at)), windowMs: String(windowMs) },
      `bot:${order.botId}`,
    );
  }
  return undefined;
}

/** At most maxMessagesPerSecond orders approved in any one second, per bot and per exchange account. */
export function checkMessageRate(order: PreTradeOrder, book: ExposureBook, now: number, limits: LimitLookup): PreTradeDenial | undefined {
  const { bot, account } = messageRateLimits(order, limits);
  if (!bot && !account) return undefined;
  const after = now - MESSAGE_RATE_WINDOW_MS;
  const byBot = bot && order.botId !== undefined ? book.approvalsOfBotAfter(order.botId, after) : 0;
  const byAccount = account ? book.approvalsOfAccountAfter(order, after) : 0;
  const over = (count: number, limit: AppliedLimit<number>, who: string) =>
    deny(
      'MESSAGE_RATE_OVER_LIMIT',
      `${who} already has ${count} orders approved in the last second (limit ${limit.value} per second, ${limit.scope})`,
      { count: String(count), limit: String(limit.value) },
      limit.scope,
    );
  if (bot && byBot >= bot.value) return over(byBot, bot, `bot ${order.botId}`);
  if (account && byAccount >= account.value) return over(byAccount, account, `account ${order.accountId ?? order.exchangeId}`);
  return undefined;
}

/**
 * Every covering scope's maxOpenNotional: the scope's exposure with the order must stay within it. An
 * order that does not raise the exposure (one that reduces a position) passes even over the limit, so
 * that a scope over a limit lowered under it can still get back.
 */
export function checkOpenNotional(input: PreTradeInput, reference: Decimal): PreTradeDenial | undefined {
  const { order } = input;
  for (const scope of limitScopesCovering(order)) {
    const limit = input.limits(scope)?.maxOpenNotional;
    if (!limit) continue;
    const parsed = parseLimitScope(scope) as ParsedLimitScope;
    const exposure = scopeExposure(input.book, parsed, input.priceOf, { order, reference });
    if (exposure.unpriced) {
      return deny(
        'OPEN_NOTIONAL_OVER_LIMIT',
        `the exposure of ${scope} cannot be valued: no price is known for ${exposure.unpriced}`,
        { unpriced: exposure.unpriced },
        scope,
      );
    }
    if (exposure.after.gt(limit) && exposure.after.gt(exposure.before)) {
      return deny(
        'OPEN_NOTIONAL_OVER_LIMIT',
        `the exposure of ${scope} would be ${exposure.after.toString()} with ${describe(order)} (now ${exposure.before.toString()}, limit ${limit.toString()})`,
        { before: exposure.before.toString(), after: exposure.after.toString(), limit: limit.toString(), referencePrice: reference.toString() },
        scope,
      );
    }
  }
  return undefined;
}

export interface ScopeExposure {
  /** The scope's exposure now, in quote. */
  readonly before: Decimal;
  /** With the order added (equal to `before` without one). */
  readonly after: Decimal;
  /** An instrument whose holdings no price values (the exposure is then unknown). */
  readonly unpriced?: string;
}

/**
 * A scope's exposure: the sum over its instruments of the worst-case quantity (netted over the scope's
 * holders) times the instrument's price — the order's own reference for the order's instrument, else
 * `priceOf`, else the book's last price. With `pending`, also the exposure once that order is added.
 * Amounts in different quote currencies add up as they are (the firm trades one quote today).
 */
export function scopeExposure(
  book: ExposureBook,
  scope: ParsedLimitScope,
  priceOf: (exchangeId: string, symbol: string) => Decimal | undefined,
  pending?: { order: BookOrder; reference: Decimal },
): ScopeExposure {
  const holdings =
    scope.kind === 'firm'
      ? book.instrumentHoldings()
      : scope.kind === 'exchange'
        ? book.instrumentHoldings().filter((h) => h.exchangeId === scope.exchangeId)
        : scope.kind === 'instrument'
          ? [{ exchangeId: scope.exchangeId, symbol: scope.symbol, holding: book.instrumentHolding(scope.exchangeId, scope.symbol) }]
          : book.botHoldings(scope.botId);
  let before = Decimal.ZERO;
  let after = Decimal.ZERO;
  let sawOrderInstrument = false;
  for (const { exchangeId, symbol, holding } of holdings) {
    const isOrderInstrument = pending !== undefined && pending.order.exchangeId === exchangeId && pending.order.symbol === symbol;
    const price = isOrderInstrument ? pending.reference : (priceOf(exchangeId, symbol) ?? book.lastPrice(exchangeId, symbol));
    const now = worstCaseQuantity(holding);
    if (!price) {
      if (now.isZero()) continue;
      return { before, after, unpriced: `${symbol} on ${exchangeId}` };
    }
    before = before.plus(now.times(price));
    after = after.plus(isOrderInstrument ? worstCaseQuantity(withOrder(holding, pending.order.side, pending.order.quantity)).times(price) : now.times(price));
    sawOrderInstrument ||= isOrderInstrument;
  }
  if (pending && !sawOrderInstrument)
    after = after.plus(worstCaseQuantity(withOrder(EMPTY_HOLDING, pending.order.side, pending.order.quantity)).times(pending.reference));
  return { before, after };
}
