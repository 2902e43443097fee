import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { unwrapKwp, wrapKwp } from './aes-kwp.ts';
import { KeyWrapError } from './errors.ts';
import type { KeyWrapErrorKind } from './errors.ts';

const hex = (s: string) => Buffer.from(s, 'hex');

function expectKind(fn: () => unknown, kind: KeyWrapErrorKind): KeyWrapError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(KeyWrapError);
    expect((err as KeyWrapError).kind).toBe(kind);
    return err as KeyWrapError;
  }
  throw new Error(`expected a KeyWrapError of kind ${kind}`);
}

/** OpenSSL's RFC 5649 implementation, the independent reference. */
function opensslWrapPad(kek: Buffer, plaintext: Buffer): Buffer {
  const c = crypto.createCipheriv(`id-aes${kek.length * 8}-wrap-pad`, kek, hex('a65959a6'));
  return Buffer.concat([c.update(plaintext), c.final()]);
}
function opensslUnwrapPad(kek: Buffer, ciphertext: Buffer): Buffer {
  const d = crypto.createDecipheriv(`id-aes${kek.length * 8}-wrap-pad`, kek, hex('a65959a6'));
  return Buffer.concat([d.update(ciphertext), d.final()]);
}

/**
 * Wraps `block` (already padded, 8n bytes) with an arbitrary 8-byte integrity block `a`, using OpenSSL's
 * RFC 3394 cipher (n ≥ 2) or a single AES block (n = 1): how a forger would build a ciphertext whose
 * AIV passes but whose MLI or padding does not.
 */
function wrapWithIntegrityBlock(kek: Buffer, a: Buffer, block: Buffer): Buffer {
  if (block.length === 8) {
    const c = crypto.createCipheriv(`aes-${kek.length * 8}-ecb`, kek, null).setAutoPadding(false);
    return Buffer.concat([c.update(Buffer.concat([a, block])), c.final()]);
  }
  const c = crypto.createCipheriv(`id-aes${kek.length * 8}-wrap`, kek, a);
  return Buffer.concat([c.update(block), c.final()]);
}
const aiv = (mli: number) => {
  const a = Buffer.from('a65959a600000000', 'hex');
  a.writeUInt32BE(mli, 4);
  return a;
};

describe('RFC 5649 §6 test vectors', () => {
  const kek = hex('5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8');
  const vectors = [
    {
      name: '20 octets',
      key: 'c37b7e6492584340bed12207808941155068f738',
      wrapped: '138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a',
    },
    { name: '7 octets', key: '466f7250617369', wrapped: 'afbeb0f07dfbf5419200f2ccb50bb24f' },
  ];
  for (const v of vectors) {
    it(`wraps ${v.name}`, () => {
      expect(wrapKwp(kek, hex(v.key)).toString('hex')).toBe(v.wrapped);
    });
    it(`unwraps ${v.name}`, () => {
      expect(unwrapKwp(kek, hex(v.wrapped)).toString('hex')).toBe(v.key);
    });
  }
});

describe('agrees with OpenSSL id-aes*-wrap-pad', () => {
  const lengths = [...Array.from({ length: 41 }, (_, i) => i + 1), 63, 64, 65, 121, 256, 1217, 1218];
  for (const kekLength of [16, 24, 32]) {
    it(`AES-${kekLength * 8}: every length wraps identically and unwraps both ways`, () => {
      const kek = crypto.randomBytes(kekLength);
      for (const len of lengths) {
        const plaintext = crypto.randomBytes(len);
        const ours = wrapKwp(kek, plaintext);
        const theirs = opensslWrapPad(kek, plaintext);
        expect(ours.equals(theirs), `length ${len}`).toBe(true);
        expect(ours.length).toBe(8 * (Math.ceil(len / 8) + 1));
        expect(opensslUnwrapPad(kek, ours).equals(plaintext)).toBe(true);
        expect(unwrapKwp(kek, theirs).equals(plaintext)).toBe(true);
      }
    });
  }
});

