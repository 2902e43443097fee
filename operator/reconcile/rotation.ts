import type { RotationSpec } from '../../core/api/securekey.generated.ts';
import { parseDuration } from './duration.ts';
import { ReconcileError } from './errors.ts';

/** The CRD's floor for spec.rotation.interval. */
export const MIN_ROTATION_MS = 3_600_000;

/** A version created this close before spec.rotation.requestedAt already answers it (clock skew, whole seconds). */
export const REQUEST_TOLERANCE_MS = 2_000;

export interface RotationDue {
  due: boolean;
  /**
   * When the next version is due: the earlier of createdAt + interval and a requestedAt still ahead;
   * absent without rotation or a known creation time.
   */
  at?: Date;
}

/**
 * Whether the current key version should be replaced: it is older than the interval, or it was created
 * before a requested rotation whose moment has come. Both are judged from the vault's creation time,
 * so a request is honoured once, however often the SecureKey is reconciled. The caller requeues at
 * `at` when not due.
 */
export function rotationDue(
  rotation: RotationSpec | undefined,
  keyCreatedAt: string | Date | undefined,
  now: Date,
): RotationDue {
  if (rotation === undefined || keyCreatedAt === undefined) return { due: false };
  const created = keyCreatedAt instanceof Date ? keyCreatedAt.getTime() : Date.parse(keyCreatedAt);
  if (Number.isNaN(created)) {
    throw new ReconcileError(
      'bad-timestamp',
      `key creation time ${JSON.stringify(String(keyCreatedAt))} is not a date`,
    );
  }
  const moments: number[] = [];
  if (rotation.interval !== undefined) {
    const interval = parseDuration(rotation.interval, 'spec.rotation.interval');
    if (interval < MIN_ROTATION_MS) {
      throw new ReconcileError(
        'bad-duration',
        `spec.rotation.interval ${JSON.stringify(rotation.interval)} is under 1h`,
      );
    }
    moments.push(created + interval);
  }
  if (rotation.requestedAt !== undefined) {
    const requested = Date.parse(rotation.requestedAt);
    if (Number.isNaN(requested)) {
      throw new ReconcileError(
        'bad-timestamp',
        `spec.rotation.requestedAt ${JSON.stringify(rotation.requestedAt)} is not a date`,
      );
    }
    // The vault records creation in whole seconds and keeps its own clock: a version created within
    // REQUEST_TOLERANCE_MS of the request (or after it) is the rotation asked for, so a request is
    // never honoured twice. The new version is made at the next whole second.
    const at = Math.ceil(requested / 1000) * 1000;
    if (created < at - REQUEST_TOLERANCE_MS) moments.push(at);
  }
  if (moments.length === 0) return { due: false };
  const at = new Date(Math.min(...moments));
  return { due: now.getTime() >= at.getTime(), at };
}
