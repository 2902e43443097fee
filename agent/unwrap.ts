/**
 * From a verified release to KeyMaterial: the `key_hsm` envelope must be wrapped to *our* runtime key
 * (its header names the kid), unwraps with the runtime private key (core/keywrap), and the plaintext
 * must be the key type the vault says (core/keys). The plaintext buffer is wiped once it is held as a
 * KeyObject.
 */
import { KeyWrapError } from '../core/keywrap/errors.ts';
import { parseKeyHsm, unwrapKeyHsm } from '../core/keywrap/key-hsm.ts';
import { KeyMaterialError } from '../core/keys/errors.ts';
import { keyMaterialFromPlaintext, type KeyMaterial } from '../core/keys/key-material.ts';
import type { KeySpec } from './config.ts';
import { AgentError } from './errors.ts';
import type { VerifiedRelease } from '../core/release/verify-release.ts';
import type { RuntimeKey } from './runtime-key.ts';

export interface UnwrappedKey {
  spec: KeySpec;
  material: KeyMaterial;
  /** The vault key's permitted operations (the JWK format writes them). */
  keyOps: string[];
  /** The released key version's id. */
  kid: string;
}

export function unwrapRelease(spec: KeySpec, release: VerifiedRelease, runtime: RuntimeKey): UnwrappedKey {
  const fail = (message: string, cause?: unknown, hint?: string): AgentError =>
    new AgentError('unwrap-failed', message, {
      step: 'unwrap',
      key: spec.alias,
      endpoint: release.kid,
      ...(cause === undefined ? {} : { cause }),
      ...(hint === undefined ? {} : { hint }),
    });
  let plaintext: Buffer | undefined;
  try {
    const envelope = parseKeyHsm(release.keyHsm);
    if (envelope.header.kid !== runtime.kid) {
      throw fail(
        `key ${spec.name} is wrapped to runtime key ${envelope.header.kid}, not to this agent's ${runtime.kid}`,
        undefined,
        'the attestation token carried other runtime data',
      );
    }
    plaintext = unwrapKeyHsm(envelope, runtime.privateKey);
    const material = keyMaterialFromPlaintext(plaintext, release.kty);
    return { spec, material, keyOps: release.keyOps, kid: release.kid };
  } catch (err) {
    if (err instanceof AgentError) throw err;
    if (err instanceof KeyWrapError || err instanceof KeyMaterialError) {
      throw fail(`key ${spec.name} did not unwrap: ${err.message}`, err, err.hint);
    }
    throw err;
  } finally {
    plaintext?.fill(0);
  }
}