describe('integrity failures, each with its own kind', () => {
  const kek = crypto.randomBytes(32);

  it('bad-length: not a multiple of 8, or shorter than two semiblocks', () => {
    const good = wrapKwp(kek, crypto.randomBytes(20));
    expectKind(() => unwrapKwp(kek, good.subarray(0, good.length - 3)), 'bad-length');
    expectKind(() => unwrapKwp(kek, good.subarray(0, 8)), 'bad-length');
    expectKind(() => unwrapKwp(kek, Buffer.alloc(0)), 'bad-length');
    expectKind(() => wrapKwp(kek, Buffer.alloc(0)), 'bad-length');
  });

  it('bad-kek-length: a KEK that is not an AES key size', () => {
    expectKind(() => wrapKwp(crypto.randomBytes(20), Buffer.alloc(8)), 'bad-kek-length');
    expectKind(() => unwrapKwp(crypto.randomBytes(31), Buffer.alloc(16)), 'bad-kek-length');
  });

  it('bad-aiv: a flipped bit anywhere, or the wrong KEK', () => {
    for (const len of [7, 20, 32]) {
      const good = wrapKwp(kek, crypto.randomBytes(len));
      for (let byte = 0; byte < good.length; byte += 5) {
        const bad = Buffer.from(good);
        bad[byte] = (bad[byte] ?? 0) ^ 0x10;
        expectKind(() => unwrapKwp(kek, bad), 'bad-aiv');
      }
      expectKind(() => unwrapKwp(crypto.randomBytes(32), good), 'bad-aiv');
    }
  });

  it('bad-aiv: an RFC 3394 (unpadded) wrap is not accepted as RFC 5649', () => {
    const c = crypto.createCipheriv('id-aes256-wrap', kek, hex('a6a6a6a6a6a6a6a6')); // RFC 3394 default IV
    const rfc3394 = Buffer.concat([c.update(crypto.randomBytes(32)), c.final()]);
    expectKind(() => unwrapKwp(kek, rfc3394), 'bad-aiv');
  });

  it('bad-mli: a length indicator outside 8(n−1) < MLI ≤ 8n', () => {
    // n = 1 (single AES block) and n = 3 (RFC 3394 path).
    for (const mli of [0, 9, 1000]) {
      expectKind(() => unwrapKwp(kek, wrapWithIntegrityBlock(kek, aiv(mli), Buffer.alloc(8, 1))), 'bad-mli');
    }
    for (const mli of [0, 16, 25, 0xffffffff]) {
      expectKind(() => unwrapKwp(kek, wrapWithIntegrityBlock(kek, aiv(mli), Buffer.alloc(24, 1))), 'bad-mli');
    }
    // The boundaries themselves are fine.
    expect(unwrapKwp(kek, wrapWithIntegrityBlock(kek, aiv(17), Buffer.alloc(24, 0))).length).toBe(17);
    expect(unwrapKwp(kek, wrapWithIntegrityBlock(kek, aiv(24), Buffer.alloc(24, 1))).length).toBe(24);
  });

  it('nonzero-padding: bytes after the message that are not zero', () => {
    const single = Buffer.from('0102030405000700', 'hex');
    const err = expectKind(
      () => unwrapKwp(kek, wrapWithIntegrityBlock(kek, aiv(5), single)),
      'nonzero-padding',
    );
    expect(err.message).toContain('offset 6');
    const multi = Buffer.alloc(24, 0xaa);
    multi.fill(0, 17, 23); // last byte non-zero
    expectKind(() => unwrapKwp(kek, wrapWithIntegrityBlock(kek, aiv(17), multi)), 'nonzero-padding');
  });

  it('messages carry no key bytes', () => {
    const plaintext = crypto.randomBytes(32);
    const good = wrapKwp(kek, plaintext);
    const bad = Buffer.from(good);
    bad[3] = (bad[3] ?? 0) ^ 1;
    const err = expectKind(() => unwrapKwp(kek, bad), 'bad-aiv');
    for (const secret of [plaintext, kek]) {
      for (const encoding of ['hex', 'base64', 'base64url'] as const) {
        expect(`${err.message} ${err.hint ?? ''}`).not.toContain(secret.toString(encoding).slice(0, 12));
      }
    }
  });
});
