/**
 * Azure guest attestation of this confidential VM through its vTPM (node mode on AKS CVM node pools),
 * as AttestationClient does it, with the request and the sealed answer from core/azure-guest:
 *
 *  1. an ephemeral RSA key in the TPM (CreatePrimary under the null hierarchy, PCR-bound), certified
 *     by the AK;
 *  2. user data SHA-256(EncKeyPub) ‖ SHA-256(nonce) written to NV 0x01400002, and the HCL report the
 *     paravisor regenerates with it (so the SNP report signs this request's key and nonce);
 *  3. a quote of PCRs 0–7 with SHA-256(nonce) as qualifying data, the PCR values, the AK and its
 *     certificate, the TCG log, the VCEK chain (the caller's source: THIM, as pod mode gets it);
 *  4. `POST /attest/AzureGuest?api-version=2020-10-01`, throttling and outages retried as the
 *     service's Retry-After says, within the deadline;
 *  5. the inner key decrypted by the TPM (RSAES), the JWT by AES-GCM; the token's
 *     `TpmEphemeralEncryptionKey` must be the key of step 1.
 *
 * The ephemeral key stays loaded for the release unwraps that follow; the caller flushes it.
 */
import { open, readFile } from 'node:fs/promises';
import {
  AZURE_GUEST_API_VERSION,
  AZURE_GUEST_PROTOCOL_VERSION,
  AzureGuestError,
  azureGuestRequestBody,
  azureGuestUserData,
  jwtPayload,
  LINUX_OS_BUILD,
  LINUX_TCG_LOG_PATH,
  openAzureGuestToken,
  quoteQualifyingData,
  tpm2bPublic,
  tpmEphemeralKey,
  type AzureGuestEvidence,
  type AzureGuestOs,
} from '../../core/azure-guest/index.ts';
import type { HclReport } from '../../core/hcl/index.ts';
import { TCG_LOG_LIMITS } from '../../core/tcg-log/index.ts';
import type { HttpError } from '../http/client.ts';
import { errorBody, httpRequest, jsonBody, retryAfterDeadline, unavailable } from '../http/client.ts';
import type { AzureVtpm, EphemeralKey } from '../tpm/index.ts';
import { AttestationRequestError } from './attestation-client.ts';
import crypto from 'node:crypto';

/** Where Linux exposes the measured-boot event log. */
export const TCG_LOG_PATH = LINUX_TCG_LOG_PATH;
/** A firmware log is tens of KiB; the parser's bound is the reader's. */
export const TCG_LOG_MAX_BYTES = TCG_LOG_LIMITS.maxBytes;

export interface AzureGuestAttestationOptions {
  /** `https://<instance>.attest.azure.net` (or a simulator). */
  readonly attestationUrl: string;
  readonly vtpm: AzureVtpm;
  /** VCEK then ASK then ARK (PEM) for the report: THIM's certification, as the pod-mode agent gets it. */
  readonly vcekChain: (report: HclReport) => Promise<string>;
  /** Default: read from /etc/os-release (Linux). */
  readonly os?: AzureGuestOs;
  /**
   * The TCG event log. Default: readTcgLog(TCG_LOG_PATH), an error when it cannot be read (where
   * AttestationClient would send an empty log that the service cannot check the PCRs against).
   */
  readonly tcgLog?: () => Promise<Buffer>;
  readonly caPem?: string;
  readonly timeoutMs?: number;
  /** Throttled or unavailable answers are retried this many times in all (default 4). */
  readonly attempts?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface AzureGuestToken {
  /** The attestation JWT (MAA-signed; the vault verifies it). */
  readonly token: string;
  readonly claims: Record<string, unknown>;
  /** The TPM key the token names `TpmEphemeralEncryptionKey`; still loaded. */
  readonly key: EphemeralKey;
  readonly nonce: string;
}

export class AzureGuestAttestation {
  readonly #o: AzureGuestAttestationOptions;

  constructor(options: AzureGuestAttestationOptions) {
    this.#o = options;
  }

