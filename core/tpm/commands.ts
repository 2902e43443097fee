/**
 * The commands SecureKey sends, each an encoder (arguments → command bytes) and a decoder
 * (response bytes → typed result) over the frames of command.ts. Nothing here does I/O: an edge
 * carries the bytes (edge/tpm).
 */
import crypto from 'node:crypto';
import {
  HASH_ALG,
  HASH_SIZE,
  LIMIT,
  TPM_ALG,
  TPM_CAP,
  TPM_CC,
  TPM_RH,
  TPM_SE,
  type TpmHash,
} from './constants.ts';
import { decodeResponse, encodeCommand, PASSWORD, type Authorization } from './command.ts';
import { TpmError } from './errors.ts';
import { TpmReader, TpmWriter } from './marshal.ts';
import {
  objectName,
  parseAttest,
  readNvPublic,
  readPcrSelections,
  readPublic,
  readSignature,
  writeNvPublic,
  writePcrSelections,
  writePublic,
  writeSignature,
  type Attest,
  type NvPublic,
  type PcrSelection,
  type RsaPublic,
  type RsaSignature,
} from './structures.ts';

const params = (): TpmWriter => new TpmWriter();

// ---- Startup, capabilities ------------------------------------------------------------------

export function encodeStartup(type: 'clear' | 'state' = 'clear'): Buffer {
  return encodeCommand({
    cc: TPM_CC.Startup,
    parameters: params()
      .u16(type === 'clear' ? 0 : 1)
      .done(),
  });
}

export function decodeEmpty(response: Uint8Array, command: string, sessions = 0): void {
  decodeResponse(response, { command, sessions }).parameters.end();
}

export function encodeGetCapability(capability: number, property: number, count: number): Buffer {
  return encodeCommand({
    cc: TPM_CC.GetCapability,
    parameters: params().u32(capability).u32(property).u32(count).done(),
  });
}

/** TPM_CAP_TPM_PROPERTIES → property → value. */
export function decodeTpmProperties(response: Uint8Array): Map<number, number> {
  const r = decodeResponse(response, { command: 'TPM2_GetCapability', sessions: 0 }).parameters;
  r.u8(); // moreData
  if (r.u32() !== TPM_CAP.TPM_PROPERTIES) r.fail('capability is not TPM_CAP_TPM_PROPERTIES');
  const count = r.u32();
  if (count > 256) r.fail(`${count} properties`);
  const out = new Map<number, number>();
  for (let i = 0; i < count; i++) out.set(r.u32(), r.u32());
  r.end();
  return out;
}

/** TPM_CAP_HANDLES → the handles and whether more remain. */
export function decodeHandles(response: Uint8Array): { handles: number[]; more: boolean } {
  const r = decodeResponse(response, { command: 'TPM2_GetCapability', sessions: 0 }).parameters;
  const more = r.u8() !== 0;
  if (r.u32() !== TPM_CAP.HANDLES) r.fail('capability is not TPM_CAP_HANDLES');
  const count = r.u32();
  if (count > 1024) r.fail(`${count} handles`);
  const handles = Array.from({ length: count }, () => r.u32());
  r.end();
  return { handles, more };
}

// ---- NV -------------------------------------------------------------------------------------

export function encodeNvReadPublic(nvIndex: number): Buffer {
  return encodeCommand({ cc: TPM_CC.NV_ReadPublic, handles: [nvIndex] });
}

export function decodeNvReadPublic(response: Uint8Array): { public: NvPublic; name: Buffer } {
  const r = decodeResponse(response, { command: 'TPM2_NV_ReadPublic', sessions: 0 }).parameters;
  const inner = r.sized(LIMIT.PUBLIC, 'nvPublic');
  const pub = readNvPublic(inner);
  inner.end();
  const name = r.tpm2b(LIMIT.NAME, 'nvName');
  r.end();
  return { public: pub, name };
}

/** TPM2_NV_Read of `size` bytes at `offset`, authorised by `authHandle` (the owner, or the index itself). */
export function encodeNvRead(authHandle: number, nvIndex: number, size: number, offset: number): Buffer {
  return encodeCommand({
    cc: TPM_CC.NV_Read,
    handles: [authHandle, nvIndex],
    auths: [PASSWORD],
    parameters: params().u16(size).u16(offset).done(),
  });
}

export function decodeNvRead(response: Uint8Array, requested: number): Buffer {
  const r = decodeResponse(response, { command: 'TPM2_NV_Read', sessions: 1 }).parameters;
  const data = r.tpm2b(LIMIT.NV_BUFFER, 'data');
  r.end();
  if (data.length !== requested) r.fail(`asked for ${requested} bytes, got ${data.length}`);
  return data;
}

