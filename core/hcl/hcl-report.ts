/**
 * The HCL report: what Azure's paravisor (HCL) writes to vTPM NV 0x01400001 and regenerates when
 * the guest writes user data to NV 0x01400002. Layout (little-endian; Azure's HwVmReport.h,
 * az-cvm-vtpm `hcl/mod.rs`):
 *
 *   0x000  header: signature "HCLA", version 1, report_size, request_type, status, reserved[3]
 *   0x020  hardware report slot: the 1184-byte SNP ATTESTATION_REPORT (TDX: TDREPORT)
 *   0x4C0  IGVM request data: data_size, version 1, report_type (2 SNP, 4 TDX),
 *          report_data_hash_type (1 SHA-256), variable_data_size
 *   0x4D4  variable data: the runtime-claims JSON (`keys` with HCLAkPub, `vm-configuration`, `user-data`)
 *
 * The binding: SNP REPORT_DATA[0:32] = SHA-256(variable data). The NV index is larger than the
 * report; the rest is padding.
 */
import crypto, { type KeyObject } from 'node:crypto';
import { parseReport, REPORT_SIZE, type AttestationReport } from '../snp/index.ts';
import { HclReportError } from './errors.ts';

export const HCL_SIGNATURE = 0x414c4348; // "HCLA" read little-endian
export const HCL_HEADER_SIZE = 0x20;
export const HW_REPORT_OFFSET = 0x20;
export const REQUEST_DATA_OFFSET = HW_REPORT_OFFSET + REPORT_SIZE; // 0x4C0
const REQUEST_DATA_FIXED = 20;
export const VARIABLE_DATA_OFFSET = REQUEST_DATA_OFFSET + REQUEST_DATA_FIXED; // 0x4D4
export const REPORT_TYPE = { SNP: 2, TDX: 4 } as const;
export const HASH_TYPE = { SHA256: 1, SHA384: 2, SHA512: 3 } as const;
/** header.request_type: what the HCL generated the report for. */
export const REQUEST_TYPE = { KEY_RELEASE: 1, AK_CERT: 2 } as const;
/** The most variable data we accept: the report must fit an NV index (a few KiB). */
export const MAX_VARIABLE_DATA = 16 * 1024;

export interface HclReport {
  readonly header: {
    readonly version: number;
    readonly reportSize: number;
    readonly requestType: number;
    readonly status: number;
  };
  /** The 1184 bytes of the SNP report, as signed by the VCEK. */
  readonly snpReportBytes: Buffer;
  readonly snpReport: AttestationReport;
  readonly requestData: {
    readonly dataSize: number;
    readonly version: number;
    readonly reportType: number;
    readonly hashType: number;
  };
  /** The runtime-claims JSON bytes (MAA's `RunTimeData`). */
  readonly variableData: Buffer;
  /** The same, parsed. */
  readonly runtimeClaims: Record<string, unknown>;
}

/**
 * Parses an HCL report and checks it: header, SNP report type, SHA-256 hash type, sizes, the
 * binding REPORT_DATA[0:32] = SHA-256(variable data) and the runtime claims being a JSON object.
 * The SNP report's signature and chain are the verifier's business (core/snp `verifyAttestation`).
 */
