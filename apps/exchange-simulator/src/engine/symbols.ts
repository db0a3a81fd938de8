import { Decimal } from '@garde/domain';
import { type SymbolSpec } from './types.js';

/** How a symbol is configured (JSON/env friendly: every amount a decimal string). */
export interface SymbolConfig {
  /** Unified form, `BTC/USDT`. */
  readonly symbol: string;
  readonly tickSize: string;
  readonly stepSize: string;
  readonly minQty?: string;
  readonly maxQty?: string;
  readonly minNotional?: string;
  readonly initialPrice: string;
  readonly maxFillQtyPerTick?: string;
}

export const DEFAULT_SYMBOLS: readonly SymbolConfig[] = [
  { symbol: 'BTC/USDT', tickSize: '0.01', stepSize: '0.00001', minQty: '0.00001', minNotional: '5', initialPrice: '60000.00' },
  { symbol: 'ETH/USDT', tickSize: '0.01', stepSize: '0.0001', minQty: '0.0001', minNotional: '5', initialPrice: '3000.00' },
  { symbol: 'SOL/USDT', tickSize: '0.01', stepSize: '0.001', minQty: '0.001', minNotional: '5', initialPrice: '150.00' },
];

/** Binance's spot precision: a price × quantity product must fit these digits exactly. */
const QUOTE_DIGITS = 8;

export function toSymbolSpec(config: SymbolConfig): SymbolSpec {
  const [base, quote] = config.symbol.split('/');
  if (!base || !quote) throw new RangeError(`symbol "${config.symbol}" must look like BASE/QUOTE`);
  const tickSize = Decimal.of(config.tickSize);
  const stepSize = Decimal.of(config.stepSize);
  if (!tickSize.isPositive() || !stepSize.isPositive()) throw new RangeError(`${config.symbol}: tickSize and stepSize must be positive`);
  // Keeps every notional (price × quantity) exact at 8 decimals, as Binance's quote precision.
  if ((tickSize.times(stepSize).toString().split('.')[1]?.length ?? 0) > QUOTE_DIGITS) {
    throw new RangeError(`${config.symbol}: tickSize × stepSize needs more than ${QUOTE_DIGITS} decimals`);
  }
  const initialPrice = Decimal.of(config.initialPrice);
  if (!initialPrice.isMultipleOf(tickSize)) throw new RangeError(`${config.symbol}: initialPrice is not on the tick grid`);
  const maxFill = config.maxFillQtyPerTick === undefined ? undefined : Decimal.of(config.maxFillQtyPerTick);
  if (maxFill && (!maxFill.isPositive() || !maxFill.isMultipleOf(stepSize)))
    throw new RangeError(`${config.symbol}: maxFillQtyPerTick must be a multiple of stepSize`);
  return {
    id: base + quote,
    base,
    quote,
    tickSize,
    stepSize,
    minQty: Decimal.of(config.minQty ?? config.stepSize),
    maxQty: Decimal.of(config.maxQty ?? '9000000'),
    minPrice: tickSize,
    maxPrice: Decimal.of('1000000'),
    minNotional: Decimal.of(config.minNotional ?? '5'),
    initialPrice,
    ...(maxFill ? { maxFillQtyPerTick: maxFill } : {}),
  };
}
