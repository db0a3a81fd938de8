import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Decimal } from './decimal-math.js';

/** A decimal string with up to 12 integer and 12 fractional digits, possibly negative. */
const decimalString = fc.tuple(fc.boolean(), fc.bigInt({ min: 0n, max: 10n ** 24n }), fc.integer({ min: 0, max: 12 })).map(([negative, units, scale]) => {
  const digits = units.toString().padStart(scale + 1, '0');
  const body = scale > 0 ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits;
  return (negative ? '-' : '') + body;
});

describe('Decimal', () => {
  it('adds where binary floats do not', () => {
    expect(Decimal.of('0.1').plus('0.2').toString()).toBe('0.3');
    expect(Decimal.of('1.005').times('1000').toString()).toBe('1005');
    expect(Decimal.of('100').minus('0.00000001').toString()).toBe('99.99999999');
  });

  it('parses and prints plain decimals only', () => {
    expect(Decimal.of('-0.50').toString()).toBe('-0.5');
    expect(Decimal.of('42').toFixed(8)).toBe('42.00000000');
    expect(Decimal.of('0.000001').toFixed(8)).toBe('0.00000100');
    expect(() => Decimal.of('1e5')).toThrow(RangeError);
    expect(() => Decimal.of('')).toThrow(RangeError);
    expect(() => Decimal.of('NaN')).toThrow(RangeError);
    expect(() => Decimal.of('1.123456789').toFixed(8)).toThrow(/more than 8/);
  });

  it('reads the sign of a decimal string as its value has it, and refuses what `of` refuses', () => {
    fc.assert(fc.property(decimalString, (text) => expect(Decimal.signOf(text)).toBe(Decimal.of(text).compare(Decimal.ZERO))));
    expect([Decimal.signOf('0'), Decimal.signOf('-0.000'), Decimal.signOf('+0.10'), Decimal.signOf('-0.001'), Decimal.signOf(' 7 ')]).toEqual([0, 0, 1, -1, 1]);
    for (const bad of ['', '.', '1e5', 'NaN', '--1', '0x10']) expect(() => Decimal.signOf(bad)).toThrow(RangeError);
  });

  it('divides and rounds with an explicit scale and mode', () => {
    expect(Decimal.of('1').dividedBy('3', 8, 'down').toString()).toBe('0.33333333');
    expect(Decimal.of('2').dividedBy('3', 8, 'half-up').toString()).toBe('0.66666667');
    expect(Decimal.of('-2').dividedBy('3', 2, 'up').toString()).toBe('-0.67');
    expect(Decimal.of('0.125').round(2, 'half-up').toString()).toBe('0.13');
    expect(Decimal.of('0.125').round(2, 'down').toString()).toBe('0.12');
    expect(() => Decimal.of('1').dividedBy('0', 2, 'down')).toThrow(RangeError);
  });

  it('rounds to a step and checks multiples', () => {
    expect(Decimal.of('0.123456').roundToStep('0.0001', 'down').toString()).toBe('0.1234');
    expect(Decimal.of('0.123456').roundToStep('0.0001', 'up').toString()).toBe('0.1235');
    expect(Decimal.of('27.3').roundToStep('0.25', 'half-up').toString()).toBe('27.25');
    expect(Decimal.of('1.50').isMultipleOf('0.01')).toBe(true);
    expect(Decimal.of('1.505').isMultipleOf('0.01')).toBe(false);
  });

  it('compares across scales', () => {
    expect(Decimal.of('1.10').eq('1.1')).toBe(true);
    expect(Decimal.of('-1').lt('0.0001')).toBe(true);
    expect(Decimal.max(Decimal.of('2'), Decimal.of('10')).toString()).toBe('10');
  });

  it('round-trips through its own string form', () => {
    fc.assert(fc.property(decimalString, (s) => Decimal.of(Decimal.of(s).toString()).eq(s)));
  });

  it('keeps ring laws exactly: (a + b) - b = a, a × (b + c) = a×b + a×c', () => {
    fc.assert(
      fc.property(decimalString, decimalString, decimalString, (a, b, c) => {
        const x = Decimal.of(a);
        expect(x.plus(b).minus(b).eq(x)).toBe(true);
        expect(x.times(Decimal.of(b).plus(c)).eq(x.times(b).plus(x.times(c)))).toBe(true);
      }),
    );
  });

  it('rounds down to a step never above the value and less than one step below it', () => {
    fc.assert(
      fc.property(decimalString, fc.constantFrom('0.01', '0.00001', '0.25', '5'), (value, step) => {
        const rounded = Decimal.of(value).roundToStep(step, 'down');
        expect(rounded.isMultipleOf(step)).toBe(true);
        const gap = Decimal.of(value).abs().minus(rounded.abs());
        expect(gap.gte('0') && gap.lt(step)).toBe(true);
      }),
    );
  });
});
