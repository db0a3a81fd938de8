/**
 * DCA (dollar-cost averaging): buys `quoteAmount` of quote every `intervalMinutes`, and keeps one
 * take-profit sell of all the base held at `takeProfitPercent` above the average entry.
 *
 * - The first buy is at the first step; then one per interval slot. A slot missed (no step during it)
 *   is not caught up: at most one buy per step.
 * - With `dropPercent`, a slot buys only when the ask is at least that much below the price of the
 *   last executed buy; otherwise the slot is skipped. A new cycle (after the take-profit filled) buys
 *   without that condition.
 * - Each buy is a limit order at the ask for `quoteAmount / ask` (rounded down to the quantity step),
 *   so it never costs more than `quoteAmount`; a buy still open at the next slot is cancelled.
 * - `budget` bounds the quote the bot ever spends on buys (price × quantity, fees excluded), counting
 *   open buys at their limit price: a slot whose `quoteAmount` no longer fits is skipped.
 * - The take-profit price is rounded up to the tick (never below +Y %), its quantity down to the step.
 *   When a buy fills, the take-profit is cancelled and, once its end is reported, placed again for the
 *   new quantity and average: there is never more than one, so it never sells more than is held.
 */
import { Decimal } from '../decimal-math.js';
import { StrategyError, checkMarket, strategyOrderId, type ParametersResult, type StrategyInput, type StrategyIntent, type StrategyStep } from './strategy.js';
import { DEFAULT_SCALE, ParameterReader, addFee, baseFeeOf, copyState, filledUp, splitSymbol, toStep } from './support.js';

const MINUTE_MS = 60_000;
const MAX_INTERVAL_MINUTES = 366 * 24 * 60;

export interface DcaParams {
  /** Quote spent by each buy. */
  readonly quoteAmount: Decimal;
  /** Minutes between two buy slots. */
  readonly intervalMinutes: number;
  /** Total quote the bot may spend on buys; unbounded when absent. */
  readonly budget?: Decimal;
  /** Buy only when the price fell by this percentage since the last buy. */
  readonly dropPercent?: Decimal;
  /** Sell everything held at this percentage above the average entry; no take-profit when absent. */
  readonly takeProfitPercent?: Decimal;
  /** Price step, when the venue's is not given with the market data. */
  readonly tickSize?: Decimal;
  /** Quantity step, when the venue's is not given with the market data. */
  readonly stepSize?: Decimal;
}

const DCA_PARAMETERS = ['quoteAmount', 'intervalMinutes', 'budget', 'dropPercent', 'takeProfitPercent', 'tickSize', 'stepSize'] as const;

/** Parses a bot's stored `parameters` for DCA, reporting every error at once. */
export function parseDcaParameters(raw: unknown): ParametersResult<DcaParams> {
  const r = new ParameterReader(raw, DCA_PARAMETERS);
  const quoteAmount = r.decimal('quoteAmount', true);
  const intervalMinutes = r.integer('intervalMinutes', true, 1, MAX_INTERVAL_MINUTES);
  const budget = r.decimal('budget', false);
  const dropPercent = r.decimal('dropPercent', false);
  const takeProfitPercent = r.decimal('takeProfitPercent', false);
  const tickSize = r.decimal('tickSize', false);
  const stepSize = r.decimal('stepSize', false);
  if (quoteAmount && budget && budget.lt(quoteAmount)) {
    r.error(`budget ${budget.toString()} must be at least quoteAmount ${quoteAmount.toString()}`);
  }
  if (dropPercent && dropPercent.gte('100')) r.error(`dropPercent must be below 100 (got ${dropPercent.toString()})`);
  if (takeProfitPercent && takeProfitPercent.gt('1000')) r.error(`takeProfitPercent must be at most 1000 (got ${takeProfitPercent.toString()})`);
  return r.result(() => ({
    quoteAmount: quoteAmount!,
    intervalMinutes: intervalMinutes!,
    ...(budget && { budget }),
    ...(dropPercent && { dropPercent }),
    ...(takeProfitPercent && { takeProfitPercent }),
    ...(tickSize && { tickSize }),
    ...(stepSize && { stepSize }),
  }));
}

/** A buy or the take-profit, as DCA last knew it. Amounts are decimal strings. */
export interface DcaOrder {
  readonly clientOrderId: string;
  /** Limit price. */
  readonly price: string;
  readonly quantity: string;
  /** Base quantity executed so far. */
  filled: string;
  /** A cancel was sent; the order counts as open until its end (or full fill) is reported. */
  canceling: boolean;
}