export function parseHclReport(bytes: Uint8Array): HclReport {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < VARIABLE_DATA_OFFSET) {
    throw new HclReportError(
      'bad-size',
      `an HCL report is at least ${VARIABLE_DATA_OFFSET} bytes, got ${b.length}`,
    );
  }
  if (b.readUInt32LE(0) !== HCL_SIGNATURE) {
    throw new HclReportError(
      'bad-signature',
      `header signature 0x${b.readUInt32LE(0).toString(16)} is not "HCLA"`,
    );
  }
  const header = {
    version: b.readUInt32LE(4),
    reportSize: b.readUInt32LE(8),
    requestType: b.readUInt32LE(12),
    status: b.readUInt32LE(16),
  };
  if (header.version !== 1) {
    throw new HclReportError(
      'unsupported-version',
      `HCL report header version ${header.version}, expected 1`,
    );
  }
  const requestData = {
    dataSize: b.readUInt32LE(REQUEST_DATA_OFFSET),
    version: b.readUInt32LE(REQUEST_DATA_OFFSET + 4),
    reportType: b.readUInt32LE(REQUEST_DATA_OFFSET + 8),
    hashType: b.readUInt32LE(REQUEST_DATA_OFFSET + 12),
  };
  const variableSize = b.readUInt32LE(REQUEST_DATA_OFFSET + 16);
  if (requestData.version !== 1) {
    throw new HclReportError(
      'unsupported-version',
      `IGVM request data version ${requestData.version}, expected 1`,
    );
  }
  if (requestData.reportType !== REPORT_TYPE.SNP) {
    throw new HclReportError(
      'not-snp',
      `hardware report type ${requestData.reportType}${requestData.reportType === REPORT_TYPE.TDX ? ' (TDX)' : ''}, expected 2 (SNP)`,
    );
  }
  if (requestData.hashType !== HASH_TYPE.SHA256) {
    throw new HclReportError(
      'unsupported-hash-type',
      `report data hash type ${requestData.hashType}, expected 1 (SHA-256)`,
    );
  }
  if (variableSize > MAX_VARIABLE_DATA || VARIABLE_DATA_OFFSET + variableSize > b.length) {
    throw new HclReportError(
      'bad-size',
      `variable data of ${variableSize} bytes runs past the report (${b.length - VARIABLE_DATA_OFFSET} left)`,
    );
  }
  if (requestData.dataSize !== REQUEST_DATA_FIXED + variableSize) {
    throw new HclReportError(
      'bad-size',
      `IGVM data_size ${requestData.dataSize} is not ${REQUEST_DATA_FIXED} + variable_data_size ${variableSize}`,
    );
  }
  const snpReportBytes = Buffer.from(b.subarray(HW_REPORT_OFFSET, REQUEST_DATA_OFFSET));
  let snpReport: AttestationReport;
  try {
    snpReport = parseReport(snpReportBytes);
  } catch (cause) {
    throw new HclReportError(
      'bad-snp-report',
      `the SNP report in the HCL report does not parse: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }
  const variableData = Buffer.from(b.subarray(VARIABLE_DATA_OFFSET, VARIABLE_DATA_OFFSET + variableSize));
  const digest = crypto.createHash('sha256').update(variableData).digest();
  if (!digest.equals(snpReport.reportData.subarray(0, 32))) {
    throw new HclReportError(
      'binding-mismatch',
      'REPORT_DATA[0:32] is not SHA-256 of the runtime claims: the report does not sign them',
    );
  }
  return {
    header,
    snpReportBytes,
    snpReport,
    requestData,
    variableData,
    runtimeClaims: runtimeClaimsOf(variableData),
  };
}

function runtimeClaimsOf(variableData: Buffer): Record<string, unknown> {
  let claims: unknown;
  try {
    claims = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(variableData));
  } catch (cause) {
    throw new HclReportError('runtime-claims-not-json', 'the runtime claims are not UTF-8 JSON', { cause });
  }
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) {
    throw new HclReportError('runtime-claims-not-json', 'the runtime claims are not a JSON object');
  }
  return claims as Record<string, unknown>;
}

/** The vTPM attestation key the runtime claims vouch for (`keys[kid = HCLAkPub]`). */
export function hclAkPub(report: Pick<HclReport, 'runtimeClaims'>): KeyObject {
  const keys = report.runtimeClaims['keys'];
  const jwk = Array.isArray(keys)
    ? (keys as unknown[]).find(
        (k) => typeof k === 'object' && k !== null && (k as { kid?: unknown }).kid === 'HCLAkPub',
      )
    : undefined;
  if (!jwk) throw new HclReportError('no-ak-pub', 'the runtime claims hold no key with kid HCLAkPub');
  const { kty, n, e } = jwk as { kty?: unknown; n?: unknown; e?: unknown };
  if (kty !== 'RSA' || typeof n !== 'string' || typeof e !== 'string') {
    throw new HclReportError('no-ak-pub', 'HCLAkPub is not an RSA JWK with n and e');
  }
  try {
    return crypto.createPublicKey({ key: { kty, n, e }, format: 'jwk' });
  } catch (cause) {
    throw new HclReportError('no-ak-pub', 'HCLAkPub does not import as an RSA public key', { cause });
  }
}

/** The `user-data` claim (hex of what the guest wrote to NV 0x01400002), if present. */
export function hclUserData(report: Pick<HclReport, 'runtimeClaims'>): Buffer | undefined {
  const hex = report.runtimeClaims['user-data'];
  return typeof hex === 'string' && /^(?:[0-9a-fA-F]{2})*$/.test(hex) ? Buffer.from(hex, 'hex') : undefined;
}

export interface HclReportInput {
  /** The SNP report, 1184 bytes, whose REPORT_DATA[0:32] is SHA-256(variableData). */
  readonly snpReport: Uint8Array;
  readonly variableData: Uint8Array;
  /** Default 2 (AkCertRequest), as the report the HCL keeps in NV carries. */
  readonly requestType?: number;
  /** Zero-pad to this size (the NV index's); default no padding. */
  readonly padTo?: number;
}

/** The bytes of an HCL report: what the simulated paravisor writes to NV. */
export function buildHclReport(input: HclReportInput): Buffer {
  if (input.snpReport.length !== REPORT_SIZE) {
    throw new HclReportError(
      'bad-field',
      `the SNP report must be ${REPORT_SIZE} bytes, got ${input.snpReport.length}`,
    );
  }
  const reportSize = VARIABLE_DATA_OFFSET + input.variableData.length;
  const size = Math.max(reportSize, input.padTo ?? 0);
  if (input.padTo !== undefined && input.padTo < reportSize) {
    throw new HclReportError(
      'bad-field',
      `a ${reportSize}-byte HCL report does not fit ${input.padTo} bytes`,
    );
  }
  const b = Buffer.alloc(size);
  b.writeUInt32LE(HCL_SIGNATURE, 0);
  b.writeUInt32LE(1, 4);
  b.writeUInt32LE(reportSize, 8);
  b.writeUInt32LE(input.requestType ?? REQUEST_TYPE.AK_CERT, 12);
  Buffer.from(input.snpReport).copy(b, HW_REPORT_OFFSET);
  b.writeUInt32LE(REQUEST_DATA_FIXED + input.variableData.length, REQUEST_DATA_OFFSET);
  b.writeUInt32LE(1, REQUEST_DATA_OFFSET + 4);
  b.writeUInt32LE(REPORT_TYPE.SNP, REQUEST_DATA_OFFSET + 8);
  b.writeUInt32LE(HASH_TYPE.SHA256, REQUEST_DATA_OFFSET + 12);
  b.writeUInt32LE(input.variableData.length, REQUEST_DATA_OFFSET + 16);
  Buffer.from(input.variableData).copy(b, VARIABLE_DATA_OFFSET);
  return b;
}

/** REPORT_DATA for an HCL report: SHA-256(variable data) then 32 zero bytes. */
export function hclReportData(variableData: Uint8Array): Buffer {
  return Buffer.concat([crypto.createHash('sha256').update(variableData).digest(), Buffer.alloc(32)]);
}
