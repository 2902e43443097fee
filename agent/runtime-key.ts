/**
 * The runtime key: a fresh RSA-2048 key pair made inside the TEE for this one attestation. Its public
 * half, as the SKR sidecar's JWKS bytes, is the runtime data MAA embeds in the token; sha256 of those
 * bytes is REPORT_DATA, binding the report to the key the vault will wrap every released key to.
 */
import crypto, { type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { reportDataFor } from '../core/runtime-data/report-data.ts';
import { runtimeKeyJwks } from '../core/runtime-data/runtime-key-jwks.ts';

export interface RuntimeKey {
  privateKey: KeyObject;
  /** The runtime data bytes (JWKS), exactly as hashed and sent. */
  runtimeData: Buffer;
  /** The JWK's kid: the vault's `key_hsm` header names it. */
  kid: string;
  /** sha256(runtimeData) ‖ 32 zero bytes. */
  reportData: Buffer;
}

const generateKeyPair = promisify(crypto.generateKeyPair);

/** Generated off the main thread (libuv pool), so it overlaps with the identity and certificate fetches. */
export async function generateRuntimeKey(): Promise<RuntimeKey> {
  const { privateKey } = await generateKeyPair('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
  const jwks = runtimeKeyJwks(privateKey);
  return { privateKey, runtimeData: jwks.bytes, kid: jwks.kid, reportData: reportDataFor(jwks.bytes) };
}
