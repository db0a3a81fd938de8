/**
 * Grid: a ladder of limit orders at N evenly spaced prices between `lower` and `upper`.
 *
 * On its first step the grid leaves the level nearest the price empty, queues a buy of `orderSize` at
 * each level below it and a sell at each level above it, and buys at market the base those sells need
 * (a grid never sells base it does not hold). When an order at level i fills, the opposite order is
 * placed one level away: a buy at i → a sell of the base it brought at i+1; a sell at i → a buy of
 * `orderSize` at i−1. A level holds at most one open order: an order that should go to a busy level
 * waits in that level's queue until the level is free (this only happens when fills arrive out of
 * order). An order that ends unfilled (canceled, rejected) is queued again at its level.
 */
import { Decimal } from '../decimal-math.js';
import {
  StrategyError,
  checkMarket,
  strategyOrderId,
  type OrderSide,
  type ParametersResult,
  type StrategyInput,
  type StrategyIntent,
  type StrategyStep,
} from './strategy.js';
import { ParameterReader, addFee, baseFeeOf, copyState, filledUp, splitSymbol, toStep } from './support.js';

export const GRID_MAX_LEVELS = 200;

export interface GridParams {
  /** Price of the lowest level. */
  readonly lower: Decimal;
  /** Price of the highest level. */
  readonly upper: Decimal;
  /** Number of price levels, ends included. */
  readonly levels: number;
  /** Base quantity of each buy. */
  readonly orderSize: Decimal;
  /** Price step, when the venue's is not given with the market data. */
  readonly tickSize?: Decimal;
  /** Quantity step, when the venue's is not given with the market data. */
  readonly stepSize?: Decimal;
}

const GRID_PARAMETERS = ['lower', 'upper', 'levels', 'orderSize', 'tickSize', 'stepSize'] as const;

/** Parses a bot's stored `parameters` for the grid, reporting every error at once. */
export function parseGridParameters(raw: unknown): ParametersResult<GridParams> {
  const r = new ParameterReader(raw, GRID_PARAMETERS);
  const lower = r.decimal('lower', true);
  const upper = r.decimal('upper', true);
  const levels = r.integer('levels', true, 2, GRID_MAX_LEVELS);
  const orderSize = r.decimal('orderSize', true);
  const tickSize = r.decimal('tickSize', false);
  const stepSize = r.decimal('stepSize', false);
  if (lower && upper && !lower.lt(upper)) r.error(`lower must be below upper (lower ${lower.toString()}, upper ${upper.toString()})`);
  if (orderSize && stepSize && orderSize.roundToStep(stepSize, 'down').isZero()) {
    r.error(`orderSize ${orderSize.toString()} is smaller than stepSize ${stepSize.toString()}`);
  }
  if (lower && upper && levels !== undefined && lower.lt(upper) && tickSize) {
    const problem = ladderProblem(gridPrices(lower, upper, levels, tickSize), tickSize);
    if (problem) r.error(problem);
  }
  return r.result(() => ({
    lower: lower!,
    upper: upper!,
    levels: levels!,
    orderSize: orderSize!,
    ...(tickSize && { tickSize }),
    ...(stepSize && { stepSize }),
  }));
}

/** The level prices, lowest first: evenly spaced, each rounded down to the tick when one is known. */
export function gridPrices(lower: Decimal, upper: Decimal, levels: number, tickSize?: Decimal): Decimal[] {
  // Without a tick, four more digits than the bounds were given with.
  const scale = Math.min(18, Math.max(lower.scale, upper.scale) + 4);
  const span = upper.minus(lower);
  const intervals = Decimal.of(BigInt(levels - 1));
  const prices: Decimal[] = [];
  for (let i = 0; i < levels; i++) {
    const exact = lower.plus(span.times(Decimal.of(BigInt(i))).dividedBy(intervals, scale, 'down'));
    prices.push(tickSize ? exact.roundToStep(tickSize, 'down') : exact);
  }
  return prices;
}

function ladderProblem(prices: readonly Decimal[], tickSize: Decimal): string | undefined {
  if (!prices[0]!.isPositive()) return `the lowest level rounds to 0 with tickSize ${tickSize.toString()}`;
  for (let i = 1; i < prices.length; i++) {
    if (prices[i]!.lte(prices[i - 1]!)) {
      return `${prices.length} levels are closer than tickSize ${tickSize.toString()}: two levels would share the price ${prices[i]!.toString()}`;
    }
  }
  return undefined;
}

/** One of the grid's orders, as the grid last knew it. Amounts are decimal strings. */
export interface GridOrder {
  readonly clientOrderId: string;
  readonly side: OrderSide;
  readonly quantity: string;
  /** Base quantity executed so far. */
  filled: string;
  /** Base the order brought, net of fees charged in base (buys only). */
  net: string;
}

