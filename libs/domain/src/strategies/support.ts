/**
 * Helpers the strategies share; not part of libs/domain's public API.
 */
import { DECIMAL_PATTERN, Decimal } from '../decimal-math.js';
import type { ParametersResult, StrategyFill } from './strategy.js';

/** `BTC/USDT` → `{ base: 'BTC', quote: 'USDT' }`. */
export function splitSymbol(symbol: string): { base: string; quote: string } {
  const slash = symbol.indexOf('/');
  return slash < 0 ? { base: symbol, quote: '' } : { base: symbol.slice(0, slash), quote: symbol.slice(slash + 1) };
}

/** Digits kept after the point when no step is known. */
export const DEFAULT_SCALE = 8;

/** `value` rounded to `step` (or to DEFAULT_SCALE digits without a step) in `mode`. */
export function toStep(value: Decimal, step: Decimal | undefined, mode: 'down' | 'up'): Decimal {
  return step ? value.roundToStep(step, mode) : value.round(DEFAULT_SCALE, mode);
}

/** A fee added to the per-currency totals kept in a strategy's state. */
export function addFee(fees: Record<string, string>, currency: string, fee: Decimal): void {
  if (fee.isZero()) return;
  fees[currency] = Decimal.of(fees[currency] ?? '0')
    .plus(fee)
    .toString();
}

/** The part of a fill's fee charged in the base currency (zero otherwise). */
export function baseFeeOf(fill: StrategyFill, base: string): Decimal {
  return fill.feeCurrency === base ? fill.fee : Decimal.ZERO;
}

/** Reads a parameters object, collecting every error instead of stopping at the first. */
export class ParameterReader {
  readonly errors: string[] = [];
  private readonly values: Record<string, unknown>;
  /** Not an object: that one error says it all. */
  private readonly unreadable: boolean;

  constructor(raw: unknown, known: readonly string[]) {
    this.unreadable = typeof raw !== 'object' || raw === null || Array.isArray(raw);
    if (this.unreadable) {
      this.errors.push('parameters must be an object');
      this.values = {};
      return;
    }
    this.values = raw as Record<string, unknown>;
    for (const key of Object.keys(this.values)) {
      if (!known.includes(key)) this.errors.push(`unknown parameter "${key}" (known: ${known.join(', ')})`);
    }
  }

  /**
   * A decimal given as a string (`"0.01"`); a whole JS number is accepted too since it is exact.
   * `positive`: must be greater than zero (default true).
   */
  decimal(name: string, required: boolean, positive = true): Decimal | undefined {
    const value = this.values[name];
    if (value === undefined || value === null) {
      if (required && !this.unreadable) this.errors.push(`${name} is required`);
      return undefined;
    }
    const text = typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? String(value) : value;
    if (typeof text !== 'string' || !DECIMAL_PATTERN.test(text)) {
      this.errors.push(`${name} must be a decimal string such as "0.01" (got ${describe(value)})`);
      return undefined;
    }
    const parsed = Decimal.of(text);
    if (positive && !parsed.isPositive()) {
      this.errors.push(`${name} must be greater than 0`);
      return undefined;
    }
    return parsed;
  }

  /** A whole number in [min, max], as a JS number or a digit string. */
  integer(name: string, required: boolean, min: number, max: number): number | undefined {
    const value = this.values[name];
    if (value === undefined || value === null) {
      if (required && !this.unreadable) this.errors.push(`${name} is required`);
      return undefined;
    }
    const parsed = typeof value === 'number' ? value : typeof value === 'string' && /^[0-9]{1,15}$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      this.errors.push(`${name} must be an integer ≥ ${min} and ≤ ${max} (got ${describe(value)})`);
      return undefined;
    }
    return parsed;
  }

  error(message: string): void {
    this.errors.push(message);
  }

  result<P>(params: () => P): ParametersResult<P> {
    return this.errors.length > 0 ? { ok: false, errors: [...this.errors] } : { ok: true, params: params() };
  }
}

function describe(value: unknown): string {
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : (JSON.stringify(value) ?? typeof value);
}

/**
 * True when an order's fills reach its quantity (decimal strings). An order nothing filled yet (the
 * usual case, checked for every open order of every bot on every tick) is answered without building a
 * value.
 */
export function filledUp(order: { filled: string; quantity: string }): boolean {
  if (Decimal.signOf(order.filled) === 0) return Decimal.signOf(order.quantity) <= 0;
  return Decimal.of(order.filled).gte(order.quantity);
}

/**
 * A deep copy of a JSON state (plain objects, arrays, strings, numbers, booleans, null), so a step never
 * modifies its input; a field whose value is undefined is left out, as JSON would. Every step that
 * changes something copies its bot's state: copied value by value, a grid's state (~1.3 KB of JSON) takes
 * ~4.5 µs here, against ~28 µs through JSON.stringify and JSON.parse.
 */
export function copyState<S>(state: S): S {
  return copyJson(state) as S;
}

function copyJson(value: unknown): unknown {
  // -0 becomes 0, as JSON writes it.
  if (value === null || typeof value !== 'object') return value === 0 ? 0 : value;
  if (Array.isArray(value)) {
    const copy = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) copy[i] = copyJson(value[i]);
    return copy;
  }
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const field = (value as Record<string, unknown>)[key];
    if (field === undefined) continue;
    // An own "__proto__" key (JSON.parse makes one) assigned would set the copy's prototype instead.
    if (key === '__proto__') Object.defineProperty(copy, key, { value: copyJson(field), enumerable: true, writable: true, configurable: true });
    else copy[key] = copyJson(field);
  }
  return copy;
}
