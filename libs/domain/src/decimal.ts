/** A non-negative decimal written without exponent: `0.5`, `100`, `42.000001`. */
export const DECIMAL_PATTERN = /^(0|[1-9][0-9]{0,29})(\.[0-9]{1,18})?$/;

/** True for a decimal string strictly greater than zero. */
export function isPositiveDecimal(value: string): boolean {
  return DECIMAL_PATTERN.test(value) && /[1-9]/.test(value);
}
