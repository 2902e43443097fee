import type { LabelSelector } from '../api/securekey.generated.ts';
import { WorkloadError } from './errors.ts';

/**
 * Whether `labels` satisfy `selector`, as Kubernetes decides: every matchLabels pair and every
 * expression must hold; an empty (or absent) selector matches everything; NotIn and DoesNotExist
 * hold when the key is absent. Throws `bad-selector` for selectors the API server would refuse.
 */
export function selectorMatches(
  selector: LabelSelector | undefined,
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  const has = (key: string): boolean => labels !== undefined && Object.hasOwn(labels, key);
  for (const [key, value] of Object.entries(selector?.matchLabels ?? {})) {
    if (!has(key) || labels?.[key] !== value) return false;
  }
  let matches = true;
  (selector?.matchExpressions ?? []).forEach((req, i) => {
    const where = `podSelector.matchExpressions[${i}]`;
    const values = req.values ?? [];
    const present = has(req.key);
    switch (req.operator) {
      case 'In':
      case 'NotIn': {
        if (values.length === 0) {
          throw new WorkloadError('bad-selector', `${where}: operator ${req.operator} needs values`);
        }
        const within = present && values.includes(labels?.[req.key] as string);
        if (req.operator === 'In' ? !within : within) matches = false;
        break;
      }
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) {
          throw new WorkloadError('bad-selector', `${where}: operator ${req.operator} takes no values`);
        }
        if (req.operator === 'Exists' ? !present : present) matches = false;
        break;
      default:
        throw new WorkloadError(
          'bad-selector',
          `${where}: unknown operator ${JSON.stringify(req.operator)}`,
          { hint: 'use In, NotIn, Exists or DoesNotExist' },
        );
    }
  });
  return matches;
}
