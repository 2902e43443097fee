import { describe, expect, it } from 'vitest';
import { parseChallenge } from './key-release.ts';

describe('parseChallenge (Key Vault’s WWW-Authenticate, read as @azure/keyvault-common reads it)', () => {
  it('takes the resource, and the tenant from the authorization URI’s path', () => {
    expect(
      parseChallenge(
        'Bearer authorization="https://login.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47", resource="https://vault.azure.net"',
      ),
    ).toEqual({
      authorization: 'https://login.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47',
      resource: 'https://vault.azure.net',
      tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
    });
  });

  it('a scope instead of a resource; no tenant when the URI has no path', () => {
    expect(
      parseChallenge(
        'Bearer authorization="https://login.microsoftonline.com", scope="https://managedhsm.azure.net/.default"',
      ),
    ).toEqual({
      authorization: 'https://login.microsoftonline.com',
      scope: 'https://managedhsm.azure.net/.default',
    });
  });

  it('ignores parameters it does not know, and refuses an authorization that is not a URI', () => {
    expect(parseChallenge('Bearer realm="x", resource="https://vault.azure.net"')).toEqual({
      resource: 'https://vault.azure.net',
    });
    expect(() => parseChallenge('Bearer authorization="not a uri"')).toThrow(
      /authorization URI 'not a uri' is invalid/,
    );
  });
});