/** An order waiting for its level to be free (or, for a sell, for the base it needs). */
export interface GridQueued {
  readonly side: OrderSide;
  quantity: string;
  /** A sell backed by the initial market buy, sized once that buy is done. */
  fromInit?: boolean;
}

export interface GridLevel {
  readonly price: string;
  /** The one open order at this level, if any. */
  order: GridOrder | null;
  queue: GridQueued[];
}

/** The grid's state: plain JSON, to persist between steps. */
export interface GridState {
  readonly v: 1;
  readonly strategy: 'grid';
  readonly botId: string;
  readonly symbol: string;
  /** The sizes the ladder was built with (frozen at the first step); null before it. */
  ladder: { orderSize: string; tickSize: string | null; stepSize: string | null } | null;
  /** Lowest price first; empty before the first step. */
  levels: GridLevel[];
  /** The initial market buy, while it is open. */
  init: GridOrder | null;
  /** Orders placed so far: the sequence in client order ids. */
  seq: number;
  /** Base the bot holds: bought minus sold, net of fees charged in base. */
  base: string;
  /** Quote received minus quote paid (fees excluded). */
  quote: string;
  /** Fees paid, per currency. */
  fees: Record<string, string>;
}

export function initialGridState(botId: string, symbol: string): GridState {
  return { v: 1, strategy: 'grid', botId, symbol, ladder: null, levels: [], init: null, seq: 0, base: '0', quote: '0', fees: {} };
}

/** Client order ids of the grid's open orders (for reconciliation and cancel-all). */
export function gridOpenOrders(state: GridState): string[] {
  const ids = state.levels.flatMap((l) => (l.order ? [l.order.clientOrderId] : []));
  return state.init ? [state.init.clientOrderId, ...ids] : ids;
}

export function stepGrid(params: GridParams, input: StrategyInput<GridState>): StrategyStep<GridState> {
  const { market } = input;
  checkMarket(input.state.symbol, market);
  // Most steps are a price tick for a grid waiting on its orders: the very same state back, no copy.
  if (!input.fills?.length && !input.endedOrders?.length && gridSettled(input.state)) return { state: input.state, intents: [], unknownFills: [] };
  const state = copyState(input.state);
  const intents: StrategyIntent[] = [];
  const unknownFills: string[] = [];
  if (!state.ladder) buildLadder(state, params, market.last, market.tickSize, market.stepSize, intents);
  const ladder = state.ladder!;
  const stepSize = ladder.stepSize ? Decimal.of(ladder.stepSize) : undefined;
  const { base: baseCurrency, quote: quoteCurrency } = splitSymbol(state.symbol);

  const open = new Map<string, GridOrder>();
  if (state.init) open.set(state.init.clientOrderId, state.init);
  for (const level of state.levels) if (level.order) open.set(level.order.clientOrderId, level.order);

  for (const fill of input.fills ?? []) {
    const order = open.get(fill.clientOrderId);
    if (!order) {
      unknownFills.push(fill.clientOrderId);
      continue;
    }
    if (fill.side !== order.side) {
      throw new StrategyError('INCONSISTENT_FILL', `a ${fill.side} fill for ${order.side} order ${order.clientOrderId}`);
    }
    const baseFee = baseFeeOf(fill, baseCurrency);
    const notional = fill.price.times(fill.quantity);
    if (order.side === 'buy') {
      state.base = Decimal.of(state.base).plus(fill.quantity).minus(baseFee).toString();
      state.quote = Decimal.of(state.quote).minus(notional).toString();
      order.net = Decimal.of(order.net).plus(fill.quantity).minus(baseFee).toString();
    } else {
      state.base = Decimal.of(state.base).minus(fill.quantity).minus(baseFee).toString();
      state.quote = Decimal.of(state.quote).plus(notional).toString();
    }
    order.filled = Decimal.of(order.filled).plus(fill.quantity).toString();
    addFee(state.fees, fill.feeCurrency ?? quoteCurrency, fill.fee);
  }

  const ended = new Set(input.endedOrders ?? []);
  const orderSize = Decimal.of(ladder.orderSize);
  state.levels.forEach((level, i) => {
    const order = level.order;
    if (!order) return;
    const filled = Decimal.of(order.filled);
    const complete = filled.gte(order.quantity);
    if (!complete && !ended.has(order.clientOrderId)) return;
    level.order = null;
    if (order.side === 'buy') {
      const sell = toStep(Decimal.of(order.net), stepSize, 'down');
      if (sell.isPositive() && i + 1 < state.levels.length) state.levels[i + 1]!.queue.push({ side: 'sell', quantity: sell.toString() });
    } else if (filled.isPositive() && i > 0) {
      const buy = complete ? orderSize : toStep(filled, stepSize, 'down');
      if (buy.isPositive()) state.levels[i - 1]!.queue.push({ side: 'buy', quantity: buy.toString() });
    }
    if (!complete) {
      const rest = toStep(Decimal.of(order.quantity).minus(filled), stepSize, 'down');
      if (rest.isPositive()) level.queue.unshift({ side: order.side, quantity: rest.toString() });
    }
  });

  if (state.init && (filledUp(state.init) || ended.has(state.init.clientOrderId))) {
    // The sells the initial buy was for get the base it actually brought, lowest level first.
    let left = toStep(Decimal.of(state.init.net), stepSize, 'down');
    for (const level of state.levels) {
      level.queue = level.queue.filter((queued) => {
        if (!queued.fromInit) return true;
        const quantity = Decimal.min(Decimal.of(queued.quantity), left);
        if (!quantity.isPositive()) return false;
        left = left.minus(quantity);
        queued.quantity = quantity.toString();
        delete queued.fromInit;
        return true;
      });
    }
    state.init = null;
  }

  // Base not promised to an open sell, nor to the sells the open initial buy is for.
  let free = Decimal.of(state.base).minus(state.init ? state.init.net : '0');
  for (const level of state.levels) {
    if (level.order?.side === 'sell') free = free.minus(level.order.quantity).plus(level.order.filled);
  }
  state.levels.forEach((level, i) => {
    const next = level.queue[0];
    if (level.order || !next || next.fromInit) return;
    let quantity = Decimal.of(next.quantity);
    if (next.side === 'sell') {
      // Short only when fees were charged in base: sell what is there.
      quantity = Decimal.min(quantity, toStep(free, stepSize, 'down'));
      if (!quantity.isPositive()) return;
      free = free.minus(quantity);
    }
    level.queue.shift();
    state.seq += 1;
    const clientOrderId = strategyOrderId(state.botId, `g-L${i}-${next.side === 'buy' ? 'b' : 's'}-${state.seq}`);
    level.order = { clientOrderId, side: next.side, quantity: quantity.toString(), filled: '0', net: '0' };
    intents.push({ kind: 'place', clientOrderId, side: next.side, type: 'limit', price: Decimal.of(level.price), quantity, reduceOnly: next.side === 'sell' });
  });

  return { state, intents, unknownFills };
}

