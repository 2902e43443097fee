/**
 * The TPM 2.0 structures SecureKey exchanges (Part 2): RSA public areas and their names, PCR
 * selections, NV public areas, attestation structures (TPMS_ATTEST for quotes and certifications)
 * and signatures. Readers check every size and tag; writers refuse what the TPM would refuse.
 */
import crypto, { type KeyObject } from 'node:crypto';
import {
  HASH_ALG,
  HASH_SIZE,
  hashName,
  LIMIT,
  TPM_ALG,
  TPM_GENERATED_VALUE,
  TPM_ST,
  TPMA_OBJECT,
  type TpmHash,
} from './constants.ts';
import { TpmError } from './errors.ts';
import { TpmReader, TpmWriter } from './marshal.ts';

// ---- PCR selections -------------------------------------------------------------------------

export interface PcrSelection {
  readonly hash: TpmHash;
  /** PCR indices, 0–23. */
  readonly pcrs: readonly number[];
}

/** Three select bytes: the 24 PCRs of a PC-client TPM (what AttestationClient selects too). */
const SIZEOF_SELECT = 3;

export function writePcrSelections(w: TpmWriter, selections: readonly PcrSelection[]): TpmWriter {
  w.u32(selections.length);
  for (const s of selections) {
    const bits = Buffer.alloc(SIZEOF_SELECT);
    for (const pcr of s.pcrs) {
      if (!Number.isInteger(pcr) || pcr < 0 || pcr >= SIZEOF_SELECT * 8) {
        throw new TpmError('bad-argument', `PCR ${pcr} is not 0–${SIZEOF_SELECT * 8 - 1}`);
      }
      bits[pcr >> 3]! |= 1 << (pcr & 7);
    }
    w.u16(HASH_ALG[s.hash]).u8(SIZEOF_SELECT).bytes(bits);
  }
  return w;
}

export function readPcrSelections(r: TpmReader): PcrSelection[] {
  const count = r.u32();
  if (count > 16) r.fail(`TPML_PCR_SELECTION claims ${count} banks`);
  const out: PcrSelection[] = [];
  for (let i = 0; i < count; i++) {
    const alg = r.u16();
    const size = r.u8();
    if (size > 4) r.fail(`sizeofSelect ${size} is more than 4`);
    const bits = r.bytes(size);
    const hash = hashName(alg) ?? r.fail(`PCR bank with unknown hash 0x${alg.toString(16)}`);
    const pcrs: number[] = [];
    for (let p = 0; p < size * 8; p++) if (bits[p >> 3]! & (1 << (p & 7))) pcrs.push(p);
    out.push({ hash, pcrs });
  }
  return out;
}

// ---- Public areas ---------------------------------------------------------------------------

/** An RSA TPMT_PUBLIC, the only key type SecureKey creates or reads. */
export interface RsaPublic {
  readonly type: 'rsa';
  readonly nameAlg: TpmHash;
  readonly attributes: number;
  readonly authPolicy: Buffer;
  /** TPMT_SYM_DEF_OBJECT: AES-128-CFB for a storage key, undefined (TPM_ALG_NULL) otherwise. */
  readonly symmetric?: { readonly keyBits: number } | undefined;
  /** TPMT_RSA_SCHEME; `null` is TPM_ALG_NULL (the caller picks the scheme per operation). */
  readonly scheme:
    | { readonly scheme: 'null' }
    | { readonly scheme: 'rsassa' | 'rsapss' | 'oaep'; readonly hash: TpmHash }
    | { readonly scheme: 'rsaes' };
  readonly keyBits: number;
  /** 0 means the default 65537. */
  readonly exponent: number;
  /** The modulus; empty in a template. */
  readonly unique: Buffer;
}

const SCHEME_ALG = { rsassa: TPM_ALG.RSASSA, rsapss: TPM_ALG.RSAPSS, oaep: TPM_ALG.OAEP } as const;

