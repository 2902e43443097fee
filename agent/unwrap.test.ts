import crypto from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { wrapKeyHsm } from '../core/keywrap/key-hsm.ts';
import type { KeySpec } from './config.ts';
import { AgentError, reasonOf } from './errors.ts';
import type { VerifiedRelease } from '../core/release/verify-release.ts';
import { generateRuntimeKey, type RuntimeKey } from './runtime-key.ts';
import { unwrapRelease } from './unwrap.ts';

const spec: KeySpec = {
  alias: 'db',
  vaultUrl: 'https://hsm1.managedhsm.azure.net',
  name: 'db-key',
  attestationUrl: 'https://maa1.weu.attest.azure.net',
  format: 'raw',
  path: '/run/securekey/db',
};
let runtime: RuntimeKey;

beforeAll(async () => {
  runtime = await generateRuntimeKey();
});

function release(keyHsm: string, kty = 'oct'): VerifiedRelease {
  return {
    keyHsm,
    kty,
    keyOps: ['encrypt'],
    kid: 'https://hsm1.managedhsm.azure.net/keys/db-key/1',
    enc: 'RSA_AES_KEY_WRAP_256',
  };
}

function refused(fn: () => unknown): AgentError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AgentError);
    expect(err).toMatchObject({ kind: 'unwrap-failed', step: 'unwrap', key: 'db' });
    return err as AgentError;
  }
  throw new Error('expected unwrap-failed');
}

describe('unwrapRelease', () => {
  it('binds REPORT_DATA to the runtime JWKS it publishes', () => {
    expect(runtime.reportData.subarray(0, 32)).toEqual(
      crypto.createHash('sha256').update(runtime.runtimeData).digest(),
    );
    expect(runtime.reportData.subarray(32)).toEqual(Buffer.alloc(32));
    expect(JSON.parse(runtime.runtimeData.toString()).keys[0].kid).toBe(runtime.kid);
  });

  it('unwraps a key wrapped to this runtime key, with every wrap algorithm', () => {
    const secret = crypto.randomBytes(32);
    const pub = crypto.createPublicKey(runtime.privateKey);
    for (const enc of ['CKM_RSA_AES_KEY_WRAP', 'RSA_AES_KEY_WRAP_256', 'RSA_AES_KEY_WRAP_384'] as const) {
      const key = unwrapRelease(spec, release(wrapKeyHsm(secret, pub, { enc, kid: runtime.kid })), runtime);
      expect(key.material.kty).toBe('oct');
      expect(key.material.key.export().equals(secret)).toBe(true);
    }
  });

  it('a key wrapped to another runtime key is refused by kid before decryption', () => {
    const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    const err = refused(() =>
      unwrapRelease(
        spec,
        release(wrapKeyHsm(crypto.randomBytes(32), other, { enc: 'RSA_AES_KEY_WRAP_256', kid: 'other' })),
        runtime,
      ),
    );
    expect(err.message).toContain('wrapped to runtime key other');
  });

  it('a tampered ciphertext or a key of another type → unwrap-failed with the core’s reason', () => {
    const pub = crypto.createPublicKey(runtime.privateKey);
    const good = wrapKeyHsm(crypto.randomBytes(32), pub, { enc: 'RSA_AES_KEY_WRAP_256', kid: runtime.kid });
    const doc = JSON.parse(Buffer.from(good, 'base64url').toString()) as { ciphertext: string };
    const ct = Buffer.from(doc.ciphertext, 'base64url');
    ct[ct.length - 1] = (ct[ct.length - 1] ?? 0) ^ 1; // inside the AES-KWP part
    const tampered = Buffer.from(JSON.stringify({ ...doc, ciphertext: ct.toString('base64url') })).toString(
      'base64url',
    );
    expect(reasonOf(refused(() => unwrapRelease(spec, release(tampered), runtime)))).toBe('bad-aiv');
    expect(reasonOf(refused(() => unwrapRelease(spec, release(good, 'RSA-HSM'), runtime)))).toBe('bad-pkcs8');
  });
});
