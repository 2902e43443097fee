/**
 * COSE_Sign1 (RFC 9052 §4.2): `18([protected: bstr .cbor header_map, unprotected: header_map,
 * payload: bstr / nil, signature: bstr])`, and its Sig_structure
 * `["Signature1", protected, external_aad, payload]` — the bytes the signature covers. Only the
 * protected header is signed; a verifier takes what it relies on from there.
 *
 * Algorithms: PS256/384/512 (RSASSA-PSS, salt length = hash length, RFC 8230) — what Microsoft signs
 * UVM reference info with — and ES256/384/512 (raw r‖s, RFC 9053 §2.1).
 */
import crypto, { type KeyObject } from 'node:crypto';
import { CborTag, decodeCbor, encodeCbor, type CborValue } from './cbor.ts';
import { CoseError } from './errors.ts';

export const COSE_SIGN1_TAG = 18;

/** Header labels (RFC 9052 §3.1, RFC 9360 for x5chain). */
export const HEADER = { alg: 1, contentType: 3, x5chain: 33 } as const;

export const COSE_ALGORITHMS = {
  [-7]: { name: 'ES256', hash: 'sha256', kind: 'ec', size: 32 },
  [-35]: { name: 'ES384', hash: 'sha384', kind: 'ec', size: 48 },
  [-36]: { name: 'ES512', hash: 'sha512', kind: 'ec', size: 66 },
  [-37]: { name: 'PS256', hash: 'sha256', kind: 'rsa-pss', size: 32 },
  [-38]: { name: 'PS384', hash: 'sha384', kind: 'rsa-pss', size: 48 },
  [-39]: { name: 'PS512', hash: 'sha512', kind: 'rsa-pss', size: 64 },
} as const satisfies Record<number, { name: string; hash: string; kind: 'ec' | 'rsa-pss'; size: number }>;

export type CoseAlgorithmId = keyof typeof COSE_ALGORITHMS;

export type HeaderMap = ReadonlyMap<CborValue, CborValue>;

export interface CoseSign1 {
  /** The protected header exactly as signed. */
  readonly protectedBytes: Uint8Array;
  readonly protectedHeader: HeaderMap;
  readonly unprotectedHeader: HeaderMap;
  readonly payload: Uint8Array;
  readonly signature: Uint8Array;
}

/** The largest message read (Microsoft's reference info, certificates and timestamp included, is ~11 KB). */
export const MAX_COSE_SIGN1_BYTES = 256 * 1024;

export function decodeCoseSign1(bytes: Uint8Array): CoseSign1 {
  if (bytes.length > MAX_COSE_SIGN1_BYTES) {
    throw new CoseError(
      'bad-cose-sign1',
      `${bytes.length} bytes is more than a COSE_Sign1 may be here (${MAX_COSE_SIGN1_BYTES})`,
    );
  }
  const outer = decodeCbor(bytes);
  if (!(outer instanceof CborTag) || outer.tag !== COSE_SIGN1_TAG) {
    throw new CoseError('bad-cose-sign1', 'not a COSE_Sign1: the CBOR item is not tagged 18', {
      hint: 'a COSE_Sign1 starts with the bytes d2 84',
    });
  }
  const parts = outer.value;
  if (!Array.isArray(parts) || parts.length !== 4) {
    throw new CoseError('bad-cose-sign1', 'a COSE_Sign1 is an array of four members');
  }
  const [protectedBytes, unprotectedHeader, payload, signature] = parts;
  if (!(protectedBytes instanceof Uint8Array)) {
    throw new CoseError('bad-cose-sign1', 'the protected header is not a byte string');
  }
  const protectedHeader = protectedBytes.length === 0 ? new Map() : decodeCbor(protectedBytes);
  if (!(protectedHeader instanceof Map)) {
    throw new CoseError('bad-cose-sign1', 'the protected header does not decode to a map');
  }
  if (!(unprotectedHeader instanceof Map)) {
    throw new CoseError('bad-cose-sign1', 'the unprotected header is not a map');
  }
  if (!(payload instanceof Uint8Array)) {
    throw new CoseError('bad-cose-sign1', 'the payload is not attached (nil or not a byte string)');
  }
  if (!(signature instanceof Uint8Array)) {
    throw new CoseError('bad-cose-sign1', 'the signature is not a byte string');
  }
  return { protectedBytes, protectedHeader, unprotectedHeader, payload, signature };
}

/** The bytes a COSE_Sign1 signature covers (no external AAD). */
export function sigStructure(protectedBytes: Uint8Array, payload: Uint8Array): Buffer {
  return encodeCbor(['Signature1', protectedBytes, new Uint8Array(0), payload]);
}

/** The protected `alg`, as one this code verifies. */
export function coseAlgorithm(message: Pick<CoseSign1, 'protectedHeader'>): CoseAlgorithmId {
  const alg = message.protectedHeader.get(HEADER.alg);
  if (alg === undefined) throw new CoseError('bad-header', 'the protected header has no alg (1)');
  if (typeof alg !== 'number' || !(alg in COSE_ALGORITHMS)) {
    throw new CoseError(
      'unsupported-algorithm',
      `alg ${String(alg)} is not one of ${Object.values(COSE_ALGORITHMS)
        .map((a) => a.name)
        .join(', ')}`,
    );
  }
  return alg as CoseAlgorithmId;
}

function signOptions(
  alg: CoseAlgorithmId,
  key: KeyObject,
): crypto.SignKeyObjectInput | crypto.VerifyKeyObjectInput {
  const a = COSE_ALGORITHMS[alg];
  const type = key.asymmetricKeyType;
  if (a.kind === 'ec' ? type !== 'ec' : type !== 'rsa' && type !== 'rsa-pss') {
    throw new CoseError('unsupported-algorithm', `${a.name} cannot be used with a ${type ?? 'unknown'} key`);
  }
  return a.kind === 'ec'
    ? { key, dsaEncoding: 'ieee-p1363' }
    : { key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: a.size };
}

/** Checks the signature with `key` (the signer's public key); throws CoseError. */
export function verifyCoseSign1(message: CoseSign1, key: KeyObject): void {
  const alg = coseAlgorithm(message);
  const ok = crypto.verify(
    COSE_ALGORITHMS[alg].hash,
    sigStructure(message.protectedBytes, message.payload),
    signOptions(alg, key) as crypto.VerifyKeyObjectInput,
    message.signature,
  );
  if (!ok) {
    throw new CoseError(
      'signature-invalid',
      `the ${COSE_ALGORITHMS[alg].name} signature does not verify with the signer's key`,
    );
  }
}

/** A signed COSE_Sign1 (tagged), the protected header encoded as given. */
export function signCoseSign1(o: {
  protectedHeader: HeaderMap;
  unprotectedHeader?: HeaderMap;
  payload: Uint8Array;
  key: KeyObject;
}): Buffer {
  const alg = coseAlgorithm(o);
  const protectedBytes = encodeCbor(new Map(o.protectedHeader));
  const signature = crypto.sign(
    COSE_ALGORITHMS[alg].hash,
    sigStructure(protectedBytes, o.payload),
    signOptions(alg, o.key) as crypto.SignKeyObjectInput,
  );
  return encodeCbor(
    new CborTag(COSE_SIGN1_TAG, [protectedBytes, new Map(o.unprotectedHeader ?? []), o.payload, signature]),
  );
}
