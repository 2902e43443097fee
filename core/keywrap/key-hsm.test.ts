import crypto from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { keyMaterialFromKey, keyMaterialFromPlaintext, vaultPlaintext } from '../keys/key-material.ts';
import { wrapKwp } from './aes-kwp.ts';
import { KeyWrapError } from './errors.ts';
import type { KeyWrapErrorKind } from './errors.ts';
import { KEY_HSM_ENCS, parseKeyHsm, unwrapKeyHsm, unwrapKeyHsmWith, wrapKeyHsm } from './key-hsm.ts';
import type { KeyHsmEnc } from './key-hsm.ts';

const ENCS = Object.keys(KEY_HSM_ENCS) as KeyHsmEnc[];
const OAEP_HASH = {
  CKM_RSA_AES_KEY_WRAP: 'sha1',
  RSA_AES_KEY_WRAP_256: 'sha256',
  RSA_AES_KEY_WRAP_384: 'sha384',
};

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

/** The error's message and hint must not contain any encoding of `secret` (nor a 12-character slice). */
function expectNoLeak(err: KeyWrapError, ...secrets: Buffer[]): void {
  const text = `${err.message} ${err.hint ?? ''} ${String(err.cause ?? '')}`;
  for (const secret of secrets) {
    for (const encoding of ['hex', 'base64', 'base64url'] as const) {
      expect(text).not.toContain(secret.toString(encoding).slice(0, 12));
    }
  }
}

const encodeEnvelope = (doc: unknown) => Buffer.from(JSON.stringify(doc)).toString('base64url');
const decodeEnvelope = (keyHsm: string) => JSON.parse(Buffer.from(keyHsm, 'base64url').toString('utf8'));

/**
 * The sidecar's unwrap written independently with OpenSSL's own RFC 5649 cipher: what wrapKeyHsm
 * produces must open this way too.
 */
function referenceUnwrap(keyHsm: string, privateKey: KeyObject): Buffer {
  const doc = decodeEnvelope(keyHsm);
  const ct = Buffer.from(doc.ciphertext, 'base64url');
  const k = (privateKey.asymmetricKeyDetails?.modulusLength ?? 0) / 8;
  const oaepHash = OAEP_HASH[doc.header.enc as KeyHsmEnc];
  const kek = crypto.privateDecrypt(
    { key: privateKey, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash },
    ct.subarray(0, k),
  );
  const d = crypto.createDecipheriv(`id-aes${kek.length * 8}-wrap-pad`, kek, Buffer.from('a65959a6', 'hex'));
  return Buffer.concat([d.update(ct.subarray(k)), d.final()]);
}

const rsa = (bits: number) => crypto.generateKeyPairSync('rsa', { modulusLength: bits });

let wrappingKeys: { bits: number; privateKey: KeyObject; publicKey: KeyObject }[];
let materials: { name: string; vaultKeyType: string; plaintext: Buffer }[];

beforeAll(() => {
  wrappingKeys = [2048, 3072, 4096].map((bits) => ({ bits, ...rsa(bits) }));
  materials = [
    { name: 'oct 16', vaultKeyType: 'oct-HSM', key: crypto.randomBytes(16) },
    { name: 'oct 32', vaultKeyType: 'oct', key: crypto.randomBytes(32) },
    { name: 'RSA-2048', vaultKeyType: 'RSA-HSM', key: rsa(2048).privateKey },
    { name: 'RSA-3072', vaultKeyType: 'RSA', key: rsa(3072).privateKey },
    {
      name: 'EC P-256',
      vaultKeyType: 'EC-HSM',
      key: crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
    },
    {
      name: 'EC P-384',
      vaultKeyType: 'EC',
      key: crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey,
    },
  ].map(({ name, vaultKeyType, key }) => ({
    name,
    vaultKeyType,
    plaintext: vaultPlaintext(keyMaterialFromKey(key)),
  }));
}, 60_000);

