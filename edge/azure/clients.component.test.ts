/**
 * The SDK loads on first use: importing edge/azure (as the operator and the tests do) must not load it, and the factories must still hand out the real SDK clients.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as IdentitySdk from '@azure/identity';
import type * as KeyVaultSdk from '@azure/keyvault-keys';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../scripts/cluster/paths.ts';
import { keyClientFor, workloadIdentityCredential } from './index.ts';

/** Runs `body` in a fresh Node after importing edge/azure; prints which @azure packages were loaded. */
function azurePackagesLoaded(body: string): { afterImport: string[]; afterBody: string[] } {
  const script = `
    import { registerHooks } from 'node:module';
    const loaded = new Set();
    registerHooks({ load(url, context, next) {
      const m = /node_modules\\/(@azure\\/[^/]+)\\//.exec(url);
      if (m) loaded.add(m[1]);
      return next(url, context);
    } });
    const azure = await import(${JSON.stringify(path.join(repoRoot, 'edge/azure/index.ts'))});
    const afterImport = [...loaded];
    ${body}
    console.log(JSON.stringify({ afterImport, afterBody: [...loaded] }));
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  return JSON.parse(out) as { afterImport: string[]; afterBody: string[] };
}

describe('edge/azure SDK loading', () => {
  it('loads nothing of the SDK on import, @azure/identity for a credential, keyvault-keys for a client', () => {
    const r = azurePackagesLoaded(`
      const credential = azure.workloadIdentityCredential({
        tenantId: 't', clientId: 'c', tokenFilePath: '/nonexistent', authorityHost: 'https://login.localhost',
      });
      const afterCredential = [...loaded];
      azure.keyClientFor({ vaultUrl: 'https://kv.vault.localhost', credential });
      console.error(JSON.stringify(afterCredential));
      if (afterCredential.includes('@azure/keyvault-keys')) throw new Error('keyvault-keys loaded for a credential');
    `);
    expect(r.afterImport).toEqual([]);
    expect(r.afterBody).toContain('@azure/identity');
    expect(r.afterBody).toContain('@azure/keyvault-keys');
  }, 30_000);

  it('hands out the real SDK classes', () => {
    const require = createRequire(import.meta.url);
    const identity = require('@azure/identity') as typeof IdentitySdk;
    const keys = require('@azure/keyvault-keys') as typeof KeyVaultSdk;
    const credential = workloadIdentityCredential({
      tenantId: 't',
      clientId: 'c',
      tokenFilePath: '/nonexistent',
      authorityHost: 'https://login.localhost',
    });
    expect(credential).toBeInstanceOf(identity.WorkloadIdentityCredential);
    const client = keyClientFor({ vaultUrl: 'https://kv.vault.localhost', credential });
    expect(client).toBeInstanceOf(keys.KeyClient);
    expect(client.vaultUrl).toBe('https://kv.vault.localhost');
  });
});
