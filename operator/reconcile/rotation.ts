import type { RotationSpec } from '../../core/api/securekey.generated.ts';
import { parseDuration } from './duration.ts';
import { ReconcileError } from './errors.ts';

/** The CRD's floor for spec.rotation.interval. */
export const MIN_ROTATION_MS = 3_600_000;

export interface RotationDue {
  due: boolean;
  /** When the next version is due (createdAt + interval); absent without rotation or a known creation time. */
  at?: Date;
}

/** Whether the current key version is old enough to rotate. The caller requeues at `at` when not due. */
export function rotationDue(
  rotation: RotationSpec | undefined,
  keyCreatedAt: string | Date | undefined,
  now: Date,
): RotationDue {
  if (rotation === undefined || keyCreatedAt === undefined) return { due: false };
  const interval = parseDuration(rotation.interval, 'spec.rotation.interval');
  if (interval < MIN_ROTATION_MS) {
    throw new ReconcileError(
      'bad-duration',
      `spec.rotation.interval ${JSON.stringify(rotation.interval)} is under 1h`,
    );
  }
  const created = keyCreatedAt instanceof Date ? keyCreatedAt.getTime() : Date.parse(keyCreatedAt);
  if (Number.isNaN(created)) {
    throw new ReconcileError(
      'bad-timestamp',
      `key creation time ${JSON.stringify(String(keyCreatedAt))} is not a date`,
    );
  }
  const at = new Date(created + interval);
  return { due: now.getTime() >= at.getTime(), at };
}
