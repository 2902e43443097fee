import type { ClaimLookup } from './claims.ts';
import type { ClaimValue, Operator } from './types.ts';

/**
 * How one claim condition is decided. Only `equals` against string values is proven against a real
 * vault; the rest is our reading of the grammar, chosen to fail closed:
 *
 * - A missing claim fails every operator except `exists`, which tests presence ("If a specified claim
 *   isn't present, its condition is considered to haven't been met"). A claim whose value is null is
 *   present.
 * - Scalars compare in string form, case-sensitively: true → "true", 0 → "0". That is what lets the
 *   production policies `"equals":"false"` and `"equals":"0"` match MAA's Boolean and number claims, and
 *   what a real mHSM did with `"sdk-test": true` against `"equals":"true"`.
 * - A claim that is an object, array or null is not a scalar: it is neither equal nor unequal to a value,
 *   so `equals` and `notEquals` both fail.
 * - Ordering operators compare numbers only: both sides must be JSON numbers or decimal strings. We do not
 *   guess an order for other strings (versions, hex); such a condition fails.
 */

/** The string form of a scalar, or undefined for objects, arrays, null and non-finite numbers. */
export function scalarText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

const DECIMAL = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/;

/** A number, or a string spelling a decimal number; undefined otherwise (Booleans are not numbers). */
export function numericValue(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && DECIMAL.test(v)) {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** The presence `exists` asks for: true / "true" → present, false / "false" → absent. */
export function existsWants(value: ClaimValue): boolean | undefined {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  return undefined;
}

export function conditionHolds(operator: Operator, wanted: ClaimValue, found: ClaimLookup): boolean {
  if (operator === 'exists') return existsWants(wanted) === found.present;
  if (!found.present) return false;
  if (operator === 'equals' || operator === 'notEquals') {
    const have = scalarText(found.value);
    if (have === undefined) return false;
    return (have === scalarText(wanted)) === (operator === 'equals');
  }
  const have = numericValue(found.value);
  const want = numericValue(wanted);
  if (have === undefined || want === undefined) return false;
  switch (operator) {
    case 'less':
      return have < want;
    case 'lessOrEquals':
      return have <= want;
    case 'greater':
      return have > want;
    case 'greaterOrEquals':
      return have >= want;
  }
}