/** The (offset, size) of each TPM2_NV_Read needed for `total` bytes, `max` at a time. */
export function nvChunks(total: number, max: number): Array<{ offset: number; size: number }> {
  if (!Number.isInteger(max) || max <= 0) throw new TpmError('bad-argument', `NV buffer size ${max}`);
  const out: Array<{ offset: number; size: number }> = [];
  for (let offset = 0; offset < total; offset += max)
    out.push({ offset, size: Math.min(max, total - offset) });
  return out;
}

export function encodeNvDefineSpace(
  authHandle: number,
  pub: NvPublic,
  auth: Uint8Array = Buffer.alloc(0),
): Buffer {
  return encodeCommand({
    cc: TPM_CC.NV_DefineSpace,
    handles: [authHandle],
    auths: [PASSWORD],
    parameters: params()
      .tpm2b(auth, LIMIT.AUTH, 'auth')
      .sized(new TpmWriter().bytes(writeNvPublic(pub)))
      .done(),
  });
}

export function encodeNvUndefineSpace(authHandle: number, nvIndex: number): Buffer {
  return encodeCommand({ cc: TPM_CC.NV_UndefineSpace, handles: [authHandle, nvIndex], auths: [PASSWORD] });
}

export function encodeNvWrite(authHandle: number, nvIndex: number, data: Uint8Array, offset: number): Buffer {
  return encodeCommand({
    cc: TPM_CC.NV_Write,
    handles: [authHandle, nvIndex],
    auths: [PASSWORD],
    parameters: params().tpm2b(data, LIMIT.NV_BUFFER, 'data').u16(offset).done(),
  });
}

// ---- Objects --------------------------------------------------------------------------------

export interface LoadedPublic {
  /** The marshalled TPMT_PUBLIC (what AttestationClient sends as `AikPub`/`EncKeyPub`, in its TPM2B). */
  readonly publicArea: Buffer;
  readonly public: RsaPublic;
  readonly name: Buffer;
}

export function encodeReadPublic(handle: number): Buffer {
  return encodeCommand({ cc: TPM_CC.ReadPublic, handles: [handle] });
}

export function decodeReadPublic(response: Uint8Array): LoadedPublic {
  const r = decodeResponse(response, { command: 'TPM2_ReadPublic', sessions: 0 }).parameters;
  const publicArea = r.tpm2b(LIMIT.PUBLIC, 'outPublic');
  const name = r.tpm2b(LIMIT.NAME, 'name');
  r.tpm2b(LIMIT.NAME, 'qualifiedName');
  r.end();
  return checkedPublic(publicArea, name, 'TPM2_ReadPublic');
}

function checkedPublic(publicArea: Buffer, name: Buffer, command: string): LoadedPublic {
  const r = new TpmReader(publicArea, `${command}: TPMT_PUBLIC`);
  const pub = readPublic(r);
  r.end();
  // The name is the TPM's digest of the public area: a mismatch means the bytes were altered.
  if (!objectName(publicArea).equals(name)) r.fail('the name does not match the public area');
  return { publicArea, public: pub, name };
}

/**
 * TPM2_CreatePrimary under `hierarchy` with an empty password and no outside info or creation PCRs.
 * Under TPM_RH_NULL the key lives until the TPM resets and cannot be made persistent: the
 * ephemeral key AttestationClient creates.
 */
export function encodeCreatePrimary(hierarchy: number, template: RsaPublic): Buffer {
  const sensitive = new TpmWriter().u16(0).u16(0); // userAuth, data: both empty
  return encodeCommand({
    cc: TPM_CC.CreatePrimary,
    handles: [hierarchy],
    auths: [PASSWORD],
    parameters: params()
      .sized(sensitive)
      .sized(new TpmWriter().bytes(writePublic(template)))
      .u16(0) // outsideInfo
      .u32(0) // creationPCR: none
      .done(),
  });
}

export function decodeCreatePrimary(response: Uint8Array): LoadedPublic & { readonly handle: number } {
  const { handles, parameters: r } = decodeResponse(response, {
    command: 'TPM2_CreatePrimary',
    handles: 1,
    sessions: 1,
  });
  const publicArea = r.tpm2b(LIMIT.PUBLIC, 'outPublic');
  r.tpm2b(LIMIT.CREATION_DATA, 'creationData');
  r.tpm2b(LIMIT.DIGEST, 'creationHash');
  r.u16(); // creationTicket.tag
  r.u32(); // creationTicket.hierarchy
  r.tpm2b(LIMIT.DIGEST, 'creationTicket.digest');
  const name = r.tpm2b(LIMIT.NAME, 'name');
  r.end();
  return { handle: handles[0]!, ...checkedPublic(publicArea, name, 'TPM2_CreatePrimary') };
}

