import { describe, expect, it } from 'vitest';
import { isErrorOf } from '../../core/errors.ts';
import { FakeKeySource } from '../../test/support/agent/fake-key-source.ts';
import { KeySourceError, type KeyRef } from './key-source.ts';
import { ReleasedKeys } from './released-keys.ts';

const ref = (version: string, keyName = 'db'): KeyRef & { version: string } => ({
  vaultUrl: 'https://v.vault.azure.net',
  keyName,
  version,
  authority: 'https://maa.example',
});

/** Lets the releases asked so far start, then go: everything asked meanwhile shares them. */
async function settle(source: FakeKeySource): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
  source.releaseHeld();
}

/** A clock that only moves when a backoff sleeps (or the spec moves it). */
function fakeClock() {
  let t = 1_000_000;
  const sleeps: number[] = [];
  return {
    now: () => t,
    sleep: (ms: number) => {
      sleeps.push(ms);
      t += ms;
      return Promise.resolve();
    },
    sleeps,
    advance: (ms: number) => (t += ms),
  };
}

describe('ReleasedKeys', () => {
  it('coalesces 50 concurrent requests for one key version into one release, then serves from memory', async () => {
    const source = new FakeKeySource();
    source.hold();
    const keys = new ReleasedKeys(source);
    const burst = Array.from({ length: 50 }, () => keys.get(ref('v1')));
    await settle(source);
    const got = await Promise.all(burst);
    expect(source.calls).toHaveLength(1);
    expect(new Set(got).size).toBe(1);
    expect(await keys.get(ref('v1'))).toBe(got[0]);
    expect(source.calls).toHaveLength(1);
    expect(keys.size).toBe(1);
  });

  it('releases each key separately, and a new version once, wiping the old one', async () => {
    const source = new FakeKeySource();
    const keys = new ReleasedKeys(source);
    const [v1] = await Promise.all([keys.get(ref('v1')), keys.get(ref('v1', 'tls'))]);
    expect(source.calls.map((c) => c.keyName)).toEqual(['db', 'tls']);
    expect(v1!.plaintext.equals(source.plaintextOf(ref('v1')))).toBe(true);
    source.hold();
    const rotated = [keys.get(ref('v2')), keys.get(ref('v2'))];
    await settle(source);
    const [v2] = await Promise.all(rotated);
    expect(source.calls.map((c) => `${c.keyName}/${c.version}`)).toEqual(['db/v1', 'tls/v1', 'db/v2']);
    expect(v2!.kid).toMatch(/\/db\/v2$/);
    expect(v1!.plaintext.equals(Buffer.alloc(32))).toBe(true); // wiped
    expect(keys.size).toBe(2);
  });

  it('honours Retry-After on a 429, with backoff and jitter, and coalesces meanwhile', async () => {
    const clock = fakeClock();
    const source = new FakeKeySource();
    const throttled = () =>
      new KeySourceError('throttled', 'vault 429', { retryAt: new Date(clock.now() + 3_000) });
    source.script.push(throttled, throttled);
    source.hold();
    const keys = new ReleasedKeys(source, { ...clock, random: () => 0.5 });
    const burst = Array.from({ length: 10 }, () => keys.get(ref('v1')));
    for (let i = 0; i < 3; i++) await settle(source);
    await Promise.all(burst);
    expect(source.calls).toHaveLength(3);
    // Never sooner than asked (3 s), spread by the jitter (×1.125 at random 0.5).
    expect(clock.sleeps).toEqual([3375, 3375]);
  });

  it('backs off exponentially without a Retry-After', async () => {
    const clock = fakeClock();
    const source = new FakeKeySource();
    for (let i = 0; i < 3; i++) source.script.push(new KeySourceError('unavailable', '503'));
    const keys = new ReleasedKeys(source, { ...clock, random: () => 0 });
    await keys.get(ref('v1'));
    expect(source.calls).toHaveLength(4);
    expect(clock.sleeps).toEqual([500, 1000, 2000]);
  });

  it('past its retry budget tells callers when to come back, without calling the vault again before then', async () => {
    const clock = fakeClock();
    const source = new FakeKeySource();
    const throttled = () =>
      new KeySourceError('throttled', 'vault 429', { retryAt: new Date(clock.now() + 15_000) });
    for (let i = 0; i < 10; i++) source.script.push(throttled);
    const keys = new ReleasedKeys(source, { ...clock, random: () => 0, retryBudgetMs: 20_000 });
    const err = await keys.get(ref('v1')).catch((e: unknown) => e);
    expect(isErrorOf(err, KeySourceError, 'throttled')).toBe(true);
    expect(source.calls).toHaveLength(2);
    const retryAt = (err as KeySourceError).retryAt!.getTime();
    expect(retryAt).toBe(clock.now() + 15_000);
    // Asked again before then: answered at once, no vault call.
    const again = await keys.get(ref('v1')).catch((e: unknown) => e);
    expect((again as KeySourceError).retryAt!.getTime()).toBe(retryAt);
    expect(source.calls).toHaveLength(2);
    clock.advance(15_000);
    await keys.get(ref('v1')).catch(() => {});
    expect(source.calls.length).toBeGreaterThan(2);
  });

  it('does not retry a refusal, and does not remember it', async () => {
    const source = new FakeKeySource();
    source.script.push(new KeySourceError('refused', 'policy'));
    const keys = new ReleasedKeys(source);
    expect(isErrorOf(await keys.get(ref('v1')).catch((e: unknown) => e), KeySourceError, 'refused')).toBe(
      true,
    );
    expect((await keys.get(ref('v1'))).kid).toMatch(/v1$/);
    expect(source.calls).toHaveLength(2);
  });

  it('clear() wipes every key', async () => {
    const keys = new ReleasedKeys(new FakeKeySource());
    const k = await keys.get(ref('v1'));
    keys.clear();
    expect(k.plaintext.every((b) => b === 0)).toBe(true);
    expect(keys.size).toBe(0);
  });
});
