/**
 * AES Key Wrap with Padding (RFC 5649), the second half of the vault's `key_hsm` ciphertext.
 *
 * Written out rather than delegated to OpenSSL's `id-aes*-wrap-pad` so that each integrity failure has
 * its own kind (OpenSSL reports them all as one "bad decrypt"); the AES block operations themselves
 * come from node:crypto in ECB mode. Tests cross-check every output against OpenSSL.
 */
import crypto from 'node:crypto';
import { KeyWrapError } from './errors.ts';

/** RFC 5649 §3: the alternative initial value's constant half. */
const AIV_PREFIX = Buffer.from([0xa6, 0x59, 0x59, 0xa6]);
const SEMIBLOCK = 8;
const MAX_MLI = 0xffff_ffff;

/** Wraps `plaintext` (1 to 2³²−1 bytes) under `kek`; the result is 8·(⌈len/8⌉+1) bytes. */
export function wrapKwp(kek: Uint8Array, plaintext: Uint8Array): Buffer {
  const cipher = aesEcb(kek);
  const mli = plaintext.length;
  if (mli === 0 || mli > MAX_MLI) {
    throw new KeyWrapError('bad-length', `AES-KWP plaintext must be 1 to ${MAX_MLI} bytes, got ${mli}`);
  }
  const n = Math.ceil(mli / SEMIBLOCK);
  const a = Buffer.alloc(SEMIBLOCK);
  AIV_PREFIX.copy(a, 0);
  a.writeUInt32BE(mli, 4);
  const padded = Buffer.alloc(n * SEMIBLOCK);
  padded.set(plaintext);

  // RFC 5649 §4.1: a single semiblock is one AES block; longer input goes through RFC 3394 W.
  if (n === 1) return cipher.encrypt(Buffer.concat([a, padded]));

  const r = padded;
  for (let j = 0; j <= 5; j++) {
    for (let i = 1; i <= n; i++) {
      const b = cipher.encrypt(Buffer.concat([a, r.subarray(i * 8 - 8, i * 8)]));
      b.copy(a, 0, 0, 8);
      xorCounter(a, n * j + i);
      b.copy(r, i * 8 - 8, 8, 16);
    }
  }
  return Buffer.concat([a, r]);
}

/** Unwraps an RFC 5649 ciphertext, checking the AIV, the message length indicator and the padding. */
export function unwrapKwp(kek: Uint8Array, ciphertext: Uint8Array): Buffer {
  const cipher = aesEcb(kek);
  const len = ciphertext.length;
  if (len % SEMIBLOCK !== 0 || len < 2 * SEMIBLOCK) {
    throw new KeyWrapError(
      'bad-length',
      `AES-KWP ciphertext must be a multiple of 8 bytes and at least 16, got ${len}`,
      { hint: 'the ciphertext was truncated or is not an RFC 5649 key wrap' },
    );
  }
  const n = len / SEMIBLOCK - 1;
  const a = Buffer.alloc(SEMIBLOCK);
  let p: Buffer;

  if (n === 1) {
    const b = cipher.decrypt(Buffer.from(ciphertext));
    b.copy(a, 0, 0, 8);
    p = b.subarray(8, 16);
  } else {
    // RFC 3394 W⁻¹, run backwards from t = 6n.
    Buffer.from(ciphertext.subarray(0, 8)).copy(a);
    p = Buffer.from(ciphertext.subarray(8));
    for (let j = 5; j >= 0; j--) {
      for (let i = n; i >= 1; i--) {
        xorCounter(a, n * j + i);
        const b = cipher.decrypt(Buffer.concat([a, p.subarray(i * 8 - 8, i * 8)]));
        b.copy(a, 0, 0, 8);
        b.copy(p, i * 8 - 8, 8, 16);
      }
    }
  }

  if (!a.subarray(0, 4).equals(AIV_PREFIX)) {
    throw new KeyWrapError(
      'bad-aiv',
      'AES-KWP integrity check failed: unexpected alternative initial value',
      {
        hint: 'the key-encryption key is wrong or the ciphertext was altered',
      },
    );
  }
  const mli = a.readUInt32BE(4);
  if (mli <= 8 * (n - 1) || mli > 8 * n) {
    throw new KeyWrapError(
      'bad-mli',
      `AES-KWP integrity check failed: message length ${mli} does not fit ${8 * n} unwrapped bytes`,
    );
  }
  for (let k = mli; k < 8 * n; k++) {
    if (p[k] !== 0) {
      throw new KeyWrapError(
        'nonzero-padding',
        `AES-KWP integrity check failed: padding byte at offset ${k} is not zero`,
      );
    }
  }
  return Buffer.from(p.subarray(0, mli));
}

/** A = A XOR BE64(t), where t is the RFC 3394 step counter (below 2⁵³ for any legal input). */
function xorCounter(a: Buffer, t: number): void {
  a.writeUInt32BE((a.readUInt32BE(0) ^ Math.floor(t / 0x1_0000_0000)) >>> 0, 0);
  a.writeUInt32BE((a.readUInt32BE(4) ^ t) >>> 0, 4);
}

interface BlockCipher {
  encrypt(block: Buffer): Buffer;
  decrypt(block: Buffer): Buffer;
}

/**
 * Single-block AES under `kek`: one ECB context each way without padding, fed a block at a time (ECB
 * without padding returns each block from `update` at once, so the contexts are never finalised).
 */
function aesEcb(kek: Uint8Array): BlockCipher {
  if (kek.length !== 16 && kek.length !== 24 && kek.length !== 32) {
    throw new KeyWrapError(
      'bad-kek-length',
      `AES key-encryption key must be 16, 24 or 32 bytes, got ${kek.length}`,
    );
  }
  const algorithm = `aes-${kek.length * 8}-ecb`;
  const key = crypto.createSecretKey(kek);
  const enc = crypto.createCipheriv(algorithm, key, null).setAutoPadding(false);
  const dec = crypto.createDecipheriv(algorithm, key, null).setAutoPadding(false);
  return { encrypt: (block) => enc.update(block), decrypt: (block) => dec.update(block) };
}