export function writePublic(p: RsaPublic): Buffer {
  const w = new TpmWriter()
    .u16(TPM_ALG.RSA)
    .u16(HASH_ALG[p.nameAlg])
    .u32(p.attributes >>> 0);
  w.tpm2b(p.authPolicy, LIMIT.DIGEST, 'authPolicy');
  if (p.symmetric) w.u16(TPM_ALG.AES).u16(p.symmetric.keyBits).u16(TPM_ALG.CFB);
  else w.u16(TPM_ALG.NULL);
  const s = p.scheme;
  if (s.scheme === 'null') w.u16(TPM_ALG.NULL);
  else if (s.scheme === 'rsaes') w.u16(TPM_ALG.RSAES);
  else w.u16(SCHEME_ALG[s.scheme]).u16(HASH_ALG[s.hash]);
  w.u16(p.keyBits).u32(p.exponent).tpm2b(p.unique, LIMIT.RSA_KEY_BYTES, 'unique');
  return w.done();
}

export function readPublic(r: TpmReader): RsaPublic {
  const type = r.u16();
  if (type !== TPM_ALG.RSA) {
    throw new TpmError('unsupported', `a public area of type 0x${type.toString(16)}, not RSA`);
  }
  const nameAlg = hashName(r.u16()) ?? r.fail('public area with an unknown nameAlg');
  const attributes = r.u32();
  const authPolicy = r.tpm2b(LIMIT.DIGEST, 'authPolicy');
  const symAlg = r.u16();
  let symmetric: RsaPublic['symmetric'];
  if (symAlg === TPM_ALG.AES) {
    symmetric = { keyBits: r.u16() };
    if (r.u16() !== TPM_ALG.CFB) r.fail('a storage key symmetric mode other than CFB');
  } else if (symAlg !== TPM_ALG.NULL) r.fail(`symmetric algorithm 0x${symAlg.toString(16)}`);
  const schemeAlg = r.u16();
  let scheme: RsaPublic['scheme'];
  if (schemeAlg === TPM_ALG.NULL) scheme = { scheme: 'null' };
  else if (schemeAlg === TPM_ALG.RSAES) scheme = { scheme: 'rsaes' };
  else {
    const name = (Object.keys(SCHEME_ALG) as Array<keyof typeof SCHEME_ALG>).find(
      (k) => SCHEME_ALG[k] === schemeAlg,
    );
    if (!name) r.fail(`RSA scheme 0x${schemeAlg.toString(16)}`);
    scheme = { scheme: name, hash: hashName(r.u16()) ?? r.fail('RSA scheme with an unknown hash') };
  }
  const keyBits = r.u16();
  const exponent = r.u32();
  const unique = r.tpm2b(LIMIT.RSA_KEY_BYTES, 'unique');
  return { type: 'rsa', nameAlg, attributes, authPolicy, symmetric, scheme, keyBits, exponent, unique };
}

/** Parses a whole TPMT_PUBLIC (the content of a TPM2B_PUBLIC). */
export function parsePublic(bytes: Uint8Array): RsaPublic {
  const r = new TpmReader(bytes, 'TPMT_PUBLIC');
  const p = readPublic(r);
  r.end();
  return p;
}

/** The object's name: nameAlg ‖ H_nameAlg(TPMT_PUBLIC), what TPMS_CERTIFY_INFO names. */
export function objectName(publicArea: Uint8Array): Buffer {
  const p = parsePublic(publicArea);
  const digest = crypto.createHash(p.nameAlg).update(publicArea).digest();
  return Buffer.concat([Buffer.from([HASH_ALG[p.nameAlg] >> 8, HASH_ALG[p.nameAlg] & 0xff]), digest]);
}

/** The RSA public key as Node sees it. */
export function publicKeyOf(p: RsaPublic): KeyObject {
  if (p.unique.length === 0) throw new TpmError('unsupported', 'the public area holds no modulus');
  const e = Buffer.alloc(4);
  e.writeUInt32BE(p.exponent === 0 ? 65537 : p.exponent);
  const firstNonZero = e.findIndex((b) => b !== 0);
  return crypto.createPublicKey({
    key: { kty: 'RSA', n: p.unique.toString('base64url'), e: e.subarray(firstNonZero).toString('base64url') },
    format: 'jwk',
  });
}

/**
 * The template of the ephemeral encryption key, as AttestationClient builds it: RSA-2048, decrypt
 * only, not restricted, scheme NULL (OAEP or RSAES chosen per decryption), fixedTPM and fixedParent,
 * no dictionary-attack lockout. `authPolicy` empty: usable with the (empty) password; with a PCR
 * policy digest: usable only in a policy session that satisfies it.
 */
