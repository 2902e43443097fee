import { describe, expect, it } from 'vitest';
import { Reused, ReusedToken, tokenExpiry } from './reused-token.ts';

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

describe('Reused', () => {
  it('takes the fetch per call, and says what it holds while valid', async () => {
    let t = 0;
    const held = new Reused<{ expiresAt: number; hostData: string }>(undefined, {
      marginMs: 1_000,
      now: () => t,
    });
    expect(held.valid()).toBeUndefined();
    await expect(held.value()).rejects.toThrow(/no fetch/);
    expect((await held.value(() => Promise.resolve({ expiresAt: 10_000, hostData: 'a' }))).hostData).toBe(
      'a',
    );
    expect(held.valid()?.hostData).toBe('a');
    t = 9_000;
    expect(held.valid()).toBeUndefined();
    expect((await held.value(() => Promise.resolve({ expiresAt: 20_000, hostData: 'b' }))).hostData).toBe(
      'b',
    );
    expect(held.fetches).toBe(2);
  });

  it('reads a JWT exp, and gives an unreadable token an hour', () => {
    const jwt = (claims: object) => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;
    expect(tokenExpiry(jwt({ exp: 1_700_000_000 }))).toBe(1_700_000_000_000);
    expect(tokenExpiry('not-a-jwt', 5)).toBe(3_600_005);
  });
});