  /** Attests now. `deadline` (epoch ms, default one minute) bounds the retries. */
  async attest(options: { nonce?: string; deadline?: number } = {}): Promise<AzureGuestToken> {
    const { vtpm } = this.#o;
    const nonce = options.nonce ?? crypto.randomBytes(32).toString('base64url');
    const deadline = options.deadline ?? Date.now() + 60_000;
    const { evidence, key } = await gatherAzureGuestEvidence(vtpm, {
      nonce,
      vcekChain: this.#o.vcekChain,
      os: this.#o.os ?? (await linuxOs()),
      tcgLog: await (this.#o.tcgLog ?? (() => readTcgLog(TCG_LOG_PATH)))(),
    });
    try {
      const body = azureGuestRequestBody(evidence);
      const sealed = await this.#post(body, deadline);
      const token = await openAzureGuestToken(sealed, (inner) => vtpm.decryptRsaes(key, inner));
      const claims = jwtPayload(token);
      const named = tpmEphemeralKey(claims).key.export({ type: 'spki', format: 'der' });
      if (!named.equals(key.key.export({ type: 'spki', format: 'der' }))) {
        throw new AzureGuestError(
          'no-ephemeral-key',
          "the token's TpmEphemeralEncryptionKey is not the key this request certified",
        );
      }
      return { token, claims, key, nonce };
    } catch (err) {
      await vtpm.flush(key).catch(() => undefined);
      throw err;
    }
  }

  /** The sealed `token`; AttestationRequestError when refused, HttpError when not answered in time. */
  async #post(body: string, deadline: number): Promise<string> {
    const url = new URL(`/attest/AzureGuest?api-version=${AZURE_GUEST_API_VERSION}`, this.#o.attestationUrl);
    const attempts = this.#o.attempts ?? 4;
    const sleep = this.#o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    for (let attempt = 1; ; attempt++) {
      const res = await httpRequest(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        timeoutMs: this.#o.timeoutMs ?? 30_000,
        deadline,
        ...(this.#o.caPem === undefined ? {} : { caPem: this.#o.caPem }),
      });
      const token = (jsonBody(res) as { token?: unknown } | undefined)?.token;
      if (res.status === 200 && typeof token === 'string' && token !== '') return token;
      const e = errorBody(res.text);
      const message = `attestation at ${url.origin} answered ${res.status}${e.code ? ` ${e.code}` : ''}: ${e.message ?? 'no token in the response'}`;
      if (res.status !== 429 && res.status < 500)
        throw new AttestationRequestError(message, res.status, e.code);
      const error: HttpError = unavailable(message, url, res);
      if (attempt >= attempts) throw error;
      const waitMs = error.retryAt ? error.retryAt.getTime() - Date.now() : 250 * 2 ** (attempt - 1);
      if (Date.now() + waitMs > deadline) {
        throw error.retryAt
          ? retryAfterDeadline(message, {
              endpoint: error.endpoint,
              retryAt: error.retryAt,
              status: res.status,
            })
          : error;
      }
      await sleep(Math.max(0, waitMs));
    }
  }
}

/**
 * Steps 1–3: the evidence of one AzureGuest request for `nonce`, and the ephemeral key it certifies
 * (loaded; flushed here only when gathering fails).
 */
export async function gatherAzureGuestEvidence(
  vtpm: AzureVtpm,
  o: {
    nonce: string;
    vcekChain: (report: HclReport) => Promise<string>;
    os: AzureGuestOs;
    tcgLog: Buffer;
  },
): Promise<{ evidence: AzureGuestEvidence; key: EphemeralKey }> {
  const key = await vtpm.createEphemeralKey();
  try {
    const encKeyPub = tpm2bPublic(key.publicArea);
    const hcl = await vtpm.attestationEvidence(azureGuestUserData(encKeyPub, o.nonce));
    const certify = await vtpm.certifyWithAk(key.handle);
    const quote = await vtpm.quote(quoteQualifyingData(o.nonce));
    const ak = await vtpm.akPublic();
    const evidence: AzureGuestEvidence = {
      protocolVersion: AZURE_GUEST_PROTOCOL_VERSION,
      os: o.os,
      tcgLog: o.tcgLog,
      clientPayload: { nonce: o.nonce },
      tpm: {
        akCert: await vtpm.akCertificate(),
        akPub: tpm2bPublic(ak.publicArea),
        pcrQuote: quote.attestBytes,
        pcrSignature: quote.signature.signature,
        encKeyPub,
        encKeyCertifyInfo: certify.attestBytes,
        encKeyCertifyInfoSignature: certify.signature.signature,
        pcrs: [...quote.pcrs].map(([index, digest]) => ({ index, digest })),
      },
      isolation: {
        snpReport: hcl.report.snpReportBytes,
        vcekCertChainPem: await o.vcekChain(hcl.report),
        runtimeData: hcl.report.variableData,
      },
    };
    return { evidence, key };
  } catch (err) {
    await vtpm.flush(key).catch(() => undefined);
    throw err;
  }
}

/**
 * The measured-boot event log at `path` (securityfs reports size 0, so it is read to its end, at most
 * TCG_LOG_MAX_BYTES). Missing, unreadable, empty or oversized: AzureGuestError `tcg-log-unreadable`.
 */
export async function readTcgLog(path: string): Promise<Buffer> {
  const fail = (problem: string, cause?: unknown) =>
    new AzureGuestError('tcg-log-unreadable', `the TCG event log ${path} ${problem}`, {
      hint: 'node mode needs the vTPM’s measured-boot log: mount the host’s /sys/kernel/security (read-only) or set --tcg-log',
      ...(cause === undefined ? {} : { cause }),
    });
  let file;
  try {
    file = await open(path, 'r');
  } catch (err) {
    throw fail(`cannot be opened (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, err);
  }
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.alloc(64 * 1024);
      const { bytesRead } = await file.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > TCG_LOG_MAX_BYTES) throw fail(`is over ${TCG_LOG_MAX_BYTES} bytes`);
      chunks.push(chunk.subarray(0, bytesRead));
    }
    if (total === 0) throw fail('is empty');
    return Buffer.concat(chunks);
  } catch (err) {
    if (err instanceof AzureGuestError) throw err;
    throw fail(`cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, err);
  } finally {
    await file.close().catch(() => undefined);
  }
}

/** OSType/OSDistro/OSVersion* as AttestationClient reads them on Linux: /etc/os-release NAME and VERSION_ID. */
export async function linuxOs(path = '/etc/os-release'): Promise<AzureGuestOs> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const value = (name: string): string =>
    new RegExp(`^${name}=(.*)$`, 'm').exec(text)?.[1]?.replace(/^"(.*)"$/, '$1') ?? '';
  const [major = 0, minor = 0] = value('VERSION_ID')
    .split('.')
    .map((p) => Number.parseInt(p, 10) || 0);
  return {
    type: 'Linux',
    distro: value('NAME') || 'Linux',
    versionMajor: major,
    versionMinor: minor,
    build: LINUX_OS_BUILD,
  };
}
