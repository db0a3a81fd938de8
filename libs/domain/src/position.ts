/**
 * A position in one market (base/quote, e.g. BTC/USDT) built from its fills, by the average-cost method.
 *
 * What it keeps is exact (`Decimal`, no JS number): the base held, its cost basis in quote, the PnL
 * realized in quote, and the fees paid per currency. The average entry price and the unrealized PnL
 * are derived from these at the moment they are asked for.
 *
 * Fees:
 * - in the quote currency (or none named): paid on a fill that opens or adds to the position, they add to
 *   its cost (the average entry includes them); paid on a fill that reduces it, they reduce realized PnL;
 * - in the base currency: the base held shrinks by the fee (a buy of 1 BTC with a 0.001 BTC fee brings
 *   0.999 BTC for the price of 1, so the average entry rises); on a sell, the base leaving is the
 *   quantity plus the fee, and it takes its share of the cost;
 * - in any other currency (BNB…): counted in `fees` under that currency and nowhere else. It is never
 *   converted: realized and unrealized PnL leave it out, and a caller who wants it in PnL must price it.
 *
 * Selling more than is held opens a short: `quantity` goes negative, `cost` is then minus what the base
 * sold short brought (so `cost / quantity` is still the average entry), and buying back realizes PnL
 * the same way a sell does for a long. A fill that crosses zero closes the old side (realizing its PnL)
 * and opens the new one with the rest, its cash shared between the two in proportion to the base.
 *
 * Whatever the order of the fills: `realizedPnl + unrealizedPnl(mark)` equals the quote received minus
 * the quote paid (fees in quote included) plus `quantity × mark`, exactly. Realized PnL on its own
 * depends on the order of the fills (that is what average cost means), except that a position that
 * ends flat has realized exactly its cash flow.
 *
 * The position is an immutable value (`applyFill` answers a new one), not tied to a bot: risk-service
 * can keep one per bot, per exchange account or per asset by folding the relevant fills.
 */
import { Decimal } from './decimal-math.js';

export type PositionSide = 'buy' | 'sell';

/** One execution, as the venue reported it. */
export interface PositionFill {
  readonly side: PositionSide;
  /** Price in quote per base (≥ 0). */
  readonly price: Decimal;
  /** Base quantity executed (> 0). */
  readonly quantity: Decimal;
  /** Fee charged (≥ 0), in `feeCurrency`. */
  readonly fee: Decimal;
  /** Currency of the fee; the quote currency when absent or null. */
  readonly feeCurrency?: string | null;
}

export interface Position {
  /** Base currency of the market (`BTC` for BTC/USDT). */
  readonly base: string;
  /** Quote currency of the market (`USDT` for BTC/USDT): the currency of cost and PnL. */
  readonly quote: string;
  /** Base held: positive long, negative short, zero flat. Net of fees charged in base. */
  readonly quantity: Decimal;
  /** Cost basis in quote of `quantity` (negative for a short: what the base sold short brought). Zero when flat. */
  readonly cost: Decimal;
  /** PnL realized in quote by reducing the position, fees in quote on those fills deducted. */
  readonly realizedPnl: Decimal;
  /** Fees paid per currency, each in its own currency (zero fees are left out). */
  readonly fees: Readonly<Record<string, Decimal>>;
  /** Fills applied. */
  readonly fills: number;
}

/**
 * Digits kept after the point when a share of the cost is taken by a partial reduction (the only
 * rounding the position does; the invariant above stays exact since the share left is the rest).
 */
export const POSITION_SCALE = 18;

/** A flat position with no fill yet. */
export function emptyPosition(base: string, quote: string): Position {
  if (!base || !quote || base === quote) throw new RangeError(`a position needs two different currencies (got "${base}" and "${quote}")`);
  return { base, quote, quantity: Decimal.ZERO, cost: Decimal.ZERO, realizedPnl: Decimal.ZERO, fees: {}, fills: 0 };
}

/** The position of `symbol` (`BASE/QUOTE`, as ccxt writes it) with no fill yet. */
export function emptyPositionOf(symbol: string): Position {
  const [base = '', quote = '', ...rest] = symbol.split('/');
  if (rest.length > 0) throw new RangeError(`not a BASE/QUOTE symbol: "${symbol}"`);
  return emptyPosition(base, quote);
}

