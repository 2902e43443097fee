import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CborTag,
  CoseError,
  decodeCbor,
  decodeCoseSign1,
  encodeCbor,
  HEADER,
  sigStructure,
  signCoseSign1,
  verifyCoseSign1,
  type CborValue,
} from './index.ts';

const hex = (h: string) => Buffer.from(h.replace(/\s/g, ''), 'hex');
const kindOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (err) {
    return err instanceof CoseError ? err.kind : `not a CoseError: ${String(err)}`;
  }
  return undefined;
};

describe('CBOR', () => {
  it('decodes RFC 8949 Appendix A examples', () => {
    expect(decodeCbor(hex('00'))).toBe(0);
    expect(decodeCbor(hex('1903e8'))).toBe(1000);
    expect(decodeCbor(hex('1bffffffffffffffff'))).toBe(18446744073709551615n);
    expect(decodeCbor(hex('3903e7'))).toBe(-1000);
    expect(decodeCbor(hex('3bffffffffffffffff'))).toBe(-18446744073709551616n);
    expect(decodeCbor(hex('6449455446'))).toBe('IETF');
    expect(decodeCbor(hex('4401020304'))).toEqual(Buffer.from([1, 2, 3, 4]));
    expect(decodeCbor(hex('83010203'))).toEqual([1, 2, 3]);
    expect(decodeCbor(hex('a201020304'))).toEqual(
      new Map([
        [1, 2],
        [3, 4],
      ]),
    );
    expect(decodeCbor(hex('c11a514b67b0'))).toEqual(new CborTag(1, 1363896240));
    expect([decodeCbor(hex('f4')), decodeCbor(hex('f5')), decodeCbor(hex('f6'))]).toEqual([
      false,
      true,
      null,
    ]);
  });

  it('encodes with the shortest heads and reads its own output back', () => {
    expect(encodeCbor(1000).toString('hex')).toBe('1903e8');
    expect(encodeCbor(-1000).toString('hex')).toBe('3903e7');
    expect(encodeCbor(-38).toString('hex')).toBe('3825');
    expect(
      encodeCbor(['Signature1', new Uint8Array([0xa0]), new Uint8Array(), new Uint8Array([1])]).toString(
        'hex',
      ),
    ).toBe('846a5369676e61747572653141a0404101');
    const value: CborValue = new Map<CborValue, CborValue>([
      [1, -38],
      ['feed', 'x'],
      [33, [Buffer.alloc(300), Buffer.alloc(70_000)]],
      ['t', new CborTag(1, 2 ** 40)],
    ]);
    expect(decodeCbor(encodeCbor(value))).toEqual(value);
  });

  it('refuses what it cannot read, within bounds', () => {
    expect(kindOf(() => decodeCbor(hex('5f')))).toBe('bad-cbor'); // indefinite byte string
    expect(kindOf(() => decodeCbor(hex('0000')))).toBe('bad-cbor'); // trailing bytes
    expect(kindOf(() => decodeCbor(hex('5a ffffffff 00')))).toBe('bad-cbor'); // length past the end
    expect(kindOf(() => decodeCbor(hex('9b 00000000ffffffff')))).toBe('bad-cbor'); // count past the end
    expect(kindOf(() => decodeCbor(hex('a2 0102 0103')))).toBe('bad-cbor'); // duplicate key
    expect(kindOf(() => decodeCbor(hex('a1 40 01')))).toBe('bad-cbor'); // byte-string key
    expect(kindOf(() => decodeCbor(hex('62 c328')))).toBe('bad-cbor'); // not UTF-8
    expect(kindOf(() => decodeCbor(hex('f93c00')))).toBe('bad-cbor'); // half float
    // [[[…[0]…]]] 20 deep is well formed, and deeper than the default bound.
    const deep = Buffer.concat([Buffer.alloc(20, 0x81), Buffer.from([0])]);
    expect(kindOf(() => decodeCbor(deep))).toBe('bad-cbor');
    expect(kindOf(() => decodeCbor(deep, { maxDepth: 21 }))).toBeUndefined();
    expect(
      kindOf(() => decodeCbor(Buffer.concat([hex('99ffff'), Buffer.alloc(0xffff)]), { maxItems: 100 })),
    ).toBe('bad-cbor');
  });
});

describe('COSE_Sign1', () => {
  for (const [alg, type] of [
    [-38, 'rsa'],
    [-35, 'ec'],
  ] as const) {
    it(`signs and verifies with alg ${alg}, and a changed payload fails`, () => {
      const { privateKey, publicKey } =
        type === 'rsa'
          ? crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
          : crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' });
      const signed = signCoseSign1({
        protectedHeader: new Map<CborValue, CborValue>([
          [HEADER.alg, alg],
          [HEADER.contentType, 'application/json'],
        ]),
        payload: Buffer.from('{"a":1}'),
        key: privateKey,
      });
      expect(signed.subarray(0, 2).toString('hex')).toBe('d284');
      const message = decodeCoseSign1(signed);
      expect(() => verifyCoseSign1(message, publicKey)).not.toThrow();
      // The Sig_structure is what is signed: a verifier of RFC 9052 gets the same bytes.
      expect(
        crypto.verify(
          alg === -38 ? 'sha384' : 'sha384',
          sigStructure(message.protectedBytes, message.payload),
          type === 'rsa'
            ? { key: publicKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 }
            : { key: publicKey, dsaEncoding: 'ieee-p1363' },
          message.signature,
        ),
      ).toBe(true);
      const tampered = { ...message, payload: Buffer.from('{"a":2}') };
      expect(kindOf(() => verifyCoseSign1(tampered, publicKey))).toBe('signature-invalid');
    });
  }

  it('refuses what is not a COSE_Sign1', () => {
    expect(kindOf(() => decodeCoseSign1(encodeCbor([1, 2, 3, 4])))).toBe('bad-cose-sign1');
    expect(
      kindOf(() =>
        decodeCoseSign1(encodeCbor(new CborTag(18, [new Uint8Array(), new Map(), null, new Uint8Array()]))),
      ),
    ).toBe('bad-cose-sign1');
    const unknownAlg = decodeCoseSign1(
      encodeCbor(
        new CborTag(18, [encodeCbor(new Map([[1, -257]])), new Map(), new Uint8Array(), new Uint8Array()]),
      ),
    );
    expect(
      kindOf(() =>
        verifyCoseSign1(unknownAlg, crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey),
      ),
    ).toBe('unsupported-algorithm');
  });
});
