/**
 * Exact decimal arithmetic for money, prices and quantities.
 *
 * A value is a bigint coefficient and a scale (number of digits after the point): `12.340` is
 * `{ units: 12340n, scale: 3 }`. Addition, subtraction and multiplication are exact; division and
 * rounding always take an explicit scale or step and rounding mode, so no digit is ever lost silently.
 * JS numbers never enter: values are built from decimal strings or bigints only.
 */

/** The wire format of an amount (contracts): non-negative, no exponent, at most 30 + 18 digits: `0.5`, `100`. */
export const DECIMAL_PATTERN = /^(0|[1-9][0-9]{0,29})(\.[0-9]{1,18})?$/;

/** True for a wire-format decimal strictly greater than zero. */
export function isPositiveDecimal(value: string): boolean {
  return DECIMAL_PATTERN.test(value) && /[1-9]/.test(value);
}

/** How to drop digits: toward zero, away from zero, to the nearest (ties away from zero). */
export type RoundingMode = 'down' | 'up' | 'half-up';

/** A plain decimal string, optionally signed, without exponent: `-0.5`, `100`, `42.000001`. */
const PLAIN_DECIMAL = /^([+-])?(\d+)(?:\.(\d+))?$/;

export class Decimal {
  private constructor(
    /** The value times 10^scale. */
    readonly units: bigint,
    /** Digits after the decimal point (≥ 0). */
    readonly scale: number,
  ) {}

  static readonly ZERO = new Decimal(0n, 0);
  static readonly ONE = new Decimal(1n, 0);

  /** Parses a plain decimal string; throws on anything else (exponents, NaN, empty). */
  static of(value: string | bigint | Decimal): Decimal {
    if (value instanceof Decimal) return value;
    if (typeof value === 'bigint') return new Decimal(value, 0);
    const match = PLAIN_DECIMAL.exec(value.trim());
    if (!match) throw new RangeError(`not a decimal: "${value}"`);
    const [, sign, int = '0', frac = ''] = match;
    const units = BigInt(int + frac);
    return new Decimal(sign === '-' ? -units : units, frac.length);
  }

