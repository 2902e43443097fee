import { createHash } from 'node:crypto';
import type { ReleasePolicy } from './types.ts';

/**
 * JSON with object members sorted by key (UTF-16 code units) and no white space. For the values a
 * policy holds (objects, arrays, strings, finite numbers, Booleans) this is RFC 8785 (JCS), whose number
 * and string forms are ECMAScript's JSON.stringify.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    const members = Object.keys(record)
      .filter((k) => record[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * SHA-256 (hex) of the canonical JSON: the same for documents that differ only in member order or white
 * space. Array order counts — the vault keeps it, and our builder fixes it. Shown in `status.policy.hash`.
 */
export function policyHash(policy: ReleasePolicy): string {
  return createHash('sha256').update(canonicalJson(policy), 'utf8').digest('hex');
}

/**
 * Whether the vault's policy is the one we want, so the operator writes only on a real difference (a
 * steady state makes zero writes). A key without a policy never matches.
 */
export function samePolicy(desired: ReleasePolicy, actual: ReleasePolicy | undefined): boolean {
  return actual !== undefined && policyHash(desired) === policyHash(actual);
}
