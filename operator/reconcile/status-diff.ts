import type { SecureKeyStatus } from '../../core/api/securekey.generated.ts';
import { canonicalJson } from '../../core/policy/index.ts';

/** Canonical form: member order ignored, undefined members dropped, conditions ordered by type. */
function canonicalStatus(status: SecureKeyStatus | undefined): string {
  const s = status ?? {};
  const conditions =
    s.conditions && [...s.conditions].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
  return canonicalJson({ ...s, conditions });
}

/** Whether writing `next` would change the stored status, so the operator writes only real changes. */
export function statusChanged(old: SecureKeyStatus | undefined, next: SecureKeyStatus | undefined): boolean {
  return canonicalStatus(old) !== canonicalStatus(next);
}