export function ephemeralKeyTemplate(authPolicy: Uint8Array = Buffer.alloc(0)): RsaPublic {
  return {
    type: 'rsa',
    nameAlg: 'sha256',
    attributes:
      TPMA_OBJECT.decrypt |
      TPMA_OBJECT.fixedTPM |
      TPMA_OBJECT.fixedParent |
      TPMA_OBJECT.sensitiveDataOrigin |
      TPMA_OBJECT.noDA |
      (authPolicy.length === 0 ? TPMA_OBJECT.userWithAuth : 0),
    authPolicy: Buffer.from(authPolicy),
    scheme: { scheme: 'null' },
    keyBits: 2048,
    exponent: 0,
    unique: Buffer.alloc(0),
  };
}

/**
 * An attestation key as Azure's vTPM holds one: RSA-2048, restricted signing with RSASSA-SHA256,
 * usable with the empty password.
 */
export function attestationKeyTemplate(): RsaPublic {
  return {
    type: 'rsa',
    nameAlg: 'sha256',
    attributes:
      TPMA_OBJECT.restricted |
      TPMA_OBJECT.sign |
      TPMA_OBJECT.fixedTPM |
      TPMA_OBJECT.fixedParent |
      TPMA_OBJECT.sensitiveDataOrigin |
      TPMA_OBJECT.userWithAuth |
      TPMA_OBJECT.noDA,
    authPolicy: Buffer.alloc(0),
    scheme: { scheme: 'rsassa', hash: 'sha256' },
    keyBits: 2048,
    exponent: 0,
    unique: Buffer.alloc(0),
  };
}

/**
 * The TCG EK template (TCG EK Credential Profile 2.0, template L-1): RSA-2048 restricted decryption
 * key with AES-128-CFB, whose policy is PolicySecret(TPM_RH_ENDORSEMENT).
 */
export function endorsementKeyTemplate(): RsaPublic {
  return {
    type: 'rsa',
    nameAlg: 'sha256',
    attributes:
      TPMA_OBJECT.fixedTPM |
      TPMA_OBJECT.fixedParent |
      TPMA_OBJECT.sensitiveDataOrigin |
      TPMA_OBJECT.adminWithPolicy |
      TPMA_OBJECT.restricted |
      TPMA_OBJECT.decrypt,
    authPolicy: Buffer.from('837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa', 'hex'),
    symmetric: { keyBits: 128 },
    scheme: { scheme: 'null' },
    keyBits: 2048,
    exponent: 0,
    unique: Buffer.alloc(256),
  };
}

// ---- NV public areas ------------------------------------------------------------------------

export interface NvPublic {
  readonly nvIndex: number;
  readonly nameAlg: TpmHash;
  /** TPMA_NV bits. */
  readonly attributes: number;
  readonly authPolicy: Buffer;
  readonly dataSize: number;
}

export function writeNvPublic(p: NvPublic): Buffer {
  return new TpmWriter()
    .u32(p.nvIndex)
    .u16(HASH_ALG[p.nameAlg])
    .u32(p.attributes >>> 0)
    .tpm2b(p.authPolicy, LIMIT.DIGEST, 'authPolicy')
    .u16(p.dataSize)
    .done();
}

export function readNvPublic(r: TpmReader): NvPublic {
  const nvIndex = r.u32();
  const nameAlg = hashName(r.u16()) ?? r.fail('NV public area with an unknown nameAlg');
  const attributes = r.u32();
  const authPolicy = r.tpm2b(LIMIT.DIGEST, 'authPolicy');
  const dataSize = r.u16();
  return { nvIndex, nameAlg, attributes, authPolicy, dataSize };
}

// ---- Attestation structures ----------------------------------------------------------------

export interface ClockInfo {
  readonly clock: bigint;
  readonly resetCount: number;
  readonly restartCount: number;
  readonly safe: boolean;
}

interface AttestCommon {
  /** The signer's qualified name. */
  readonly qualifiedSigner: Buffer;
  /** The caller's qualifying data (a quote's nonce). */
  readonly extraData: Buffer;
  readonly clockInfo: ClockInfo;
  readonly firmwareVersion: bigint;
}

export interface QuoteAttest extends AttestCommon {
  readonly type: 'quote';
  readonly pcrSelect: PcrSelection[];
  /** H(concatenation of the selected PCRs), with the signing scheme's hash. */
  readonly pcrDigest: Buffer;
}