/** Makes a transient object persistent at `persistent` (or evicts a persistent one when given it). */
export function encodeEvictControl(authHandle: number, objectHandle: number, persistent: number): Buffer {
  return encodeCommand({
    cc: TPM_CC.EvictControl,
    handles: [authHandle, objectHandle],
    auths: [PASSWORD],
    parameters: params().u32(persistent).done(),
  });
}

/** FlushContext takes the handle as a parameter, not in the handle area. */
export function encodeFlushContext(handle: number): Buffer {
  return encodeCommand({ cc: TPM_CC.FlushContext, parameters: params().u32(handle).done() });
}

// ---- Attestation ----------------------------------------------------------------------------

export interface Signed<A extends Attest> {
  /** The TPMS_ATTEST bytes the signature covers (AttestationClient's `PcrQuote`/`EncKeyCertifyInfo`). */
  readonly attestBytes: Buffer;
  readonly attest: A;
  readonly signature: RsaSignature;
  /** The marshalled TPMT_SIGNATURE. */
  readonly signatureBytes: Buffer;
}

/** The signing scheme TPM_ALG_NULL: the key's own (RSASSA-SHA256 for Azure's AK). */
const NULL_SCHEME = (w: TpmWriter): TpmWriter => w.u16(TPM_ALG.NULL);

function decodeSigned<A extends Attest>(
  response: Uint8Array,
  command: string,
  sessions: number,
  type: A['type'],
): Signed<A> {
  const r = decodeResponse(response, { command, sessions }).parameters;
  const attestBytes = r.tpm2b(LIMIT.ATTEST, 'attest');
  const signature = readSignature(r);
  r.end();
  const attest = parseAttest(attestBytes);
  if (attest.type !== type)
    throw new TpmError('malformed-response', `${command}: a ${attest.type} attestation`);
  return { attestBytes, attest: attest as A, signature, signatureBytes: writeSignature(signature) };
}

/** TPM2_Certify: `signer` (the AK) attests that `object` is loaded in this TPM. Both authorised by password. */
export function encodeCertify(
  object: number,
  signer: number,
  qualifyingData: Uint8Array = Buffer.alloc(0),
): Buffer {
  return encodeCommand({
    cc: TPM_CC.Certify,
    handles: [object, signer],
    auths: [PASSWORD, PASSWORD],
    parameters: NULL_SCHEME(params().tpm2b(qualifyingData, LIMIT.DATA, 'qualifyingData')).done(),
  });
}

export function decodeCertify(response: Uint8Array): Signed<Extract<Attest, { type: 'certify' }>> {
  return decodeSigned(response, 'TPM2_Certify', 2, 'certify');
}

/** TPM2_Quote over `selection` with `nonce` as qualifying data, signed by `signer`. */
export function encodeQuote(signer: number, nonce: Uint8Array, selection: readonly PcrSelection[]): Buffer {
  return encodeCommand({
    cc: TPM_CC.Quote,
    handles: [signer],
    auths: [PASSWORD],
    parameters: writePcrSelections(
      NULL_SCHEME(params().tpm2b(nonce, LIMIT.DATA, 'qualifyingData')),
      selection,
    ).done(),
  });
}

export function decodeQuote(response: Uint8Array): Signed<Extract<Attest, { type: 'quote' }>> {
  return decodeSigned(response, 'TPM2_Quote', 1, 'quote');
}

export function encodePcrRead(selection: readonly PcrSelection[]): Buffer {
  return encodeCommand({ cc: TPM_CC.PCR_Read, parameters: writePcrSelections(params(), selection).done() });
}

export interface PcrReadResult {
  readonly updateCounter: number;
  /** What the TPM read: it returns at most 8 digests per call and says which. */
  readonly selection: PcrSelection[];
  readonly digests: Buffer[];
}

export function decodePcrRead(response: Uint8Array): PcrReadResult {
  const r = decodeResponse(response, { command: 'TPM2_PCR_Read', sessions: 0 }).parameters;
  const updateCounter = r.u32();
  const selection = readPcrSelections(r);
  const count = r.u32();
  if (count > 8) r.fail(`TPML_DIGEST claims ${count} digests, at most 8`);
  const digests = Array.from({ length: count }, () => r.tpm2b(LIMIT.DIGEST, 'digest'));
  r.end();
  const selected = selection.reduce((n, s) => n + s.pcrs.length, 0);
  if (selected !== count) r.fail(`${selected} PCRs selected, ${count} digests`);
  return { updateCounter, selection, digests };
}

