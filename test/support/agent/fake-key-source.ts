/**
 * TEST ONLY: a node-agent KeySource that releases made-up keys from memory, counting every call, so the
 * node agent's serving path (authorisation, caching, coalescing, backoff) is tested without a TPM, an
 * attestation service or a vault. A release may be held until the test lets it go, and may fail as the
 * script says.
 */
import crypto from 'node:crypto';
import type {
  KeyRef,
  KeySource,
  KeySourceError,
  ReleasedKey,
} from '../../../agent/node-server/key-source.ts';

export class FakeKeySource implements KeySource {
  readonly name = 'fake (tests only)';
  /** Every release asked for, in order. */
  readonly calls: KeyRef[] = [];
  /** Failures to answer the next releases with, in order (a function: made when the release is asked). */
  readonly script: Array<KeySourceError | (() => KeySourceError)> = [];
  private held = false;
  private readonly waiting: Array<() => void> = [];
  private readonly material = new Map<string, Buffer>();

  /** The plaintext every release of that key version yields (32 random bytes per version). */
  plaintextOf(ref: Pick<KeyRef, 'keyName' | 'version'>): Buffer {
    const id = `${ref.keyName}/${ref.version ?? 'latest'}`;
    let m = this.material.get(id);
    if (!m) this.material.set(id, (m = crypto.randomBytes(32)));
    return m;
  }

  /** Releases wait until `releaseHeld()` is called. */
  hold(): void {
    this.held = true;
  }

  /** Lets every held release (and later ones) go. */
  releaseHeld(): void {
    this.held = false;
    this.waiting.splice(0).forEach((go) => go());
  }

  async release(ref: KeyRef): Promise<ReleasedKey> {
    this.calls.push(ref);
    const next = this.script.shift();
    const failure = typeof next === 'function' ? next() : next;
    if (this.held) await new Promise<void>((go) => this.waiting.push(go));
    if (failure) throw failure;
    return {
      kid: `${ref.vaultUrl}/keys/${ref.keyName}/${ref.version ?? 'latest'}`,
      kty: 'oct-HSM',
      // A copy: the node agent wipes what it drops.
      plaintext: Buffer.from(this.plaintextOf(ref)),
      keyOps: ['wrapKey', 'unwrapKey'],
    };
  }
}