export interface CertifyAttest extends AttestCommon {
  readonly type: 'certify';
  /** The certified object's name (nameAlg ‖ digest of its public area). */
  readonly name: Buffer;
  readonly qualifiedName: Buffer;
}

export type Attest = QuoteAttest | CertifyAttest;

/**
 * Parses TPMS_ATTEST (the bytes a quote or certification signs): the magic proves the TPM made
 * it, so any other value is refused before the fields are believed.
 */
export function parseAttest(bytes: Uint8Array): Attest {
  const r = new TpmReader(bytes, 'TPMS_ATTEST');
  if (r.u32() !== TPM_GENERATED_VALUE) r.fail('magic is not TPM_GENERATED_VALUE');
  const type = r.u16();
  const qualifiedSigner = r.tpm2b(LIMIT.NAME, 'qualifiedSigner');
  const extraData = r.tpm2b(LIMIT.DATA, 'extraData');
  const clockInfo: ClockInfo = {
    clock: r.u64(),
    resetCount: r.u32(),
    restartCount: r.u32(),
    safe: r.u8() !== 0,
  };
  const firmwareVersion = r.u64();
  const common = { qualifiedSigner, extraData, clockInfo, firmwareVersion };
  let out: Attest;
  if (type === TPM_ST.ATTEST_QUOTE) {
    const pcrSelect = readPcrSelections(r);
    out = { type: 'quote', ...common, pcrSelect, pcrDigest: r.tpm2b(LIMIT.DIGEST, 'pcrDigest') };
  } else if (type === TPM_ST.ATTEST_CERTIFY) {
    const name = r.tpm2b(LIMIT.NAME, 'name');
    out = { type: 'certify', ...common, name, qualifiedName: r.tpm2b(LIMIT.NAME, 'qualifiedName') };
  } else {
    throw new TpmError(
      'unsupported',
      `TPMS_ATTEST of type 0x${type.toString(16)} (neither quote nor certify)`,
    );
  }
  r.end();
  return out;
}

// ---- Signatures -----------------------------------------------------------------------------

export interface RsaSignature {
  readonly scheme: 'rsassa' | 'rsapss';
  readonly hash: TpmHash;
  readonly signature: Buffer;
}

export function readSignature(r: TpmReader): RsaSignature {
  const alg = r.u16();
  const scheme = alg === TPM_ALG.RSASSA ? 'rsassa' : alg === TPM_ALG.RSAPSS ? 'rsapss' : undefined;
  if (!scheme)
    throw new TpmError('unsupported', `signature algorithm 0x${alg.toString(16)}, not RSASSA/RSAPSS`);
  const hash = hashName(r.u16()) ?? r.fail('signature with an unknown hash');
  return { scheme, hash, signature: r.tpm2b(LIMIT.RSA_KEY_BYTES, 'signature') };
}

/** The marshalled TPMT_SIGNATURE (AttestationClient sends only its signature bytes as `PcrSignature`). */
export function writeSignature(s: RsaSignature): Buffer {
  return new TpmWriter()
    .u16(s.scheme === 'rsassa' ? TPM_ALG.RSASSA : TPM_ALG.RSAPSS)
    .u16(HASH_ALG[s.hash])
    .tpm2b(s.signature, LIMIT.RSA_KEY_BYTES, 'signature')
    .done();
}

/** True when `signature` is `key`'s signature over `attest` (RSASSA-PKCS1-v1_5 or PSS). */
export function verifyAttestSignature(attest: Uint8Array, s: RsaSignature, key: KeyObject): boolean {
  return crypto.verify(
    s.hash,
    attest,
    s.scheme === 'rsapss'
      ? {
          key,
          padding: crypto.constants.RSA_PKCS1_PSS_PADDING,
          saltLength: crypto.constants.RSA_PSS_SALTLEN_AUTO,
        }
      : { key, padding: crypto.constants.RSA_PKCS1_PADDING },
    s.signature,
  );
}

/** H(PCR values in selection order): what a quote's pcrDigest must be. */
export function pcrDigest(hash: TpmHash, values: readonly Uint8Array[]): Buffer {
  const h = crypto.createHash(hash);
  for (const v of values) {
    if (v.length !== HASH_SIZE[hash]) {
      throw new TpmError('bad-argument', `a ${hash} PCR value is ${HASH_SIZE[hash]} bytes, got ${v.length}`);
    }
    h.update(v);
  }
  return h.digest();
}
