/**
 * The AMD KDS certificate extensions of a VCEK / VLEK (KDS spec 57230, OID arc 1.3.6.1.4.1.3704.1):
 * decoded with the real DER INTEGER decoder (an SPL of 128 or more is `02 02 00 xx`, which readers
 * that take `value[2]` get wrong), and encoded for fake VCEKs.
 */
import {
  Asn1Error,
  decodeOctetString,
  decodeSmallInteger,
  decodeStringOf,
  ia5String,
  integer,
  octetString,
  parseDer,
} from '../asn1/index.ts';
import { getExtensions, type CertificateInput, type CustomExtension } from '../x509/index.ts';
import { SnpFormatError } from './errors.ts';

const ARC = '1.3.6.1.4.1.3704.1';

export const KDS_OIDS = {
  structVersion: `${ARC}.1`,
  productName: `${ARC}.2`,
  blSpl: `${ARC}.3.1`,
  teeSpl: `${ARC}.3.2`,
  snpSpl: `${ARC}.3.3`,
  spl4: `${ARC}.3.4`,
  spl5: `${ARC}.3.5`,
  spl6: `${ARC}.3.6`,
  spl7: `${ARC}.3.7`,
  ucodeSpl: `${ARC}.3.8`,
  /** Turin only (Trustee `FMC_SPL_OID`). */
  fmcSpl: `${ARC}.3.9`,
  hwId: `${ARC}.4`,
  /** VLEK only: the cloud provider the VLEK was issued to. */
  cspId: `${ARC}.5`,
} as const;

export const SPL_NAMES = [
  'blSpl',
  'teeSpl',
  'spl4',
  'spl5',
  'spl6',
  'spl7',
  'snpSpl',
  'ucodeSpl',
  'fmcSpl',
] as const;
export type SplName = (typeof SPL_NAMES)[number];

/** What a VCEK/VLEK says about itself; absent extensions are undefined. */
export type KdsExtensions = {
  readonly structVersion?: number;
  /** e.g. `Milan-B0`, `Genoa-B1`; a VLEK names the product without stepping. */
  readonly productName?: string;
  /** Milan/Genoa: all 64 bytes of CHIP_ID; Turin: its first 8 bytes. */
  readonly hwId?: Buffer;
  readonly cspId?: string;
} & { readonly [K in SplName]?: number };

/** Hardware IDs are 64 bytes (Milan, Genoa) or 8 (Turin). */
const HWID_LENGTHS = [64, 8];

function bad(name: string, problem: string, cause?: unknown): SnpFormatError {
  return new SnpFormatError('bad-kds-extension', `VCEK extension ${name}: ${problem}`, { cause });
}

/**
 * Every real VCEK carries hwID as the raw bytes, without the OCTET STRING tag (go-sev-guest `kds.go`:
 * "the KDS doesn't add that for the HWID"; the Milan and Turin VCEKs in testdata). A wrapped one is
 * still read, as go-sev-guest does, in case AMD adds the tag: a raw ID is 64 or 8 bytes and a wrapped
 * one 66 or 10, so the length alone tells them apart.
 */
function decodeHwId(value: Buffer): Buffer {
  if (HWID_LENGTHS.includes(value.length)) return Buffer.from(value);
  let inner: Buffer;
  try {
    inner = decodeOctetString(parseDer(value), 'hwID');
  } catch (cause) {
    throw bad('hwID', `neither 64/8 raw bytes nor a DER OCTET STRING (${value.length} bytes)`, cause);
  }
  if (!HWID_LENGTHS.includes(inner.length))
    throw bad('hwID', `OCTET STRING holds ${inner.length} bytes, expected 64 or 8`);
  return Buffer.from(inner);
}

/** Decodes the KDS extensions of a VCEK or VLEK. Unknown extensions under the arc are ignored. */
export function decodeKdsExtensions(cert: CertificateInput): KdsExtensions {
  const out: Record<string, unknown> = {};
  for (const ext of getExtensions(cert)) {
    const name = (Object.keys(KDS_OIDS) as (keyof typeof KDS_OIDS)[]).find((k) => KDS_OIDS[k] === ext.oid);
    if (name === undefined) continue;
    try {
      if (name === 'hwId') out[name] = decodeHwId(ext.value);
      else if (name === 'productName' || name === 'cspId')
        out[name] = decodeStringOf(parseDer(ext.value), 'ia5', name);
      else if (name === 'structVersion')
        out[name] = decodeSmallInteger(parseDer(ext.value), 0, 0x7fff_ffff, name);
      else out[name] = decodeSmallInteger(parseDer(ext.value), 0, 255, name);
    } catch (err) {
      if (err instanceof Asn1Error) throw bad(name, err.message, err);
      throw err;
    }
  }
  if (out['hwId'] !== undefined && out['cspId'] !== undefined) {
    throw bad('hwID/csp_id', 'a certificate must not carry both (VCEK has hwID, VLEK has csp_id)');
  }
  return out as KdsExtensions;
}

export interface EncodeKdsOptions {
  /** `raw` as AMD's KDS and Azure THIM serve it (default), or a tagged `octet-string`. */
  readonly hwIdEncoding?: 'octet-string' | 'raw';
}

/** Milan and Genoa VCEKs (structVersion 0): the SPLs in OID order with snpSPL after spl_4–7. */
const MILAN_ORDER: readonly SplName[] = [
  'blSpl',
  'teeSpl',
  'spl4',
  'spl5',
  'spl6',
  'spl7',
  'snpSpl',
  'ucodeSpl',
];
/** Turin VCEKs (structVersion 1): fmcSPL first, then the SPLs in TCB byte order (virtee's Turin VCEK). */
const TURIN_ORDER: readonly SplName[] = [
  'fmcSpl',
  'blSpl',
  'teeSpl',
  'snpSpl',
  'spl4',
  'spl5',
  'spl6',
  'spl7',
  'ucodeSpl',
];

/**
 * The KDS extensions as certificate extensions, in the order AMD writes them: a set with fmcSPL in
 * the Turin order, any other in the Milan/Genoa order.
 */
export function encodeKdsExtensions(ext: KdsExtensions, options: EncodeKdsOptions = {}): CustomExtension[] {
  if (ext.hwId !== undefined && ext.cspId !== undefined) {
    throw bad('hwID/csp_id', 'a certificate must not carry both');
  }
  const out: CustomExtension[] = [];
  const add = (oid: string, value: Buffer): void => {
    out.push({ oid, critical: false, value });
  };
  try {
    if (ext.structVersion !== undefined) add(KDS_OIDS.structVersion, integer(ext.structVersion));
    if (ext.productName !== undefined) add(KDS_OIDS.productName, ia5String(ext.productName));
    for (const name of ext.fmcSpl === undefined ? MILAN_ORDER : TURIN_ORDER) {
      const v = ext[name];
      if (v === undefined) continue;
      if (!Number.isInteger(v) || v < 0 || v > 255) throw bad(name, `${v} is not 0–255`);
      add(KDS_OIDS[name], integer(v));
    }
    if (ext.hwId !== undefined) {
      if (!HWID_LENGTHS.includes(ext.hwId.length))
        throw bad('hwID', `must be 64 or 8 bytes, got ${ext.hwId.length}`);
      add(
        KDS_OIDS.hwId,
        options.hwIdEncoding === 'octet-string' ? octetString(ext.hwId) : Buffer.from(ext.hwId),
      );
    }
    if (ext.cspId !== undefined) add(KDS_OIDS.cspId, ia5String(ext.cspId));
  } catch (err) {
    if (err instanceof Asn1Error) throw bad('encoding', err.message, err);
    throw err;
  }
  return out;
}