describe('wrapKeyHsm → unwrapKeyHsm round trips', () => {
  it('every key type, every enc, wrapping keys of 2048, 3072 and 4096 bits', () => {
    let cases = 0;
    for (const { bits, privateKey, publicKey } of wrappingKeys) {
      for (const enc of ENCS) {
        for (const { name, vaultKeyType, plaintext } of materials) {
          const label = `${name} / ${enc} / RSA-${bits}`;
          const keyHsm = wrapKeyHsm(plaintext, publicKey, { enc, kid: 'runtime-kid' });
          const parsed = parseKeyHsm(keyHsm);
          expect(parsed.header, label).toEqual({ alg: 'dir', enc, kid: 'runtime-kid' });
          expect(parsed.schemaVersion).toBe('1.0');
          expect(parsed.ciphertext.length, label).toBe(bits / 8 + 8 * (Math.ceil(plaintext.length / 8) + 1));

          const unwrapped = unwrapKeyHsm(keyHsm, privateKey);
          expect(unwrapped.equals(plaintext), label).toBe(true);
          expect(unwrapKeyHsm(parsed, privateKey).equals(plaintext), label).toBe(true);
          expect(referenceUnwrap(keyHsm, privateKey).equals(plaintext), label).toBe(true);
          // And the bytes are the key the vault was given.
          const original = keyMaterialFromPlaintext(plaintext, vaultKeyType);
          expect(keyMaterialFromPlaintext(unwrapped, vaultKeyType).key.equals(original.key), label).toBe(
            true,
          );
          cases++;
        }
      }
    }
    expect(cases).toBe(3 * 3 * 6);
  });

  it('the envelope is the vault’s JSON, in its member order, base64url without padding', () => {
    const { publicKey } = wrappingKeys[0]!;
    const keyHsm = wrapKeyHsm(Buffer.alloc(32, 7), publicKey, {
      enc: 'RSA_AES_KEY_WRAP_256',
      kid: 'fake-release-key',
    });
    expect(keyHsm).toMatch(/^[A-Za-z0-9_-]+$/);
    const json = Buffer.from(keyHsm, 'base64url').toString('utf8');
    expect(json).toMatch(
      /^\{"ciphertext":"[A-Za-z0-9_-]+","header":\{"alg":"dir","enc":"RSA_AES_KEY_WRAP_256","kid":"fake-release-key"\},"schema_version":"1\.0"\}$/,
    );
    // 32-byte oct key under RSA-2048: the 256-byte OAEP block, then AES-KWP's 32 + 8 bytes (RFC 5649).
    expect(parseKeyHsm(keyHsm).ciphertext.length).toBe(296);
  });

  it('accepts 16-, 24- and 32-byte KEKs', () => {
    const { privateKey, publicKey } = wrappingKeys[0]!;
    const plaintext = crypto.randomBytes(32);
    for (const kekLength of [16, 24, 32] as const) {
      const keyHsm = wrapKeyHsm(plaintext, publicKey, { enc: 'RSA_AES_KEY_WRAP_384', kid: 'k', kekLength });
      expect(unwrapKeyHsm(keyHsm, privateKey).equals(plaintext)).toBe(true);
    }
  });

  it('uses a fresh KEK each time', () => {
    const { publicKey } = wrappingKeys[0]!;
    const plaintext = crypto.randomBytes(32);
    const a = parseKeyHsm(wrapKeyHsm(plaintext, publicKey, { enc: 'RSA_AES_KEY_WRAP_256', kid: 'k' }));
    const b = parseKeyHsm(wrapKeyHsm(plaintext, publicKey, { enc: 'RSA_AES_KEY_WRAP_256', kid: 'k' }));
    expect(a.ciphertext.subarray(256).equals(b.ciphertext.subarray(256))).toBe(false);
  });
});