/** DCA's state: plain JSON, to persist between steps. */
export interface DcaState {
  readonly v: 1;
  readonly strategy: 'dca';
  readonly botId: string;
  readonly symbol: string;
  /** Orders placed so far: the sequence in client order ids. */
  seq: number;
  /** When the next buy slot opens (epoch ms); null before the first buy. */
  nextBuyAt: number | null;
  /** Price of the last executed buy of this cycle; null at the start of a cycle. */
  lastBuyPrice: string | null;
  /** Open buys (normally at most one; two while a stale one is being cancelled). */
  buys: DcaOrder[];
  takeProfit: DcaOrder | null;
  /** Quote spent on executed buys (price × quantity), the budget's measure. */
  spent: string;
  /** Base held, net of fees charged in base. */
  base: string;
  /** What the base held cost (average-cost method). */
  cost: string;
  /** Quote received minus quote paid (fees excluded). */
  quote: string;
  /** Profit of take-profit sells over their cost (fees excluded). */
  realized: string;
  /** Fees paid, per currency. */
  fees: Record<string, string>;
  /** Buy orders placed, and slots skipped (price not dropped enough, or budget spent). */
  buysPlaced: number;
  slotsSkipped: number;
}

export function initialDcaState(botId: string, symbol: string): DcaState {
  return {
    v: 1,
    strategy: 'dca',
    botId,
    symbol,
    seq: 0,
    nextBuyAt: null,
    lastBuyPrice: null,
    buys: [],
    takeProfit: null,
    spent: '0',
    base: '0',
    cost: '0',
    quote: '0',
    realized: '0',
    fees: {},
    buysPlaced: 0,
    slotsSkipped: 0,
  };
}

/** Client order ids of DCA's open orders (for reconciliation and cancel-all). */
export function dcaOpenOrders(state: DcaState): string[] {
  const ids = state.buys.map((b) => b.clientOrderId);
  return state.takeProfit ? [...ids, state.takeProfit.clientOrderId] : ids;
}

/** Quote held back for open buys: their unfilled quantity at their limit price. */
export function dcaReserved(state: DcaState): Decimal {
  return state.buys.reduce((sum, b) => sum.plus(Decimal.of(b.quantity).minus(b.filled).times(b.price)), Decimal.ZERO);
}

export function stepDca(params: DcaParams, input: StrategyInput<DcaState>): StrategyStep<DcaState> {
  const { market } = input;
  checkMarket(input.state.symbol, market);
  const tickSize = market.tickSize ?? params.tickSize;
  const stepSize = market.stepSize ?? params.stepSize;
  // Most steps are a price tick between two buy slots: the very same state back, no copy.
  if (!input.fills?.length && !input.endedOrders?.length && dcaSettled(params, input.state, market.at, stepSize)) {
    return { state: input.state, intents: [], unknownFills: [] };
  }
  const state = copyState(input.state);
  const { base: baseCurrency, quote: quoteCurrency } = splitSymbol(state.symbol);
  const intents: StrategyIntent[] = [];
  const unknownFills: string[] = [];
  let bought = false;

  for (const fill of input.fills ?? []) {
    const buy = state.buys.find((b) => b.clientOrderId === fill.clientOrderId);
    const order = buy ?? (state.takeProfit?.clientOrderId === fill.clientOrderId ? state.takeProfit : undefined);
    if (!order) {
      unknownFills.push(fill.clientOrderId);
      continue;
    }
    const side = buy ? 'buy' : 'sell';
    if (fill.side !== side) throw new StrategyError('INCONSISTENT_FILL', `a ${fill.side} fill for ${side} order ${order.clientOrderId}`);
    const baseFee = baseFeeOf(fill, baseCurrency);
    const notional = fill.price.times(fill.quantity);
    const base = Decimal.of(state.base);
    if (buy) {
      state.base = base.plus(fill.quantity).minus(baseFee).toString();
      state.cost = Decimal.of(state.cost).plus(notional).toString();
      state.spent = Decimal.of(state.spent).plus(notional).toString();
      state.quote = Decimal.of(state.quote).minus(notional).toString();
      state.lastBuyPrice = fill.price.toString();
      bought = true;
    } else {
      const sold = fill.quantity.plus(baseFee);
      const cost = Decimal.of(state.cost);
      const left = base.minus(sold);
      // Average cost: the base sold takes its share of the cost; none is left with the last of the base.
      const costLeft = left.isPositive() && base.isPositive() ? cost.times(left).dividedBy(base, 18, 'half-up') : Decimal.ZERO;
      state.realized = Decimal.of(state.realized).plus(notional).minus(cost.minus(costLeft)).toString();
      state.cost = costLeft.toString();
      state.base = left.toString();
      state.quote = Decimal.of(state.quote).plus(notional).toString();
    }
    order.filled = Decimal.of(order.filled).plus(fill.quantity).toString();
    addFee(state.fees, fill.feeCurrency ?? quoteCurrency, fill.fee);
  }

  const ended = new Set(input.endedOrders ?? []);
  const done = (o: DcaOrder): boolean => filledUp(o) || ended.has(o.clientOrderId);
  state.buys = state.buys.filter((b) => !done(b));
  if (state.takeProfit && done(state.takeProfit)) {
    // A take-profit filled completely ends the cycle: the next one buys without the drop condition.
    if (filledUp(state.takeProfit)) state.lastBuyPrice = null;
    state.takeProfit = null;
  }

  const now = market.at;
  if (state.nextBuyAt === null || now >= state.nextBuyAt) {
    for (const stale of state.buys) {
      if (stale.canceling) continue;
      stale.canceling = true;
      intents.push({ kind: 'cancel', clientOrderId: stale.clientOrderId });
    }
    const price = toStep(market.ask, tickSize, 'down');
    const dropped =
      !params.dropPercent ||
      state.lastBuyPrice === null ||
      price.lte(
        Decimal.of(state.lastBuyPrice)
          .times(Decimal.of('100').minus(params.dropPercent))
          .dividedBy('100', price.scale + DEFAULT_SCALE, 'down'),
      );
    const fits = !params.budget || params.quoteAmount.lte(params.budget.minus(state.spent).minus(dcaReserved(state)));
    if (dropped && fits) {
      const quantity = toStep(params.quoteAmount.dividedBy(price, (stepSize?.scale ?? DEFAULT_SCALE) + 1, 'down'), stepSize, 'down');
      if (!quantity.isPositive()) {
        throw new StrategyError('UNTRADABLE', `quoteAmount ${params.quoteAmount.toString()} buys less than one quantity step at ${price.toString()}`);
      }
      state.seq += 1;
      const clientOrderId = strategyOrderId(state.botId, `d-b-${state.seq}`);
      state.buys.push({ clientOrderId, price: price.toString(), quantity: quantity.toString(), filled: '0', canceling: false });
      intents.push({ kind: 'place', clientOrderId, side: 'buy', type: 'limit', price, quantity, reduceOnly: false });
      state.buysPlaced += 1;
    } else {
      state.slotsSkipped += 1;
    }
    state.nextBuyAt = nextSlot(state.nextBuyAt ?? now, now, params.intervalMinutes * MINUTE_MS);
  }

  if (params.takeProfitPercent) placeTakeProfit(state, params.takeProfitPercent, tickSize, stepSize, bought, intents);
  return { state, intents, unknownFills };
}

