/**
 * Where `@azure/keyvault-keys` comes from: Node's `require` (the package's CommonJS build, which Node loads
 * markedly faster than its ESM one), called only when the SDK is first needed.
 *
 * The agent's bundle (scripts/bundle-agent.ts, ADR 19) replaces this module with a static import of the
 * SDK's ESM build, so the SDK ships inside the bundle and is evaluated when the agent's path loads (while
 * the runtime key pair is made).
 */
import { createRequire } from 'node:module';
import type * as KeyVaultSdk from '@azure/keyvault-keys';

const require = createRequire(import.meta.url);

export function requireKeyVaultSdk(): typeof KeyVaultSdk {
  return require('@azure/keyvault-keys') as typeof KeyVaultSdk;
}