describe('tampering and misuse, each rejected with its kind and without leaking key bytes', () => {
  const plaintext = crypto.randomBytes(32);
  const enc: KeyHsmEnc = 'RSA_AES_KEY_WRAP_256';
  let privateKey: KeyObject;
  let publicKey: KeyObject;
  let doc: { ciphertext: string; header: Record<string, unknown>; schema_version: string };
  let ciphertext: Buffer;

  beforeAll(() => {
    ({ privateKey, publicKey } = wrappingKeys[0]!);
    doc = decodeEnvelope(wrapKeyHsm(plaintext, publicKey, { enc, kid: 'k' }));
    ciphertext = Buffer.from(doc.ciphertext, 'base64url');
  });
  const withCiphertext = (ct: Buffer) => encodeEnvelope({ ...doc, ciphertext: ct.toString('base64url') });
  const flipped = (offset: number) => {
    const ct = Buffer.from(ciphertext);
    ct[offset] = (ct[offset] ?? 0) ^ 0x01;
    return ct;
  };
  /** An envelope whose KWP part was built with a chosen integrity block over chosen padded bytes. */
  const forged = (mli: number, padded: Buffer) => {
    const kek = crypto.randomBytes(32);
    const rsaBlock = crypto.publicEncrypt(
      { key: publicKey, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      kek,
    );
    const a = Buffer.from('a65959a600000000', 'hex');
    a.writeUInt32BE(mli, 4);
    const c = crypto.createCipheriv('id-aes256-wrap', kek, a);
    return withCiphertext(Buffer.concat([rsaBlock, c.update(padded), c.final()]));
  };

  it('a flipped bit in the RSA block → oaep-failed, with no OpenSSL detail attached', () => {
    for (const offset of [0, 100, 255]) {
      const err = expectKind(() => unwrapKeyHsm(withCiphertext(flipped(offset)), privateKey), 'oaep-failed');
      expect(err.cause).toBeUndefined();
      expectNoLeak(err, plaintext);
    }
  });

  it('a flipped bit in the AES-KWP part → bad-aiv', () => {
    for (const offset of [256, 270, ciphertext.length - 1]) {
      expectNoLeak(
        expectKind(() => unwrapKeyHsm(withCiphertext(flipped(offset)), privateKey), 'bad-aiv'),
        plaintext,
      );
    }
  });

  it('a forged KWP part with a bad MLI → bad-mli; with non-zero padding → nonzero-padding', () => {
    expectKind(() => unwrapKeyHsm(forged(40, Buffer.concat([plaintext])), privateKey), 'bad-mli');
    const padded = Buffer.concat([plaintext.subarray(0, 30), Buffer.from([0, 9])]);
    expectNoLeak(
      expectKind(() => unwrapKeyHsm(forged(30, padded), privateKey), 'nonzero-padding'),
      plaintext,
    );
    // The same forgery with zero padding unwraps, so the check above is the padding check alone.
    const zeroPadded = Buffer.concat([plaintext.subarray(0, 30), Buffer.alloc(2)]);
    expect(unwrapKeyHsm(forged(30, zeroPadded), privateKey).equals(plaintext.subarray(0, 30))).toBe(true);
  });

  it('truncated ciphertext → ciphertext-too-short, bad-length or bad-aiv depending on where it stops', () => {
    expectKind(
      () => unwrapKeyHsm(withCiphertext(ciphertext.subarray(0, 200)), privateKey),
      'ciphertext-too-short',
    );
    expectKind(
      () => unwrapKeyHsm(withCiphertext(ciphertext.subarray(0, 256 + 8)), privateKey),
      'ciphertext-too-short',
    );
    expectKind(
      () => unwrapKeyHsm(withCiphertext(ciphertext.subarray(0, ciphertext.length - 3)), privateKey),
      'bad-length',
    );
    expectKind(
      () => unwrapKeyHsm(withCiphertext(ciphertext.subarray(0, ciphertext.length - 8)), privateKey),
      'bad-aiv',
    );
  });

  it('the split follows the modulus: an RSA-2048 envelope is too short for a 4096-bit key', () => {
    const err = expectKind(
      () => unwrapKeyHsm(withCiphertext(ciphertext), wrappingKeys[2]!.privateKey),
      'ciphertext-too-short',
    );
    expect(err.message).toContain('4096-bit');
  });

  it('an RSA block holding a KEK that is not an AES key size → bad-kek-length', () => {
    const rsaBlock = crypto.publicEncrypt(
      { key: publicKey, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      crypto.randomBytes(20),
    );
    const ct = Buffer.concat([rsaBlock, ciphertext.subarray(256)]);
    expectKind(() => unwrapKeyHsm(withCiphertext(ct), privateKey), 'bad-kek-length');
  });

  it('a wrong private key of the same size → oaep-failed', () => {
    const other = rsa(2048).privateKey;
    expectNoLeak(
      expectKind(() => unwrapKeyHsm(withCiphertext(ciphertext), other), 'oaep-failed'),
      plaintext,
    );
  });

  it('an enc that names another hash than the one used → oaep-failed', () => {
    const lying = encodeEnvelope({ ...doc, header: { ...doc.header, enc: 'CKM_RSA_AES_KEY_WRAP' } });
    expectKind(() => unwrapKeyHsm(lying, privateKey), 'oaep-failed');
  });

  it('an unknown enc → unsupported-enc, at parse, unwrap and wrap', () => {
    for (const value of ['RSA_AES_KEY_WRAP_512', 'RSA-OAEP-256', '', 42]) {
      const err = expectKind(
        () => unwrapKeyHsm(encodeEnvelope({ ...doc, header: { ...doc.header, enc: value } }), privateKey),
        'unsupported-enc',
      );
      expect(err.message).toContain('key_hsm.header.enc');
    }
    expectKind(
      () => wrapKeyHsm(plaintext, publicKey, { enc: 'RSA_AES_KEY_WRAP_512' as KeyHsmEnc, kid: 'k' }),
      'unsupported-enc',
    );
  });

  it('a wrapping key that is not an RSA private key → bad-wrapping-key', () => {
    expectKind(() => unwrapKeyHsm(withCiphertext(ciphertext), publicKey), 'bad-wrapping-key');
    const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expectKind(() => unwrapKeyHsm(withCiphertext(ciphertext), ec.privateKey), 'bad-wrapping-key');
    expectKind(() => wrapKeyHsm(plaintext, ec.publicKey, { enc, kid: 'k' }), 'bad-wrapping-key');
  });
});

describe('parseKeyHsm is strict and names the field', () => {
  const good = {
    ciphertext: 'AAAA',
    header: { alg: 'dir', enc: 'RSA_AES_KEY_WRAP_256', kid: 'k' },
    schema_version: '1.0',
  };
  const cases: { name: string; input: string; kind: KeyWrapErrorKind; field: string }[] = [
    { name: 'not base64url', input: 'eyJ+/', kind: 'bad-envelope', field: 'key_hsm' },
    {
      name: 'not JSON',
      input: Buffer.from('{"ciphertext":').toString('base64url'),
      kind: 'bad-envelope',
      field: 'key_hsm',
    },
    { name: 'a JSON array', input: encodeEnvelope([good]), kind: 'bad-envelope', field: 'key_hsm' },
    {
      name: 'no ciphertext',
      input: encodeEnvelope({ ...good, ciphertext: undefined }),
      kind: 'bad-envelope',
      field: 'key_hsm.ciphertext',
    },
    {
      name: 'ciphertext not base64url',
      input: encodeEnvelope({ ...good, ciphertext: 'AA+A' }),
      kind: 'bad-envelope',
      field: 'key_hsm.ciphertext',
    },
    {
      name: 'no header',
      input: encodeEnvelope({ ...good, header: undefined }),
      kind: 'bad-envelope',
      field: 'key_hsm.header',
    },
    {
      name: 'alg not dir',
      input: encodeEnvelope({ ...good, header: { ...good.header, alg: 'RSA-OAEP' } }),
      kind: 'unsupported-alg',
      field: 'key_hsm.header.alg',
    },
    {
      name: 'no kid',
      input: encodeEnvelope({ ...good, header: { ...good.header, kid: undefined } }),
      kind: 'bad-envelope',
      field: 'key_hsm.header.kid',
    },
    {
      name: 'no schema_version',
      input: encodeEnvelope({ ...good, schema_version: undefined }),
      kind: 'bad-envelope',
      field: 'key_hsm.schema_version',
    },
  ];
  for (const c of cases) {
    it(`${c.name} → ${c.kind}`, () => {
      expect(expectKind(() => parseKeyHsm(c.input), c.kind).message).toContain(c.field);
    });
  }

  it('accepts the well-formed envelope, padded or not', () => {
    const b64 = encodeEnvelope(good);
    expect(parseKeyHsm(b64).ciphertext.length).toBe(3);
    const padded = b64 + '='.repeat((4 - (b64.length % 4)) % 4);
    expect(parseKeyHsm(padded).header.enc).toBe('RSA_AES_KEY_WRAP_256');
  });

  it('unknown top-level members are ignored (the vault may add some)', () => {
    expect(parseKeyHsm(encodeEnvelope({ ...good, extra: true })).header.kid).toBe('k');
  });

  it('a forged envelope built around a real KWP part still needs a matching RSA block', () => {
    const kek = crypto.randomBytes(32);
    const kwp = wrapKwp(kek, crypto.randomBytes(32));
    const envelope = encodeEnvelope({
      ...good,
      ciphertext: Buffer.concat([Buffer.alloc(256, 1), kwp]).toString('base64url'),
    });
    expectKind(() => unwrapKeyHsm(envelope, wrappingKeys[0]!.privateKey), 'oaep-failed');
  });
});

describe('unwrapKeyHsmWith: the RSA block decrypted elsewhere (a TPM)', () => {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const plaintext = Buffer.alloc(32, 0x5a);

  it('hands over exactly the first modulus-length bytes and the enc hash, unwraps the rest with AES-KWP', async () => {
    const keyHsm = wrapKeyHsm(plaintext, publicKey, {
      enc: 'RSA_AES_KEY_WRAP_256',
      kid: 'TpmEphemeralEncryptionKey',
    });
    const ciphertext = parseKeyHsm(keyHsm).ciphertext;
    const calls: Array<{ block: Buffer; hash: string }> = [];
    const out = await unwrapKeyHsmWith(keyHsm, 256, async (block, hash) => {
      calls.push({ block: Buffer.from(block), hash });
      return crypto.privateDecrypt(
        { key: privateKey, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash },
        block,
      );
    });
    expect(out).toEqual(plaintext);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.hash).toBe('sha256');
    expect(calls[0]!.block).toEqual(ciphertext.subarray(0, 256));
  });

  it('turns a refusal of the decryption into oaep-failed with its cause', async () => {
    const keyHsm = wrapKeyHsm(plaintext, publicKey, { enc: 'RSA_AES_KEY_WRAP_384', kid: 'k' });
    const cause = new Error('TPM_RC_VALUE');
    await expect(unwrapKeyHsmWith(keyHsm, 256, () => Promise.reject(cause))).rejects.toMatchObject({
      kind: 'oaep-failed',
      cause,
    });
    await expect(
      unwrapKeyHsmWith(keyHsm, 512, () => Promise.resolve(Buffer.alloc(32))),
    ).rejects.toMatchObject({
      kind: 'ciphertext-too-short',
    });
  });
});
