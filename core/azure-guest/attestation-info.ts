/**
 * The request of Azure's guest attestation, `POST /attest/AzureGuest?api-version=2020-10-01`, as
 * AttestationClient (Azure/confidential-computing-cvm-guest-attestation, `AttestationParameters`,
 * `TpmInfo`, `IsolationInfo`) builds it: `{"AttestationInfo": base64url(JSON)}` where the JSON is
 *
 *   AttestationProtocolVersion "2.0"; OSType, OSDistro, OSBuild: base64 of the text;
 *   OSVersionMajor, OSVersionMinor: numbers; TcgLogs: base64 of the event log;
 *   ClientPayload: {name: base64(value)};
 *   TpmInfo: AikCert (DER), AikPub and EncKeyPub (marshalled TPM2B_PUBLIC), PcrQuote and
 *     EncKeyCertifyInfo (TPMS_ATTEST bytes), PcrSignature and EncKeyCertifyInfoSignature (the bare
 *     RSASSA signature, not a TPMT_SIGNATURE), PcrSet [indices], PCRs [{Index, Digest}] — all base64;
 *   IsolationInfo: {Type "SevSnp", Evidence: {Proof: base64(JSON {SnpReport: base64url(report),
 *     VcekCertChain: PEM}), RunTimeData: base64(the HCL report's variable data)}}.
 *
 * jsoncpp writes members in sorted order, so we do too; its indentation is not reproduced (JSON
 * readers ignore it). Parsing (for the simulator) is strict about names and types, not about order.
 */
import { decodeAnyBase64 } from '../policy/base64.ts';
import { AzureGuestError } from './errors.ts';

export const AZURE_GUEST_PROTOCOL_VERSION = '2.0';
export const AZURE_GUEST_API_VERSION = '2020-10-01';
/** Where Linux exposes the measured-boot (TCG) event log that AttestationClient sends as TcgLogs. */
export const LINUX_TCG_LOG_PATH = '/sys/kernel/security/tpm0/binary_bios_measurements';
/** What AttestationClient on Linux sends as OSBuild (its `g_os_build_str`, sic). */
export const LINUX_OS_BUILD = 'NotApplication';

export interface AzureGuestOs {
  readonly type: 'Linux' | 'Windows';
  readonly distro: string;
  readonly versionMajor: number;
  readonly versionMinor: number;
  readonly build: string;
}

export interface AzureGuestTpmInfo {
  readonly akCert: Buffer;
  /** TPM2B_PUBLIC of the AK (size-prefixed TPMT_PUBLIC). */
  readonly akPub: Buffer;
  /** TPMS_ATTEST of the quote. */
  readonly pcrQuote: Buffer;
  /** The RSASSA signature bytes over `pcrQuote`. */
  readonly pcrSignature: Buffer;
  /** TPM2B_PUBLIC of the ephemeral encryption key. */
  readonly encKeyPub: Buffer;
  readonly encKeyCertifyInfo: Buffer;
  readonly encKeyCertifyInfoSignature: Buffer;
  /** The quoted PCRs (sha256 bank), in index order. */
  readonly pcrs: ReadonlyArray<{ readonly index: number; readonly digest: Buffer }>;
}

export interface AzureGuestIsolation {
  /** The 1184-byte SNP report out of the HCL report. */
  readonly snpReport: Buffer;
  /** VCEK then ASK then ARK, PEM (THIM's vcekCert + certificateChain). */
  readonly vcekCertChainPem: string;
  /** The HCL report's variable data (runtime claims JSON) as it was hashed into REPORT_DATA. */
  readonly runtimeData: Buffer;
}

export interface AzureGuestEvidence {
  readonly protocolVersion: string;
  readonly os: AzureGuestOs;
  readonly tcgLog: Buffer;
  /** Values as text; each is sent base64 (AttestationClient's `client_payload`). */
  readonly clientPayload: Readonly<Record<string, string>>;
  readonly tpm: AzureGuestTpmInfo;
  readonly isolation: AzureGuestIsolation;
}

const b64 = (b: Uint8Array | string): string => Buffer.from(b).toString('base64');

