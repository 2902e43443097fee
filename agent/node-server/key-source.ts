/**
 * Where the node agent's keys come from. On a confidential-VM node that is the node's own attestation
 * (Azure Attestation `AzureGuest` through the vTPM) and a release wrapped to the TPM; the node agent
 * itself only asks for a key version and serves what comes back, so the source is pluggable and the
 * serving path is tested with a fake.
 *
 * A source reports a throttled or unavailable vault or authority as a KeySourceError (with the time it
 * may be asked again, when the service said), so the node agent can back off for the whole node.
 */
import { SecureKeyError } from '../../core/errors.ts';
import type { KeySpec } from '../config.ts';

/** One vault key, as a SecureKey names it. */
export interface KeyRef {
  /** The vault's https origin (spec.vault.url). */
  vaultUrl: string;
  /** The vault key name (spec.key.name). */
  keyName: string;
  /** The version to release (status.key.version); the latest when absent. */
  version?: string;
  /** The attestation authority whose token the release policy accepts (spec.attestation.authorities). */
  authority: string;
}

/** A released key: plaintext in the vault's release form (what `key_hsm` unwrapping yields). */
export interface ReleasedKey {
  /** The versioned key id the vault released. */
  kid: string;
  /** The vault key type (oct-HSM, RSA-HSM, EC-HSM). */
  kty: string;
  /** Memory only: never logged, never written. */
  plaintext: Buffer;
  keyOps: string[];
}

export interface KeySource {
  /** For logs and /metrics: which source this node agent releases with. */
  readonly name: string;
  release(ref: KeyRef, o: { signal: AbortSignal }): Promise<ReleasedKey>;
  /** Ready to release (e.g. the node attested once); undefined means always. */
  ready?(): true | string;
  close?(): Promise<void>;
}

export type KeySourceErrorKind =
  /** The vault or the authority answered 429: ask again at `retryAt`, or after a backoff. */
  | 'throttled'
  /** No usable answer (network, 5xx): worth another try. */
  | 'unavailable'
  /** The vault refused the release (policy, permission) or the response did not verify: final. */
  | 'refused'
  /** The vault has no such key or version. */
  | 'not-found';

export class KeySourceError extends SecureKeyError<KeySourceErrorKind> {
  readonly retryAt: Date | undefined;

  constructor(
    kind: KeySourceErrorKind,
    message: string,
    o: { retryAt?: Date; hint?: string; cause?: unknown } = {},
  ) {
    super(kind, message, {
      ...(o.hint === undefined ? {} : { hint: o.hint }),
      ...(o.cause === undefined ? {} : { cause: o.cause }),
    });
    this.retryAt = o.retryAt;
  }
}

/** "vault/keys/name/version", for logs and messages. */
export function keyRefName(ref: KeyRef): string {
  return `${ref.vaultUrl}/keys/${ref.keyName}${ref.version === undefined ? '' : `/${ref.version}`}`;
}

/** The key as pod mode's release path names one (alias = key name; the node agent writes no file). */
export function keySpecOf(ref: KeyRef): KeySpec {
  return {
    alias: ref.keyName,
    vaultUrl: ref.vaultUrl,
    name: ref.keyName,
    ...(ref.version === undefined ? {} : { version: ref.version }),
    attestationUrl: ref.authority,
    format: 'raw',
    path: '',
  };
}
