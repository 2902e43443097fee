import { describe, expect, it } from 'vitest';
import type { Condition } from '../../core/api/securekey.generated.ts';
import { CONDITION_TYPES, readyFrom, REASONS, safeMessage, setCondition } from './conditions.ts';

const T0 = new Date('2026-11-22T10:00:00.000Z');
const T1 = new Date('2026-11-22T11:00:00.000Z');

describe('setCondition', () => {
  it('adds a new condition with lastTransitionTime now and observedGeneration', () => {
    const c = setCondition(
      undefined,
      { type: 'KeyReady', status: 'True', reason: REASONS.KeyCreated, message: 'created' },
      2,
      T0,
    );
    expect(c).toEqual([
      {
        type: 'KeyReady',
        status: 'True',
        reason: 'KeyCreated',
        message: 'created',
        observedGeneration: 2,
        lastTransitionTime: T0.toISOString(),
      },
    ]);
  });

  it('keeps lastTransitionTime when the status stays, while reason, message and generation follow', () => {
    const one = setCondition(
      undefined,
      { type: 'KeyReady', status: 'False', reason: REASONS.VaultUnavailable, message: 'a' },
      1,
      T0,
    );
    const two = setCondition(
      one,
      { type: 'KeyReady', status: 'False', reason: REASONS.Throttled, message: 'b' },
      2,
      T1,
    );
    expect(two[0]).toMatchObject({
      reason: 'Throttled',
      message: 'b',
      observedGeneration: 2,
      lastTransitionTime: T0.toISOString(),
    });
    const three = setCondition(
      two,
      { type: 'KeyReady', status: 'True', reason: REASONS.KeyCreated, message: 'c' },
      2,
      T1,
    );
    expect(three[0]?.lastTransitionTime).toBe(T1.toISOString());
  });

  it('does not mutate its input and keeps the order of other conditions', () => {
    const start: Condition[] = [
      {
        type: 'KeyReady',
        status: 'True',
        reason: 'KeyFound',
        message: '',
        lastTransitionTime: T0.toISOString(),
      },
      {
        type: 'PolicySynced',
        status: 'True',
        reason: 'PolicySynced',
        message: '',
        lastTransitionTime: T0.toISOString(),
      },
    ];
    const copy = structuredClone(start);
    const next = setCondition(
      start,
      { type: 'KeyReady', status: 'False', reason: 'KeyNotFound', message: 'gone' },
      4,
      T1,
    );
    expect(start).toEqual(copy);
    expect(next.map((c) => c.type)).toEqual(['KeyReady', 'PolicySynced']);
    expect(next[1]).toBe(start[1]);
  });

  it('redacts key-like material from messages', () => {
    const secret = 'Xq3v9LmP0aZ7bR2cT8dW1eY6fU4gI5hJ0kN-_oSxQ';
    const c = setCondition(
      undefined,
      { type: 'KeyReady', status: 'False', reason: 'X', message: `k=${secret}` },
      1,
      T0,
    );
    expect(c[0]?.message).toBe('k=[redacted]');
  });

  it('caps messages at the metav1.Condition limit', () => {
    expect(safeMessage('a '.repeat(20000)).length).toBe(32768);
  });
});

describe('readyFrom', () => {
  const cond = (type: string, status: Condition['status'], reason = 'R', message = 'm'): Condition => ({
    type,
    status,
    reason,
    message,
    lastTransitionTime: T0.toISOString(),
  });

  it('is True only when KeyReady and PolicySynced are both True', () => {
    expect(readyFrom([cond('KeyReady', 'True'), cond('PolicySynced', 'True')])).toMatchObject({
      type: CONDITION_TYPES.Ready,
      status: 'True',
      reason: REASONS.Ready,
    });
    expect(readyFrom([cond('KeyReady', 'True')]).status).toBe('Unknown');
    expect(readyFrom([cond('KeyReady', 'True'), cond('PolicySynced', 'Unknown')]).status).toBe('Unknown');
    expect(readyFrom(undefined).status).toBe('Unknown');
    expect(readyFrom([cond('Ready', 'True')]).status).toBe('Unknown');
  });

  it('is False with the failing condition reason, KeyReady first', () => {
    expect(
      readyFrom([
        cond('KeyReady', 'True'),
        cond('PolicySynced', 'False', REASONS.PolicyTooLarge, '49 digests'),
      ]),
    ).toMatchObject({ status: 'False', reason: 'PolicyTooLarge', message: '49 digests' });
    expect(
      readyFrom([
        cond('PolicySynced', 'False', 'PolicyPending'),
        cond('KeyReady', 'False', 'VaultUnavailable'),
      ]),
    ).toMatchObject({ status: 'False', reason: 'VaultUnavailable' });
    expect(readyFrom([cond('KeyReady', 'Unknown'), cond('PolicySynced', 'False', 'Deleting')]).reason).toBe(
      'Deleting',
    );
  });
});
