/**
 * Azure's vTPM as a confidential VM presents it to its guest: the attestation key (AK) at
 * persistent handle 0x81000003 with its certificate at NV 0x01C101D0, the HCL report at NV
 * 0x01400001 that the paravisor regenerates when the guest writes user data to NV 0x01400002,
 * and what AttestationClient builds on them: an ephemeral RSA key certified by the AK, a PCR quote
 * with a nonce, OAEP decryption with that key.
 */
import type { KeyObject } from 'node:crypto';
import { hclUserData, parseHclReport, type HclReport } from '../../core/hcl/index.ts';
import {
  ephemeralKeyTemplate,
  pcrDigest,
  policyPcrDigest,
  publicKeyOf,
  TPM_RH,
  TPMA_NV,
  TpmError,
  type LoadedPublic,
  type PcrSelection,
  type QuoteAttest,
  type Signed,
  type TpmHash,
} from '../../core/tpm/index.ts';
import { Tpm } from './tpm.ts';
import { openTransport, type TransportOptions } from './transport.ts';

export const AZURE_VTPM = {
  AK_HANDLE: 0x81000003,
  AK_CERT_NV: 0x01c101d0,
  HCL_REPORT_NV: 0x01400001,
  USER_DATA_NV: 0x01400002,
  /** The HCL reads 64 bytes of user data, as SNP's REPORT_DATA. */
  USER_DATA_SIZE: 64,
  /** The PCRs AttestationClient quotes and binds its ephemeral key to on Linux. */
  ATTESTATION_PCRS: [0, 1, 2, 3, 4, 5, 6, 7] as readonly number[],
} as const;

export interface EphemeralKey extends LoadedPublic {
  /** Transient handle; flush it when done (`flush`). */
  readonly handle: number;
  readonly key: KeyObject;
  /** Set when the key is usable only while these PCRs hold the values they held at creation. */
  readonly policy?: { readonly selection: PcrSelection[]; readonly pcrDigest: Buffer } | undefined;
}

export interface Quote extends Signed<QuoteAttest> {
  /** The quoted PCRs' values (sha256 bank), read right after the quote. */
  readonly pcrs: Map<number, Buffer>;
}

export interface AzureVtpmOptions {
  /** How long to wait for the paravisor to regenerate the HCL report after user data is written. Default 10 s. */
  readonly reportWaitMs?: number;
  readonly reportPollMs?: number;
}

export class AzureVtpm {
  readonly tpm: Tpm;
  readonly #reportWaitMs: number;
  readonly #reportPollMs: number;

  constructor(tpm: Tpm, options: AzureVtpmOptions = {}) {
    this.tpm = tpm;
    this.#reportWaitMs = options.reportWaitMs ?? 10_000;
    this.#reportPollMs = options.reportPollMs ?? 250;
  }

  /** `/dev/tpmrm0`, `tcp:HOST:PORT` or `unix:PATH` (see openTransport). */
  static open(spec = '/dev/tpmrm0', options: AzureVtpmOptions & TransportOptions = {}): AzureVtpm {
    return new AzureVtpm(new Tpm(openTransport(spec, options)), options);
  }

  close(): Promise<void> {
    return this.tpm.close();
  }

  /** The AK's public area (AttestationClient's `AikPub`) and key. */
  async akPublic(): Promise<LoadedPublic & { readonly key: KeyObject }> {
    const loaded = await this.tpm.readPublic(AZURE_VTPM.AK_HANDLE);
    return { ...loaded, key: publicKeyOf(loaded.public) };
  }

  /** The AK certificate (DER), without the NV index's padding. */
  async akCertificate(): Promise<Buffer> {
    return derPrefix(await this.tpm.nvRead(AZURE_VTPM.AK_CERT_NV), 'the AK certificate at NV 0x01C101D0');
  }

  /** The HCL report as it is now, parsed and checked. */
  async hclReport(): Promise<{ bytes: Buffer; report: HclReport }> {
    const bytes = await this.tpm.nvRead(AZURE_VTPM.HCL_REPORT_NV);
    return { bytes, report: parseHclReport(bytes) };
  }