/** The AttestationInfo object, members in jsoncpp's (sorted) order. */
export function attestationInfo(e: AzureGuestEvidence): Record<string, unknown> {
  const proof = JSON.stringify({
    SnpReport: Buffer.from(e.isolation.snpReport).toString('base64url'),
    VcekCertChain: e.isolation.vcekCertChainPem,
  });
  const payload = Object.fromEntries(
    Object.keys(e.clientPayload)
      .sort()
      .map((k) => [k, b64(e.clientPayload[k]!)]),
  );
  const pcrs = [...e.tpm.pcrs].sort((a, b) => a.index - b.index);
  return {
    AttestationProtocolVersion: e.protocolVersion,
    ClientPayload: payload,
    IsolationInfo: {
      Evidence: { Proof: b64(proof), RunTimeData: b64(e.isolation.runtimeData) },
      Type: 'SevSnp',
    },
    OSBuild: b64(e.os.build),
    OSDistro: b64(e.os.distro),
    OSType: b64(e.os.type),
    OSVersionMajor: e.os.versionMajor,
    OSVersionMinor: e.os.versionMinor,
    TcgLogs: b64(e.tcgLog),
    TpmInfo: {
      AikCert: b64(e.tpm.akCert),
      AikPub: b64(e.tpm.akPub),
      EncKeyCertifyInfo: b64(e.tpm.encKeyCertifyInfo),
      EncKeyCertifyInfoSignature: b64(e.tpm.encKeyCertifyInfoSignature),
      EncKeyPub: b64(e.tpm.encKeyPub),
      PCRs: pcrs.map((p) => ({ Digest: b64(p.digest), Index: p.index })),
      PcrQuote: b64(e.tpm.pcrQuote),
      PcrSet: pcrs.map((p) => p.index),
      PcrSignature: b64(e.tpm.pcrSignature),
    },
  };
}

/** The request body: `{"AttestationInfo": base64url(JSON)}`. */
export function azureGuestRequestBody(e: AzureGuestEvidence): string {
  const info = Buffer.from(JSON.stringify(attestationInfo(e)), 'utf8').toString('base64url');
  return JSON.stringify({ AttestationInfo: info });
}

/** A TPM2B_PUBLIC from the TPMT_PUBLIC bytes (what ReadPublic and CreatePrimary return). */
export function tpm2bPublic(publicArea: Uint8Array): Buffer {
  const size = Buffer.alloc(2);
  size.writeUInt16BE(publicArea.length);
  return Buffer.concat([size, publicArea]);
}

/** The TPMT_PUBLIC inside a TPM2B_PUBLIC. */
export function publicAreaOf(tpm2b: Uint8Array, field: string): Buffer {
  const b = Buffer.from(tpm2b);
  if (b.length < 2 || b.readUInt16BE(0) !== b.length - 2) {
    throw bad(`TpmInfo.${field} is not a TPM2B_PUBLIC (its size prefix does not match its length)`);
  }
  return b.subarray(2);
}

// ---- Parsing (the simulated service's side) ---------------------------------------------------

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const bad = (message: string): AzureGuestError => new AzureGuestError('bad-request', message);

function member(obj: Json, name: string, path: string): unknown {
  const v = obj[name];
  if (v === undefined || v === null) throw bad(`${path}${name} is required`);
  return v;
}

function object(obj: Json, name: string, path: string): Json {
  const v = member(obj, name, path);
  if (!isObject(v)) throw bad(`${path}${name} must be an object`);
  return v;
}

function bytes(obj: Json, name: string, path: string, options: { empty?: boolean } = {}): Buffer {
  const v = member(obj, name, path);
  if (typeof v !== 'string') throw bad(`${path}${name} must be a base64 string`);
  if (v === '' && options.empty === true) return Buffer.alloc(0);
  const decoded = decodeAnyBase64(v);
  if ('problem' in decoded) throw bad(`${path}${name} is not base64: ${decoded.problem}`);
  return decoded.bytes;
}

function text(obj: Json, name: string, path: string): string {
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes(obj, name, path));
}

function integer(obj: Json, name: string, path: string): number {
  const v = member(obj, name, path);
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw bad(`${path}${name} must be a non-negative integer`);
  }
  return v;
}