  /**
   * The sign of a plain decimal string, read without building its value (no allocation: what a check
   * run on every tick of every bot can afford); throws like `of` on anything else.
   */
  static signOf(value: string): -1 | 0 | 1 {
    if (!PLAIN_DECIMAL.test(value)) return Decimal.of(value).compare(Decimal.ZERO);
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c > 48 && c <= 57) return value.charCodeAt(0) === 45 ? -1 : 1; // a digit 1-9; 45 is '-'
    }
    return 0;
  }

  /** True when `value` is a plain decimal string `of` accepts. */
  static isDecimal(this: void, value: string): boolean {
    return PLAIN_DECIMAL.test(value.trim());
  }

  plus(other: Decimal | string): Decimal {
    const [a, b, scale] = align(this, Decimal.of(other));
    return new Decimal(a + b, scale);
  }

  minus(other: Decimal | string): Decimal {
    const [a, b, scale] = align(this, Decimal.of(other));
    return new Decimal(a - b, scale);
  }

  times(other: Decimal | string): Decimal {
    const o = Decimal.of(other);
    return new Decimal(this.units * o.units, this.scale + o.scale);
  }

  /** Quotient rounded to `scale` digits after the point. */
  dividedBy(other: Decimal | string, scale: number, mode: RoundingMode): Decimal {
    const o = Decimal.of(other);
    if (o.units === 0n) throw new RangeError('division by zero');
    // (a/10^sa) / (b/10^sb) * 10^scale = a * 10^(scale + sb - sa) / b
    const shift = scale + o.scale - this.scale;
    let numerator = this.units;
    let denominator = o.units;
    if (shift >= 0) numerator *= 10n ** BigInt(shift);
    else denominator *= 10n ** BigInt(-shift);
    return new Decimal(divideRounded(numerator, denominator, mode), scale);
  }

  /** This value rounded to `scale` digits after the point. */
  round(scale: number, mode: RoundingMode): Decimal {
    if (scale >= this.scale) return new Decimal(this.units * 10n ** BigInt(scale - this.scale), scale);
    return new Decimal(divideRounded(this.units, 10n ** BigInt(this.scale - scale), mode), scale);
  }

  /** The multiple of `step` nearest this value in the given mode (e.g. a quantity on a lot size). */
  roundToStep(step: Decimal | string, mode: RoundingMode): Decimal {
    const s = Decimal.of(step);
    if (s.units <= 0n) throw new RangeError('step must be positive');
    const [a, b, scale] = align(this, s);
    return new Decimal(divideRounded(a, b, mode) * b, scale);
  }

  /** True when this value is a whole multiple of `step`. */
  isMultipleOf(step: Decimal | string): boolean {
    const [a, b] = align(this, Decimal.of(step));
    return b !== 0n && a % b === 0n;
  }

  compare(other: Decimal | string): -1 | 0 | 1 {
    const [a, b] = align(this, Decimal.of(other));
    return a < b ? -1 : a > b ? 1 : 0;
  }

  eq(other: Decimal | string): boolean {
    return this.compare(other) === 0;
  }
  lt(other: Decimal | string): boolean {
    return this.compare(other) < 0;
  }
  lte(other: Decimal | string): boolean {
    return this.compare(other) <= 0;
  }
  gt(other: Decimal | string): boolean {
    return this.compare(other) > 0;
  }
  gte(other: Decimal | string): boolean {
    return this.compare(other) >= 0;
  }

  isZero(): boolean {
    return this.units === 0n;
  }
  isNegative(): boolean {
    return this.units < 0n;
  }
  isPositive(): boolean {
    return this.units > 0n;
  }
  negated(): Decimal {
    return new Decimal(-this.units, this.scale);
  }
  abs(): Decimal {
    return this.units < 0n ? this.negated() : this;
  }

  static min(a: Decimal, b: Decimal): Decimal {
    return a.lte(b) ? a : b;
  }
  static max(a: Decimal, b: Decimal): Decimal {
    return a.gte(b) ? a : b;
  }

  /** Exactly `digits` places after the point; throws rather than drop a non-zero digit. */
  toFixed(digits: number): string {
    const rounded = this.round(digits, 'down');
    if (!rounded.eq(this)) throw new RangeError(`${this.toString()} has more than ${digits} decimal places`);
    return format(rounded.units, digits);
  }

  /** The shortest plain form: no exponent, no trailing zeros after the point. */
  toString(): string {
    let { units, scale } = this as Decimal;
    while (scale > 0 && units % 10n === 0n) {
      units /= 10n;
      scale -= 1;
    }
    return format(units, scale);
  }

  toJSON(): string {
    return this.toString();
  }
}

function align(a: Decimal, b: Decimal): [bigint, bigint, number] {
  const scale = Math.max(a.scale, b.scale);
  return [a.units * 10n ** BigInt(scale - a.scale), b.units * 10n ** BigInt(scale - b.scale), scale];
}

function divideRounded(numerator: bigint, denominator: bigint, mode: RoundingMode): bigint {
  const negative = numerator < 0n !== denominator < 0n;
  const n = numerator < 0n ? -numerator : numerator;
  const d = denominator < 0n ? -denominator : denominator;
  let q = n / d;
  const r = n % d;
  if (r !== 0n && (mode === 'up' || (mode === 'half-up' && 2n * r >= d))) q += 1n;
  return negative ? -q : q;
}

function format(units: bigint, scale: number): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, '0');
  const int = digits.slice(0, digits.length - scale);
  const frac = scale > 0 ? '.' + digits.slice(digits.length - scale) : '';
  return (negative ? '-' : '') + int + frac;
}