/** The position after one more fill; `position` is not modified. Throws a RangeError on a fill that cannot be (quantity ≤ 0, negative price or fee). */
export function applyFill(position: Position, fill: PositionFill): Position {
  if (!fill.quantity.isPositive()) throw new RangeError(`a fill's quantity must be positive (got ${fill.quantity.toString()})`);
  if (fill.price.isNegative()) throw new RangeError(`a fill's price cannot be negative (got ${fill.price.toString()})`);
  if (fill.fee.isNegative()) throw new RangeError(`a fill's fee cannot be negative (got ${fill.fee.toString()})`);
  const feeCurrency = fill.feeCurrency ?? position.quote;
  const gross = fill.quantity.times(fill.price);
  // What the fill does to the base held and to the quote held.
  let base = fill.side === 'buy' ? fill.quantity : fill.quantity.negated();
  let cash = fill.side === 'buy' ? gross.negated() : gross;
  if (feeCurrency === position.base) base = base.minus(fill.fee);
  else if (feeCurrency === position.quote) cash = cash.minus(fill.fee);
  const fees = { ...position.fees };
  if (!fill.fee.isZero()) fees[feeCurrency] = (fees[feeCurrency] ?? Decimal.ZERO).plus(fill.fee);
  return { ...position, ...move(position, base, cash), fees, fills: position.fills + 1 };
}

/** The position of a market after `fills`, in the order given. */
export function positionFromFills(base: string, quote: string, fills: Iterable<PositionFill>): Position {
  let position = emptyPosition(base, quote);
  for (const fill of fills) position = applyFill(position, fill);
  return position;
}

/** Average entry price (cost / quantity), rounded half-up to `scale` digits; null when flat. */
export function averageEntryPrice(position: Position, scale = POSITION_SCALE): Decimal | null {
  if (position.quantity.isZero()) return null;
  return position.cost.dividedBy(position.quantity, scale, 'half-up');
}

/** What closing the position at `markPrice` would realize, fees of that close left out: quantity × mark − cost. Zero when flat. */
export function unrealizedPnl(position: Position, markPrice: Decimal): Decimal {
  return position.quantity.times(markPrice).minus(position.cost);
}

/** `long`, `short` or `flat`. */
export function positionDirection(position: Position): 'long' | 'short' | 'flat' {
  return position.quantity.isPositive() ? 'long' : position.quantity.isNegative() ? 'short' : 'flat';
}

/**
 * Moves `base` into the position for `cash` (quote received: positive; paid: negative). Whatever the
 * case, `realizedPnl − cost` grows by exactly `cash`: that is the invariant the module doc states.
 */
function move(p: Position, base: Decimal, cash: Decimal): Pick<Position, 'quantity' | 'cost' | 'realizedPnl'> {
  const { quantity, cost, realizedPnl } = p;
  // A fill that moved no base (a fee in base equal to the quantity bought): its cash is all PnL.
  if (base.isZero()) return { quantity, cost, realizedPnl: realizedPnl.plus(cash) };
  // Opens or adds to the position: the cash paid (or received, for a short) is its cost.
  if (quantity.isZero() || quantity.isNegative() === base.isNegative()) return { quantity: quantity.plus(base), cost: cost.minus(cash), realizedPnl };
  const held = quantity.abs();
  const moved = base.abs();
  if (moved.lte(held)) {
    // Reduces it: the base leaving takes its share of the cost (all of it when nothing is left).
    const share = moved.eq(held) ? cost : cost.times(moved).dividedBy(held, Math.max(POSITION_SCALE, cost.scale), 'half-up');
    return { quantity: quantity.plus(base), cost: cost.minus(share), realizedPnl: realizedPnl.plus(cash).minus(share) };
  }
  // Crosses zero: the part that closes the old side gets its share of the cash, the rest opens the new side.
  const closingCash = cash.times(held).dividedBy(moved, Math.max(POSITION_SCALE, cash.scale), 'half-up');
  return { quantity: quantity.plus(base), cost: closingCash.minus(cash), realizedPnl: realizedPnl.plus(closingCash).minus(cost) };
}