function jsonText(raw: Uint8Array, what: string): Json {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch (err) {
    throw bad(`${what} is not UTF-8 JSON: ${(err as Error).message}`);
  }
  if (!isObject(value)) throw bad(`${what} is not a JSON object`);
  return value;
}

/** Reads a request body back into evidence. Throws AzureGuestError `bad-request` naming the field. */
export function parseAzureGuestRequest(body: Uint8Array): AzureGuestEvidence {
  const root = jsonText(body, 'the request body');
  const info = jsonText(bytes(root, 'AttestationInfo', ''), 'AttestationInfo');
  const protocolVersion = member(info, 'AttestationProtocolVersion', '');
  if (typeof protocolVersion !== 'string') throw bad('AttestationProtocolVersion must be a string');
  const osType = text(info, 'OSType', '');
  if (osType !== 'Linux' && osType !== 'Windows')
    throw bad(`OSType ${JSON.stringify(osType)} is not Linux or Windows`);
  const os: AzureGuestOs = {
    type: osType,
    distro: text(info, 'OSDistro', ''),
    versionMajor: integer(info, 'OSVersionMajor', ''),
    versionMinor: integer(info, 'OSVersionMinor', ''),
    build: text(info, 'OSBuild', ''),
  };
  const payloadJson = info['ClientPayload'] ?? {};
  if (!isObject(payloadJson)) throw bad('ClientPayload must be an object');
  const clientPayload = Object.fromEntries(
    Object.keys(payloadJson).map((k) => [k, text(payloadJson, k, 'ClientPayload.')]),
  );

  const t = object(info, 'TpmInfo', '');
  const p = 'TpmInfo.';
  const pcrSet = member(t, 'PcrSet', p);
  const pcrList = member(t, 'PCRs', p);
  if (!Array.isArray(pcrSet) || !Array.isArray(pcrList))
    throw bad('TpmInfo.PcrSet and TpmInfo.PCRs must be arrays');
  const pcrs = pcrList.map((entry: unknown, i) => {
    if (!isObject(entry)) throw bad(`TpmInfo.PCRs[${i}] must be an object`);
    return {
      index: integer(entry, 'Index', `TpmInfo.PCRs[${i}].`),
      digest: bytes(entry, 'Digest', `TpmInfo.PCRs[${i}].`),
    };
  });
  if (pcrSet.length !== pcrs.length || pcrSet.some((x, i) => x !== pcrs[i]!.index)) {
    throw bad('TpmInfo.PcrSet does not list the indices of TpmInfo.PCRs');
  }
  const tpm: AzureGuestTpmInfo = {
    akCert: bytes(t, 'AikCert', p),
    akPub: bytes(t, 'AikPub', p),
    pcrQuote: bytes(t, 'PcrQuote', p),
    pcrSignature: bytes(t, 'PcrSignature', p),
    encKeyPub: bytes(t, 'EncKeyPub', p),
    encKeyCertifyInfo: bytes(t, 'EncKeyCertifyInfo', p),
    encKeyCertifyInfoSignature: bytes(t, 'EncKeyCertifyInfoSignature', p),
    pcrs,
  };

  const iso = object(info, 'IsolationInfo', '');
  const type = member(iso, 'Type', 'IsolationInfo.');
  if (type !== 'SevSnp') throw bad(`IsolationInfo.Type ${JSON.stringify(type)} is not SevSnp`);
  const evidence = object(iso, 'Evidence', 'IsolationInfo.');
  const proof = jsonText(bytes(evidence, 'Proof', 'IsolationInfo.Evidence.'), 'IsolationInfo.Evidence.Proof');
  const chain = member(proof, 'VcekCertChain', 'Proof.');
  if (typeof chain !== 'string') throw bad('Proof.VcekCertChain must be PEM text');
  const isolation: AzureGuestIsolation = {
    snpReport: bytes(proof, 'SnpReport', 'Proof.'),
    vcekCertChainPem: chain,
    runtimeData: bytes(evidence, 'RunTimeData', 'IsolationInfo.Evidence.'),
  };
  return {
    protocolVersion,
    os,
    tcgLog: bytes(info, 'TcgLogs', '', { empty: true }),
    clientPayload,
    tpm,
    isolation,
  };
}
