import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import { describe, expect, it } from 'vitest';
import { PrefetchingCredential, vaultScope } from './identity.ts';

class CountingCredential implements TokenCredential {
  calls: { scopes: string | string[]; options: GetTokenOptions | undefined }[] = [];
  readonly lifetimeMs: number;
  constructor(lifetimeMs: number) {
    this.lifetimeMs = lifetimeMs;
  }
  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken> {
    this.calls.push({ scopes, options });
    return { token: `t${this.calls.length}`, expiresOnTimestamp: Date.now() + this.lifetimeMs };
  }
}

describe('vaultScope', () => {
  it.each([
    ['https://kv1.vault.azure.net', 'https://vault.azure.net/.default'],
    ['https://hsm1.managedhsm.azure.net', 'https://managedhsm.azure.net/.default'],
    ['https://kv1.vault.azure.cn', 'https://vault.azure.cn/.default'],
    ['https://sandbox.managedhsm.localhost:8443', 'https://managedhsm.localhost/.default'],
  ])('%s → %s', (url, scope) => {
    expect(vaultScope(url)).toBe(scope);
  });
});

describe('PrefetchingCredential', () => {
  const scope = 'https://vault.azure.net/.default';

  it('serves the vault scope from the one prefetched token, however many releases ask', async () => {
    const inner = new CountingCredential(3_600_000);
    const credential = new PrefetchingCredential(inner);
    await credential.prefetch([scope]);
    const tokens = await Promise.all([1, 2, 3].map(() => credential.getToken([scope], { enableCae: true })));
    expect(tokens.map((t) => t?.token)).toEqual(['t1', 't1', 't1']);
    expect(inner.calls).toHaveLength(1);
    expect(inner.calls[0]?.options).toMatchObject({ enableCae: true });
  });

  it('prefetches one token per vault scope', async () => {
    const inner = new CountingCredential(3_600_000);
    const credential = new PrefetchingCredential(inner);
    const hsm = 'https://managedhsm.azure.net/.default';
    await credential.prefetch([scope, hsm]);
    expect((await credential.getToken(hsm))?.token).toBe('t2');
    expect((await credential.getToken(scope))?.token).toBe('t1');
    expect(inner.calls.map((c) => c.scopes)).toEqual([scope, hsm]);
  });

  it('passes other scopes, claims challenges and nearly expired tokens to the credential', async () => {
    const inner = new CountingCredential(60_000);
    const credential = new PrefetchingCredential(inner);
    await credential.prefetch([scope]);
    expect((await credential.getToken([scope]))?.token).toBe('t2'); // expires within the margin
    expect((await credential.getToken(['https://other/.default']))?.token).toBe('t3');
    expect((await credential.getToken([scope], { claims: '{}' }))?.token).toBe('t4');
  });

  it('a failed prefetch rejects, and getToken then asks the credential again', async () => {
    let first = true;
    const credential = new PrefetchingCredential({
      getToken: async () => {
        if (first) {
          first = false;
          throw new Error('entra down');
        }
        return { token: 'late', expiresOnTimestamp: Date.now() + 3_600_000 };
      },
    });
    await expect(credential.prefetch([scope])).rejects.toThrow('entra down');
    expect((await credential.getToken([scope]))?.token).toBe('late');
  });
});
