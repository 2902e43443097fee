import { describe, expect, it } from 'vitest';
import { isErrorOf } from '../../core/errors.ts';
import { KeySourceError, type KeyRef, type KeySource, type ReleasedKey } from './key-source.ts';
import { ReleasedKeys } from './released-keys.ts';
import { ReusedToken } from './reused-token.ts';

const ref = (version: string, keyName = 'db'): KeyRef & { version: string } => ({
  vaultUrl: 'https://v.vault.azure.net',
  keyName,
  version,
  authority: 'https://maa.example',
});

/** A key source answering from a script, counting calls; each release resolves when the test says. */
function fakeSource(script: Array<KeySourceError | 'ok'> = []) {
  const calls: KeyRef[] = [];
  const gates: Array<() => void> = [];
  const source: KeySource = {
    name: 'fake',
    async release(r) {
      calls.push(r);
      const step = script.shift() ?? 'ok';
      await new Promise<void>((resolve) => gates.push(resolve));
      if (step !== 'ok') throw step;
      return {
        kid: `${r.vaultUrl}/keys/${r.keyName}/${r.version}`,
        kty: 'oct-HSM',
        plaintext: Buffer.alloc(32, r.version!.charCodeAt(0)),
        keyOps: ['wrapKey'],
      };
    },
  };
  const openAll = async () => {
    for (let i = 0; i < 50 && gates.length === 0; i++) await new Promise((r) => setImmediate(r));
    gates.splice(0).forEach((g) => g());
  };
  return { source, calls, openAll };
}