/**
 * True when a step with no fills and no ended orders changes nothing: the ladder is built, no order is
 * complete (each is handled by the step that brought its last fill), and no free level has an order to
 * place (a sell held back for want of base counts as one: the full step decides). The price plays no part
 * once the ladder is built.
 */
function gridSettled(state: GridState): boolean {
  if (!state.ladder) return false;
  if (state.init && filledUp(state.init)) return false;
  for (const level of state.levels) {
    if (level.order ? filledUp(level.order) : level.queue[0] && !level.queue[0].fromInit) return false;
  }
  return true;
}

function buildLadder(
  state: GridState,
  params: GridParams,
  last: Decimal,
  marketTick: Decimal | undefined,
  marketStep: Decimal | undefined,
  intents: StrategyIntent[],
): void {
  const tickSize = marketTick ?? params.tickSize;
  const stepSize = marketStep ?? params.stepSize;
  const prices = gridPrices(params.lower, params.upper, params.levels, tickSize);
  const problem = tickSize && ladderProblem(prices, tickSize);
  if (problem) throw new StrategyError('UNTRADABLE', problem);
  const orderSize = toStep(params.orderSize, stepSize, 'down');
  if (!orderSize.isPositive()) {
    throw new StrategyError('UNTRADABLE', `orderSize ${params.orderSize.toString()} is smaller than the quantity step ${stepSize?.toString() ?? ''}`);
  }

  // The level nearest the price stays empty (the lower one on a tie).
  let empty = 0;
  prices.forEach((price, i) => {
    if (price.minus(last).abs().lt(prices[empty]!.minus(last).abs())) empty = i;
  });
  state.ladder = { orderSize: orderSize.toString(), tickSize: tickSize?.toString() ?? null, stepSize: stepSize?.toString() ?? null };
  state.levels = prices.map((price, i) => ({
    price: price.toString(),
    order: null,
    queue: i === empty ? [] : [i < empty ? { side: 'buy', quantity: orderSize.toString() } : { side: 'sell', quantity: orderSize.toString(), fromInit: true }],
  }));

  const sells = prices.length - 1 - empty;
  if (sells === 0) return;
  state.seq += 1;
  const clientOrderId = strategyOrderId(state.botId, `g-init-b-${state.seq}`);
  const quantity = orderSize.times(Decimal.of(BigInt(sells)));
  state.init = { clientOrderId, side: 'buy', quantity: quantity.toString(), filled: '0', net: '0' };
  intents.push({ kind: 'place', clientOrderId, side: 'buy', type: 'market', quantity, reduceOnly: false });
}
