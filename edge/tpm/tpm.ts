/**
 * A TPM over a transport: each method encodes with core/tpm, sends, and decodes. The TPM's own
 * refusals are core's TpmError (`tpm-error`, with the response code's name); warnings a TPM asks
 * to be retried (TPM_RC_RETRY, YIELDED, TESTING) are retried a few times first.
 */
import {
  decodeCertify,
  decodeCreatePrimary,
  decodeEmpty,
  decodeHandles,
  decodeNvRead,
  decodeNvReadPublic,
  decodePcrRead,
  decodeQuote,
  decodeReadPublic,
  decodeRsaDecrypt,
  decodeStartAuthSession,
  decodeTpmProperties,
  encodeCertify,
  encodeCreatePrimary,
  encodeEvictControl,
  encodeFlushContext,
  encodeGetCapability,
  encodeNvDefineSpace,
  encodeNvRead,
  encodeNvReadPublic,
  encodeNvUndefineSpace,
  encodeNvWrite,
  encodePcrExtend,
  encodePcrRead,
  encodePolicyPcr,
  encodeQuote,
  encodeReadPublic,
  encodeRsaDecrypt,
  encodeStartPolicySession,
  isRetryable,
  nvChunks,
  responseCode,
  TPM_CAP,
  TPM_PT,
  TPM_RH,
  TpmError,
  type Authorization,
  type NvPublic,
  type PcrSelection,
  type RsaPublic,
  type TpmHash,
} from '../../core/tpm/index.ts';
import crypto from 'node:crypto';
import type { TpmTransport } from './transport.ts';

const RETRIES = 5;
const RETRY_DELAY_MS = 50;

export class Tpm {
  readonly transport: TpmTransport;
  #nvBufferMax: number | undefined;

  constructor(transport: TpmTransport) {
    this.transport = transport;
  }

  /** Sends a command, retrying the warnings that ask for it; returns the raw response. */
  async execute(command: Buffer): Promise<Buffer> {
    for (let attempt = 0; ; attempt++) {
      const response = await this.transport.send(command);
      const rc = responseCode(response);
      if (rc === undefined || !isRetryable(rc) || attempt >= RETRIES) return response;
      await new Promise((r) => setTimeout(r, RETRY_DELAY_MS * (attempt + 1)));
    }
  }

  close(): Promise<void> {
    return this.transport.close();
  }

  async tpmProperty(property: number): Promise<number> {
    const props = decodeTpmProperties(
      await this.execute(encodeGetCapability(TPM_CAP.TPM_PROPERTIES, property, 1)),
    );
    const value = props.get(property);
    if (value === undefined)
      throw new TpmError('unsupported', `the TPM does not report property 0x${property.toString(16)}`);
    return value;
  }

  /** TPM_PT_NV_BUFFER_MAX, asked once. */
  async nvBufferMax(): Promise<number> {
    this.#nvBufferMax ??= await this.tpmProperty(TPM_PT.NV_BUFFER_MAX);
    return this.#nvBufferMax;
  }

  /** Handles of one type (the top byte: 0x01 NV, 0x81 persistent, 0x80 transient) — the first 256. */
  async handles(type: number): Promise<number[]> {
    return decodeHandles(await this.execute(encodeGetCapability(TPM_CAP.HANDLES, (type << 24) >>> 0, 256)))
      .handles;
  }

  async nvReadPublic(nvIndex: number): Promise<{ public: NvPublic; name: Buffer }> {
    return decodeNvReadPublic(await this.execute(encodeNvReadPublic(nvIndex)));
  }

  /** The whole NV index (its dataSize), in chunks of TPM_PT_NV_BUFFER_MAX. */
  async nvRead(nvIndex: number, authHandle: number = TPM_RH.OWNER): Promise<Buffer> {
    const { public: pub } = await this.nvReadPublic(nvIndex);
    const max = await this.nvBufferMax();
    const parts: Buffer[] = [];
    for (const { offset, size } of nvChunks(pub.dataSize, max)) {
      parts.push(decodeNvRead(await this.execute(encodeNvRead(authHandle, nvIndex, size, offset)), size));
    }
    return Buffer.concat(parts);
  }

  async nvDefineSpace(pub: NvPublic, authHandle: number = TPM_RH.OWNER): Promise<void> {
    decodeEmpty(await this.execute(encodeNvDefineSpace(authHandle, pub)), 'TPM2_NV_DefineSpace', 1);
  }

