import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { redactKeyMaterial } from './redact.ts';

describe('redactKeyMaterial', () => {
  it('redacts PEM blocks and mixed-case base64url runs, keeps digests, key ids and names', () => {
    const digest = 'cadd74f71ebb8fbf9782baab649612520f3c416bc5ce9ac768808ddc8d9b031c';
    const kid = 'https://contoso.vault.azure.net/keys/db-key/0123456789abcdef0123456789abcdef';
    const secret = 'Xq3v9LmP0aZ7bR2cT8dW1eY6fU4gI5hJ0kN-_oSxQ';
    const pem =
      '-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7\n-----END PRIVATE KEY-----';
    expect(redactKeyMaterial(`digest ${digest} key ${kid} k=${secret} ${pem} done`)).toBe(
      `digest ${digest} key ${kid} k=[redacted] [redacted] done`,
    );
  });

  it('redacts a base64 DER private key whole, slashes included, but keeps resource ids and paths', () => {
    const der = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'der' })
      .toString('base64');
    expect(der).toContain('/');
    expect(redactKeyMaterial(`decoding failed near ${der}`)).toBe('decoding failed near [redacted]');
    for (const kept of [
      '/subscriptions/1b2c3d4e-0000-4abc-9def-0123456789ab/resourceGroups/securekey-rg/providers/Microsoft.KeyVault/managedHSMs/hsm1',
      '/var/run/secrets/azure/tokens/azure-identity-token',
      'https://h.managedhsm.azure.net/keys/db-key/8167bd04b2ff24bbcbbf9c92872bba87',
    ]) {
      expect(redactKeyMaterial(kept)).toBe(kept);
    }
  });
});