  /**
   * Writes `userData` (64 bytes) to NV 0x01400002, defining the index when it is missing or of
   * another size, then reads the HCL report until its `user-data` claim is what was written (the
   * paravisor regenerates it asynchronously).
   */
  async attestationEvidence(userData: Uint8Array): Promise<{ bytes: Buffer; report: HclReport }> {
    if (userData.length !== AZURE_VTPM.USER_DATA_SIZE) {
      throw new TpmError(
        'bad-argument',
        `user data must be ${AZURE_VTPM.USER_DATA_SIZE} bytes, got ${userData.length}`,
      );
    }
    await this.#ensureUserDataIndex();
    await this.tpm.nvWrite(AZURE_VTPM.USER_DATA_NV, userData);
    const deadline = Date.now() + this.#reportWaitMs;
    for (;;) {
      const evidence = await this.hclReport();
      if (hclUserData(evidence.report)?.equals(userData)) return evidence;
      if (Date.now() >= deadline) {
        throw new TpmError(
          'unsupported',
          `the HCL report did not take the user data within ${this.#reportWaitMs} ms`,
        );
      }
      await new Promise((r) => setTimeout(r, this.#reportPollMs));
    }
  }

  async #ensureUserDataIndex(): Promise<void> {
    const index = AZURE_VTPM.USER_DATA_NV;
    const existing = await this.tpm.nvReadPublic(index).catch((err: unknown) => {
      if (err instanceof TpmError && err.kind === 'tpm-error') return undefined; // TPM_RC_HANDLE: not defined
      throw err;
    });
    if (existing?.public.dataSize === AZURE_VTPM.USER_DATA_SIZE) return;
    if (existing) await this.tpm.nvUndefineSpace(index);
    await this.tpm.nvDefineSpace({
      nvIndex: index,
      nameAlg: 'sha256',
      attributes: TPMA_NV.OWNERREAD | TPMA_NV.OWNERWRITE | TPMA_NV.AUTHREAD | TPMA_NV.AUTHWRITE,
      authPolicy: Buffer.alloc(0),
      dataSize: AZURE_VTPM.USER_DATA_SIZE,
    });
  }

  /**
   * A non-persistent RSA-2048 decryption key, as AttestationClient makes it: CreatePrimary under
   * the null hierarchy (gone at the next TPM reset). With `pcrs` (default: those AttestationClient
   * uses) it is bound to their current sha256 values by a PolicyPCR authPolicy; with `pcrs: []` it
   * is usable with the empty password.
   */
  async createEphemeralKey(options: { readonly pcrs?: readonly number[] } = {}): Promise<EphemeralKey> {
    const pcrs = options.pcrs ?? AZURE_VTPM.ATTESTATION_PCRS;
    let policy: EphemeralKey['policy'];
    if (pcrs.length) {
      const values = await this.tpm.pcrRead('sha256', pcrs);
      const selection = [{ hash: 'sha256' as const, pcrs: [...values.keys()] }];
      policy = { selection, pcrDigest: pcrDigest('sha256', [...values.values()]) };
    }
    const template = ephemeralKeyTemplate(
      policy ? policyPcrDigest(policy.selection, policy.pcrDigest) : undefined,
    );
    const created = await this.tpm.createPrimary(TPM_RH.NULL, template);
    return {
      handle: created.handle,
      publicArea: created.publicArea,
      public: created.public,
      name: created.name,
      key: publicKeyOf(created.public),
      policy,
    };
  }

  /** TPM2_Certify of a loaded key by the AK (AttestationClient's `EncKeyCertifyInfo` and its signature). */
  certifyWithAk(handle: number, qualifyingData?: Uint8Array) {
    return this.tpm.certify(handle, AZURE_VTPM.AK_HANDLE, qualifyingData);
  }

  /** A quote by the AK over the sha256 bank of `pcrs` with `nonce` as qualifying data, and those PCRs' values. */
  async quote(nonce: Uint8Array, pcrs: readonly number[] = AZURE_VTPM.ATTESTATION_PCRS): Promise<Quote> {
    const selection = [{ hash: 'sha256' as const, pcrs: [...pcrs] }];
    const quote = await this.tpm.quote(AZURE_VTPM.AK_HANDLE, nonce, selection);
    return { ...quote, pcrs: await this.tpm.pcrRead('sha256', pcrs) };
  }

  /** RSA-OAEP decryption (empty label) by a key in the TPM; a PCR-bound key gets its policy session. */
  decryptOaep(key: EphemeralKey | number, data: Uint8Array, hash: TpmHash): Promise<Buffer> {
    return this.#decrypt(key, data, hash);
  }

  /** RSAES-PKCS1-v1_5 decryption by a key in the TPM (the inner key of Azure Attestation's sealed answer). */
  decryptRsaes(key: EphemeralKey | number, data: Uint8Array): Promise<Buffer> {
    return this.#decrypt(key, data, 'rsaes');
  }

  async #decrypt(key: EphemeralKey | number, data: Uint8Array, scheme: TpmHash | 'rsaes'): Promise<Buffer> {
    if (typeof key === 'number') return this.tpm.rsaDecrypt(key, data, scheme);
    const auth = key.policy
      ? await this.tpm.pcrPolicySession(key.policy.selection, key.policy.pcrDigest)
      : undefined;
    return this.tpm.rsaDecrypt(key.handle, data, scheme, auth);
  }

  flush(key: EphemeralKey | number): Promise<void> {
    return this.tpm.flushContext(typeof key === 'number' ? key : key.handle);
  }
}

/** The DER element at the start of `bytes` (an NV index holds it followed by padding). */
function derPrefix(bytes: Buffer, what: string): Buffer {
  if (bytes.length < 2 || bytes[0] !== 0x30) throw new TpmError('malformed-response', `${what} is not DER`);
  const first = bytes[1]!;
  let length = first;
  let header = 2;
  if (first & 0x80) {
    const n = first & 0x7f;
    if (n < 1 || n > 3 || bytes.length < 2 + n)
      throw new TpmError('malformed-response', `${what}: bad DER length`);
    length = bytes.readUIntBE(2, n);
    header = 2 + n;
  }
  if (header + length > bytes.length)
    throw new TpmError('malformed-response', `${what} runs past the NV index`);
  return Buffer.from(bytes.subarray(0, header + length));
}
