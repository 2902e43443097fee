/**
 * Key rotation policies (`GET`/`PUT /keys/{name}/rotationpolicy`): lifetime actions `Rotate` or `Notify`
 * (the SDK refuses any other type), each with one ISO 8601 duration trigger, and an optional
 * `expiryTime`. The simulator stores and returns them; it does not rotate on a timer.
 */
import { badParameter } from './errors.ts';
import type { StoredLifetimeAction, StoredRotationPolicy } from './state.ts';

const DURATION = /^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$/;

function duration(v: unknown, field: string): string {
  if (typeof v !== 'string' || !DURATION.test(v))
    throw badParameter(`${field} must be an ISO 8601 duration such as P30D, got ${JSON.stringify(v)}.`);
  return v;
}

export function acceptRotationPolicy(
  body: unknown,
): Pick<StoredRotationPolicy, 'lifetimeActions' | 'expiryTime'> {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const actions = b['lifetimeActions'] ?? [];
  if (!Array.isArray(actions)) throw badParameter('lifetimeActions must be an array.');
  const lifetimeActions = actions.map((a: unknown, i): StoredLifetimeAction => {
    const o = (typeof a === 'object' && a !== null ? a : {}) as Record<string, unknown>;
    const trigger = (o['trigger'] ?? {}) as Record<string, unknown>;
    const type = String(((o['action'] ?? {}) as Record<string, unknown>)['type'] ?? '').toLowerCase();
    if (type !== 'rotate' && type !== 'notify')
      throw badParameter(`lifetimeActions[${i}].action.type must be Rotate or Notify.`);
    const after = trigger['timeAfterCreate'];
    const before = trigger['timeBeforeExpiry'];
    if ((after === undefined) === (before === undefined)) {
      throw badParameter(
        `lifetimeActions[${i}].trigger needs exactly one of timeAfterCreate and timeBeforeExpiry.`,
      );
    }
    return {
      trigger:
        after !== undefined
          ? { timeAfterCreate: duration(after, `lifetimeActions[${i}].trigger.timeAfterCreate`) }
          : { timeBeforeExpiry: duration(before, `lifetimeActions[${i}].trigger.timeBeforeExpiry`) },
      action: { type: type === 'rotate' ? 'Rotate' : 'Notify' },
    };
  });
  const attributes = (b['attributes'] ?? {}) as Record<string, unknown>;
  const expiry = attributes['expiryTime'];
  return expiry === undefined || expiry === null
    ? { lifetimeActions }
    : { lifetimeActions, expiryTime: duration(expiry, 'attributes.expiryTime') };
}

/** The wire form; a key without a policy shows the service's default (notify 30 days before expiry). */
export function rotationPolicyWire(
  id: string,
  policy: StoredRotationPolicy | undefined,
): Record<string, unknown> {
  if (policy === undefined) {
    return {
      id,
      lifetimeActions: [{ trigger: { timeBeforeExpiry: 'P30D' }, action: { type: 'Notify' } }],
      attributes: {},
    };
  }
  const attributes: Record<string, unknown> = { created: policy.created, updated: policy.updated };
  if (policy.expiryTime !== undefined) attributes['expiryTime'] = policy.expiryTime;
  return { id, lifetimeActions: policy.lifetimeActions, attributes };
}