/**
 * True when a step at `now` with no fills and no ended orders changes nothing: no buy slot is due, no
 * order is complete (each is handled by the step that brought its last fill), and the take-profit
 * needs no placing nor cancelling.
 */
function dcaSettled(params: DcaParams, state: DcaState, now: number, stepSize: Decimal | undefined): boolean {
  if (state.nextBuyAt === null || now >= state.nextBuyAt) return false;
  if (state.buys.some(filledUp)) return false;
  const tp = state.takeProfit;
  if (!params.takeProfitPercent) return tp === null || !filledUp(tp);
  if (tp === null) return !toStep(Decimal.of(state.base), stepSize, 'down').isPositive();
  return !filledUp(tp) && (tp.canceling || Decimal.of(tp.quantity).minus(tp.filled).lte(Decimal.of(state.base)));
}

/** The first slot after `now`, on the schedule that had a slot at `slot`. */
function nextSlot(slot: number, now: number, intervalMs: number): number {
  return slot + intervalMs * (Math.floor((now - slot) / intervalMs) + 1);
}

function placeTakeProfit(
  state: DcaState,
  percent: Decimal,
  tickSize: Decimal | undefined,
  stepSize: Decimal | undefined,
  bought: boolean,
  intents: StrategyIntent[],
): void {
  const base = Decimal.of(state.base);
  const current = state.takeProfit;
  if (current) {
    // Re-priced after a buy; cancelled at once if it would sell more than is held (fees charged in base).
    const remaining = Decimal.of(current.quantity).minus(current.filled);
    if (!current.canceling && (bought || remaining.gt(base))) {
      current.canceling = true;
      intents.push({ kind: 'cancel', clientOrderId: current.clientOrderId });
    }
    return;
  }
  const quantity = toStep(base, stepSize, 'down');
  if (!quantity.isPositive()) return;
  const average = Decimal.of(state.cost).dividedBy(base, 18, 'up');
  const price = toStep(average.times(Decimal.of('100').plus(percent)).dividedBy('100', 20, 'up'), tickSize, 'up');
  state.seq += 1;
  const clientOrderId = strategyOrderId(state.botId, `d-tp-${state.seq}`);
  state.takeProfit = { clientOrderId, price: price.toString(), quantity: quantity.toString(), filled: '0', canceling: false };
  intents.push({ kind: 'place', clientOrderId, side: 'sell', type: 'limit', price, quantity, reduceOnly: true });
}