/** A clock that only moves when a backoff sleeps. */
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
    const { source, calls, openAll } = fakeSource();
    const keys = new ReleasedKeys(source);
    const burst = Array.from({ length: 50 }, () => keys.get(ref('v1')));
    await openAll();
    const got = await Promise.all(burst);
    expect(calls).toHaveLength(1);
    expect(new Set(got).size).toBe(1);
    expect(await keys.get(ref('v1'))).toBe(got[0]);
    expect(calls).toHaveLength(1);
    expect(keys.size).toBe(1);
  });

  it('releases each key separately, and a new version once, wiping the old one', async () => {
    const { source, calls, openAll } = fakeSource();
    const keys = new ReleasedKeys(source);
    const both = [keys.get(ref('v1')), keys.get(ref('v1', 'tls'))];
    await openAll();
    const [v1] = await Promise.all(both);
    expect(calls.map((c) => c.keyName)).toEqual(['db', 'tls']);
    const rotated = [keys.get(ref('v2')), keys.get(ref('v2'))];
    await openAll();
    const [v2] = await Promise.all(rotated);
    expect(calls.map((c) => `${c.keyName}/${c.version}`)).toEqual(['db/v1', 'tls/v1', 'db/v2']);
    expect(v2!.kid).toMatch(/\/db\/v2$/);
    expect(v1!.plaintext.equals(Buffer.alloc(32))).toBe(true); // wiped
    expect(keys.size).toBe(2);
  });

  it('honours Retry-After on a 429, with backoff and jitter, and coalesces meanwhile', async () => {
    const clock = fakeClock();
    const retryAt = () => new Date(clock.now() + 3_000);
    const { source, calls, openAll } = fakeSource();
    let n = 0;
    const throttling: KeySource = {
      name: 'fake',
      release: (r, o) => {
        n++;
        if (n <= 2) {
          calls.push(r);
          return Promise.reject(new KeySourceError('throttled', 'vault 429', { retryAt: retryAt() }));
        }
        return source.release(r, o);
      },
    };
    const keys = new ReleasedKeys(throttling, { ...clock, random: () => 0.5 });
    const burst = Array.from({ length: 10 }, () => keys.get(ref('v1')));
    await openAll();
    await Promise.all(burst);
    expect(calls).toHaveLength(3);
    // Never sooner than asked (3 s), spread by the jitter (×1.125 at random 0.5).
    expect(clock.sleeps).toEqual([3375, 3375]);
  });

  it('backs off exponentially without a Retry-After', async () => {
    const clock = fakeClock();
    const { source, calls, openAll } = fakeSource([
      new KeySourceError('unavailable', '503'),
      new KeySourceError('unavailable', '503'),
      new KeySourceError('unavailable', '503'),
    ]);
    const keys = new ReleasedKeys(source, { ...clock, random: () => 0 });
    const p = keys.get(ref('v1'));
    for (let i = 0; i < 4; i++) await openAll();
    await p;
    expect(calls).toHaveLength(4);
    expect(clock.sleeps).toEqual([500, 1000, 2000]);
  });

  it('past its retry budget tells callers when to come back, without calling the vault again before then', async () => {
    const clock = fakeClock();
    const calls: KeyRef[] = [];
    const source: KeySource = {
      name: 'fake',
      release: (r) => {
        calls.push(r);
        return Promise.reject(
          new KeySourceError('throttled', 'vault 429', { retryAt: new Date(clock.now() + 15_000) }),
        );
      },
    };
    const keys = new ReleasedKeys(source, { ...clock, random: () => 0, retryBudgetMs: 20_000 });
    const err = await keys.get(ref('v1')).catch((e: unknown) => e);
    expect(isErrorOf(err, KeySourceError, 'throttled')).toBe(true);
    expect(calls).toHaveLength(2);
    const retryAt = (err as KeySourceError).retryAt!.getTime();
    expect(retryAt).toBe(clock.now() + 15_000);
    // Asked again before then: answered at once, no vault call.
    const again = await keys.get(ref('v1')).catch((e: unknown) => e);
    expect((again as KeySourceError).retryAt!.getTime()).toBe(retryAt);
    expect(calls).toHaveLength(2);
    clock.advance(15_000);
    await keys.get(ref('v1')).catch(() => {});
    expect(calls.length).toBeGreaterThan(2);
  });

  it('does not retry a refusal, and does not remember it', async () => {
    const { source, calls, openAll } = fakeSource([new KeySourceError('refused', 'policy')]);
    const keys = new ReleasedKeys(source);
    const p = keys.get(ref('v1')).catch((e: unknown) => e);
    await openAll();
    expect(isErrorOf(await p, KeySourceError, 'refused')).toBe(true);
    const q = keys.get(ref('v1'));
    await openAll();
    expect((await q).kid).toMatch(/v1$/);
    expect(calls).toHaveLength(2);
  });

  it('clear() wipes every key', async () => {
    const { source, openAll } = fakeSource();
    const keys = new ReleasedKeys(source);
    const p = keys.get(ref('v1'));
    await openAll();
    const k: ReleasedKey = await p;
    keys.clear();
    expect(k.plaintext.every((b) => b === 0)).toBe(true);
    expect(keys.size).toBe(0);
  });
});

describe('ReusedToken', () => {
  it('reuses one token until its expiry minus the margin, fetching once for concurrent callers', async () => {
    let t = 0;
    let n = 0;
    const token = new ReusedToken(() => Promise.resolve({ token: `t${++n}`, expiresAt: t + 3_600_000 }), {
      marginMs: 300_000,
      now: () => t,
    });
    expect(await Promise.all([token.get(), token.get(), token.get()])).toEqual(['t1', 't1', 't1']);
    t = 3_299_999;
    expect(await token.get()).toBe('t1');
    t = 3_300_000;
    expect(await Promise.all([token.get(), token.get()])).toEqual(['t2', 't2']);
    expect(token.fetches).toBe(2);
    token.invalidate();
    expect(await token.get()).toBe('t3');
  });

  it('does not remember a failed fetch', async () => {
    let fail = true;
    const token = new ReusedToken(() =>
      fail
        ? Promise.reject(new Error('maa down'))
        : Promise.resolve({ token: 'ok', expiresAt: Date.now() + 3.6e6 }),
    );
    await expect(token.get()).rejects.toThrow('maa down');
    fail = false;
    expect(await token.get()).toBe('ok');
  });
});