/** TPM2_PCR_Extend of one bank: PCR ← H(PCR ‖ digest). */
export function encodePcrExtend(pcr: number, hash: TpmHash, digest: Uint8Array): Buffer {
  if (!Number.isInteger(pcr) || pcr < 0 || pcr > 23)
    throw new TpmError('bad-argument', `PCR ${pcr} does not exist`);
  if (digest.length !== HASH_SIZE[hash]) {
    throw new TpmError('bad-argument', `a ${hash} digest is ${HASH_SIZE[hash]} bytes, not ${digest.length}`);
  }
  return encodeCommand({
    cc: TPM_CC.PCR_Extend,
    handles: [pcr],
    auths: [PASSWORD],
    parameters: params().u32(1).u16(HASH_ALG[hash]).bytes(digest).done(),
  });
}

// ---- Decryption -----------------------------------------------------------------------------

/**
 * TPM2_RSA_Decrypt with the empty label: OAEP with `scheme` as the hash (label digest and MGF1), or
 * `'rsaes'` for RSAES-PKCS1-v1_5 (what Azure Attestation seals its answer's inner key with).
 */
export function encodeRsaDecrypt(
  key: number,
  ciphertext: Uint8Array,
  scheme: TpmHash | 'rsaes',
  auth: Authorization = PASSWORD,
): Buffer {
  const w = params().tpm2b(ciphertext, LIMIT.RSA_KEY_BYTES, 'cipherText');
  if (scheme === 'rsaes') w.u16(TPM_ALG.RSAES);
  else w.u16(TPM_ALG.OAEP).u16(HASH_ALG[scheme]);
  return encodeCommand({
    cc: TPM_CC.RSA_Decrypt,
    handles: [key],
    auths: [auth],
    parameters: w.u16(0).done(), // label
  });
}

export function decodeRsaDecrypt(response: Uint8Array): Buffer {
  const r = decodeResponse(response, { command: 'TPM2_RSA_Decrypt', sessions: 1 }).parameters;
  const message = r.tpm2b(LIMIT.RSA_KEY_BYTES, 'message');
  r.end();
  return message;
}

// ---- Policy sessions (the PCR-bound ephemeral key) -------------------------------------------

/** An unbound, unsalted SHA-256 policy session (no symmetric parameter encryption). */
export function encodeStartPolicySession(nonceCaller: Uint8Array): Buffer {
  if (nonceCaller.length < 16 || nonceCaller.length > 32) {
    throw new TpmError('bad-argument', `nonceCaller must be 16–32 bytes, got ${nonceCaller.length}`);
  }
  return encodeCommand({
    cc: TPM_CC.StartAuthSession,
    handles: [TPM_RH.NULL, TPM_RH.NULL],
    parameters: params()
      .tpm2b(nonceCaller, LIMIT.NONCE, 'nonceCaller')
      .u16(0) // encryptedSalt
      .u8(TPM_SE.POLICY)
      .u16(TPM_ALG.NULL) // symmetric
      .u16(TPM_ALG.SHA256)
      .done(),
  });
}

export function decodeStartAuthSession(response: Uint8Array): { handle: number; nonceTpm: Buffer } {
  const { handles, parameters: r } = decodeResponse(response, {
    command: 'TPM2_StartAuthSession',
    handles: 1,
    sessions: 0,
  });
  const nonceTpm = r.tpm2b(LIMIT.NONCE, 'nonceTPM');
  r.end();
  return { handle: handles[0]!, nonceTpm };
}

/** TPM2_PolicyPCR: the session's policy now requires `selection` to hold values hashing to `digest`. */
export function encodePolicyPcr(
  session: number,
  digest: Uint8Array,
  selection: readonly PcrSelection[],
): Buffer {
  return encodeCommand({
    cc: TPM_CC.PolicyPCR,
    handles: [session],
    parameters: writePcrSelections(params().tpm2b(digest, LIMIT.DIGEST, 'pcrDigest'), selection).done(),
  });
}

/**
 * The SHA-256 policy digest after one TPM2_PolicyPCR from a fresh session (Part 3 §23.7):
 * H(0³² ‖ TPM_CC_PolicyPCR ‖ TPML_PCR_SELECTION ‖ pcrDigest). A key with this authPolicy is
 * usable only while the PCRs hold those values — AttestationClient's ephemeral key.
 */
export function policyPcrDigest(selection: readonly PcrSelection[], pcrValuesDigest: Uint8Array): Buffer {
  return crypto
    .createHash('sha256')
    .update(Buffer.alloc(32))
    .update(params().u32(TPM_CC.PolicyPCR).done())
    .update(writePcrSelections(params(), selection).done())
    .update(pcrValuesDigest)
    .digest();
}