  async nvUndefineSpace(nvIndex: number, authHandle: number = TPM_RH.OWNER): Promise<void> {
    decodeEmpty(await this.execute(encodeNvUndefineSpace(authHandle, nvIndex)), 'TPM2_NV_UndefineSpace', 1);
  }

  /** Writes `data` from offset 0, in chunks of TPM_PT_NV_BUFFER_MAX. */
  async nvWrite(nvIndex: number, data: Uint8Array, authHandle: number = TPM_RH.OWNER): Promise<void> {
    const max = await this.nvBufferMax();
    for (const { offset, size } of nvChunks(data.length, max)) {
      const chunk = data.subarray(offset, offset + size);
      decodeEmpty(await this.execute(encodeNvWrite(authHandle, nvIndex, chunk, offset)), 'TPM2_NV_Write', 1);
    }
  }

  async readPublic(handle: number) {
    return decodeReadPublic(await this.execute(encodeReadPublic(handle)));
  }

  async createPrimary(hierarchy: number, template: RsaPublic) {
    return decodeCreatePrimary(await this.execute(encodeCreatePrimary(hierarchy, template)));
  }

  async evictControl(
    objectHandle: number,
    persistent: number,
    authHandle: number = TPM_RH.OWNER,
  ): Promise<void> {
    decodeEmpty(
      await this.execute(encodeEvictControl(authHandle, objectHandle, persistent)),
      'TPM2_EvictControl',
      1,
    );
  }

  async flushContext(handle: number): Promise<void> {
    decodeEmpty(await this.execute(encodeFlushContext(handle)), 'TPM2_FlushContext');
  }

  async certify(object: number, signer: number, qualifyingData?: Uint8Array) {
    return decodeCertify(await this.execute(encodeCertify(object, signer, qualifyingData)));
  }

  async quote(signer: number, nonce: Uint8Array, selection: readonly PcrSelection[]) {
    return decodeQuote(await this.execute(encodeQuote(signer, nonce, selection)));
  }

  /** The PCR values of one bank, in index order; several reads when more than 8 are asked for. */
  async pcrRead(hash: TpmHash, pcrs: readonly number[]): Promise<Map<number, Buffer>> {
    const wanted = [...new Set(pcrs)].sort((a, b) => a - b);
    const out = new Map<number, Buffer>();
    while (out.size < wanted.length) {
      const rest = wanted.filter((p) => !out.has(p));
      const { selection, digests } = decodePcrRead(await this.execute(encodePcrRead([{ hash, pcrs: rest }])));
      const got = selection.filter((s) => s.hash === hash).flatMap((s) => s.pcrs);
      // A TPM that returns nothing for what is left would loop forever.
      if (got.length === 0 || got.some((p) => !rest.includes(p))) {
        throw new TpmError(
          'malformed-response',
          `TPM2_PCR_Read returned PCRs ${got.join(',')} for ${rest.join(',')}`,
        );
      }
      got.forEach((p, i) => out.set(p, digests[i]!));
    }
    return out;
  }

  async pcrExtend(pcr: number, hash: TpmHash, digest: Uint8Array): Promise<void> {
    decodeEmpty(await this.execute(encodePcrExtend(pcr, hash, digest)), 'TPM2_PCR_Extend', 1);
  }

  async rsaDecrypt(
    key: number,
    ciphertext: Uint8Array,
    scheme: TpmHash | 'rsaes',
    auth?: Authorization,
  ): Promise<Buffer> {
    return decodeRsaDecrypt(await this.execute(encodeRsaDecrypt(key, ciphertext, scheme, auth)));
  }

  /** A policy session that has run TPM2_PolicyPCR for `selection` at `pcrDigest`; it ends with the next command. */
  async pcrPolicySession(selection: readonly PcrSelection[], pcrDigest: Uint8Array): Promise<Authorization> {
    const { handle } = decodeStartAuthSession(
      await this.execute(encodeStartPolicySession(crypto.randomBytes(32))),
    );
    try {
      decodeEmpty(await this.execute(encodePolicyPcr(handle, pcrDigest, selection)), 'TPM2_PolicyPCR');
    } catch (err) {
      await this.flushContext(handle).catch(() => undefined);
      throw err;
    }
    return { session: 'policy', handle };
  }
}
