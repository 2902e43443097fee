/**
 * The UVM reference info: what Microsoft signs for each utility-VM image it ships for Confidential ACI
 * and AKS confidential containers, and what the platform places beside the container as
 * `reference-info-base64` (base64 of a COSE_Sign1). Its protected header names the signer (`iss`, a
 * did:x509), the `feed` (`ContainerPlat-AMD-UVM`) and carries the `x5chain` (leaf first); its payload
 * is JSON `{"x-ms-sevsnpvm-guestsvn": "<n>", "x-ms-sevsnpvm-launchmeasurement": "<96 hex>"}`.
 */
import { X509Certificate } from 'node:crypto';
import {
  CborTag,
  coseAlgorithm,
  CoseError,
  decodeCoseSign1,
  HEADER,
  type CoseAlgorithmId,
  type CoseSign1,
} from '../cose/index.ts';
import { UvmEndorsementError } from './errors.ts';

/** The feed Microsoft publishes AMD UVM measurements on. */
export const UVM_FEED = 'ContainerPlat-AMD-UVM';
/** The file's name in a UVM security context directory (hcsshim's name, the sidecar's too). */
export const REFERENCE_INFO_FILE = 'reference-info-base64';
/** Microsoft's EKU for the signer of UVM reference info (the `eku` of its did:x509 issuer). */
export const UVM_SIGNING_EKU = '1.3.6.1.4.1.311.76.59.1.2';

const MAX_CHAIN = 8;

export interface ReferenceInfo {
  readonly message: CoseSign1;
  readonly alg: CoseAlgorithmId;
  readonly contentType: string | undefined;
  /** Leaf (the signer) first. */
  readonly x5chain: readonly X509Certificate[];
  readonly issuer: string;
  readonly feed: string;
  /** `signingtime`, when the header has it. */
  readonly signingTime: Date | undefined;
  /** `x-ms-sevsnpvm-guestsvn`, as signed (a decimal string). */
  readonly guestSvn: string;
  /** `x-ms-sevsnpvm-launchmeasurement`, lowercase hex. */
  readonly launchMeasurement: string;
}

const bad = (message: string, cause?: unknown): UvmEndorsementError =>
  new UvmEndorsementError(
    'bad-reference-info',
    `UVM reference info: ${message}`,
    cause === undefined ? {} : { cause },
  );

function text(header: ReadonlyMap<unknown, unknown>, label: string | number, name: string): string {
  const v = header.get(label);
  if (typeof v !== 'string' || v === '') throw bad(`the protected header has no ${name} text`);
  return v;
}

function chainOf(value: unknown): X509Certificate[] {
  const ders = value instanceof Uint8Array ? [value] : Array.isArray(value) ? value : undefined;
  if (ders === undefined || ders.length === 0) throw bad('the protected header has no x5chain (33)');
  if (ders.length > MAX_CHAIN) throw bad(`x5chain holds ${ders.length} certificates, more than ${MAX_CHAIN}`);
  return ders.map((der, i) => {
    if (!(der instanceof Uint8Array)) throw bad(`x5chain member ${i} is not a byte string`);
    try {
      return new X509Certificate(der);
    } catch (err) {
      throw bad(`x5chain member ${i} is not a DER certificate`, err);
    }
  });
}

/** Reads the decoded COSE_Sign1 bytes. Throws UvmEndorsementError (`bad-reference-info`). */
export function parseReferenceInfo(bytes: Uint8Array): ReferenceInfo {
  let message: CoseSign1;
  let alg: CoseAlgorithmId;
  try {
    message = decodeCoseSign1(bytes);
    alg = coseAlgorithm(message);
  } catch (err) {
    if (err instanceof CoseError) throw bad(err.message, err);
    throw err;
  }
  const h = message.protectedHeader;
  const ct = h.get(HEADER.contentType);
  const signing = h.get('signingtime');
  let payload: unknown;
  try {
    payload = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(message.payload));
  } catch (err) {
    throw bad('the payload is not JSON', err);
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload))
    throw bad('the payload is not a JSON object');
  const p = payload as Record<string, unknown>;
  const svn = p['x-ms-sevsnpvm-guestsvn'];
  const measurement = p['x-ms-sevsnpvm-launchmeasurement'];
  if (typeof svn !== 'string' || !/^\d{1,10}$/.test(svn))
    throw bad('x-ms-sevsnpvm-guestsvn is not a decimal string');
  if (typeof measurement !== 'string' || !/^[0-9a-fA-F]{96}$/.test(measurement)) {
    throw bad('x-ms-sevsnpvm-launchmeasurement is not 96 hex digits');
  }
  return {
    message,
    alg,
    contentType: typeof ct === 'string' ? ct : undefined,
    x5chain: chainOf(h.get(HEADER.x5chain)),
    issuer: text(h, 'iss', 'iss'),
    feed: text(h, 'feed', 'feed'),
    signingTime:
      signing instanceof CborTag && signing.tag === 1 && typeof signing.value === 'number'
        ? new Date(signing.value * 1000)
        : undefined,
    guestSvn: svn,
    launchMeasurement: measurement.toLowerCase(),
  };
}

/** The file's text (base64 of the COSE_Sign1, maybe with a trailing newline) → COSE bytes. */
export function decodeReferenceInfoFile(content: string): Buffer {
  const body = content.trim();
  if (body === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(body) || body.length % 4 !== 0) {
    throw bad(`${REFERENCE_INFO_FILE} is not standard base64`);
  }
  return Buffer.from(body, 'base64');
}
