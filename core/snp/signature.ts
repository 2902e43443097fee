/**
 * The report signature's encodings. AMD stores r and s little-endian, zero-extended to 72 bytes each
 * (a P-384 scalar is 48); Node signs and verifies either DER `SEQUENCE { r, s }` or IEEE P1363 r‖s
 * (48 + 48 bytes, big-endian). Conversions check that each value is a valid P-384 scalar.
 */
import crypto, { type KeyObject } from 'node:crypto';
import {
  Asn1Error,
  children,
  decodeInteger,
  expectUniversal,
  parseDer,
  sequence,
  unsignedInteger,
  UNIVERSAL,
} from '../asn1/index.ts';
import { SnpFormatError } from './errors.ts';
import { OFFSET, REPORT_SIZE, SIGNED_LENGTH, SIZE } from './layout.ts';
import type { ReportSignature } from './report.ts';

/** The order n of the P-384 base point: r and s must lie in [1, n−1]. */
export const P384_ORDER =
  0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n;
const SCALAR = 48;

function checkScalar(name: string, v: bigint): void {
  if (v < 1n || v >= P384_ORDER) {
    throw new SnpFormatError('bad-signature-encoding', `signature ${name} is not in [1, n-1] for P-384`);
  }
}

const toBigint = (be: Uint8Array): bigint => BigInt(`0x${Buffer.from(be).toString('hex') || '0'}`);
const toBytes = (v: bigint): Buffer => Buffer.from(v.toString(16).padStart(SCALAR * 2, '0'), 'hex');

/** One AMD little-endian component to a big-endian 48-byte scalar. */
function amdComponent(name: 'r' | 's', le: Uint8Array): Buffer {
  if (le.length !== SIZE.SIGNATURE_COMPONENT) {
    throw new SnpFormatError(
      'bad-signature-encoding',
      `signature ${name} must be 72 bytes, got ${le.length}`,
    );
  }
  const offset = name === 'r' ? OFFSET.SIGNATURE_R : OFFSET.SIGNATURE_S;
  for (let i = SCALAR; i < SIZE.SIGNATURE_COMPONENT; i++) {
    if (le[i] !== 0) {
      throw new SnpFormatError(
        'bad-signature-encoding',
        `signature ${name} byte ${i} (report offset 0x${(offset + i).toString(16)}) must be zero: a P-384 scalar has 48 bytes`,
        { offset: offset + i },
      );
    }
  }
  const be = Buffer.from(le.subarray(0, SCALAR)).reverse();
  checkScalar(name, toBigint(be));
  return be;
}

/** r‖s as IEEE P1363 (96 bytes, big-endian), for `crypto.verify(..., { dsaEncoding: 'ieee-p1363' })`. */
export function amdSignatureToP1363(sig: ReportSignature): Buffer {
  return Buffer.concat([amdComponent('r', sig.r), amdComponent('s', sig.s)]);
}

/** `SEQUENCE { INTEGER r, INTEGER s }`, the X.509 / Node default ECDSA form. */
export function amdSignatureToDer(sig: ReportSignature): Buffer {
  return sequence(unsignedInteger(amdComponent('r', sig.r)), unsignedInteger(amdComponent('s', sig.s)));
}

function toAmd(r: bigint, s: bigint): ReportSignature {
  checkScalar('r', r);
  checkScalar('s', s);
  const le = (v: bigint): Buffer => {
    const out = Buffer.alloc(SIZE.SIGNATURE_COMPONENT);
    toBytes(v).reverse().copy(out);
    return out;
  };
  return { r: le(r), s: le(s) };
}

export function p1363ToAmdSignature(p1363: Uint8Array): ReportSignature {
  if (p1363.length !== 2 * SCALAR) {
    throw new SnpFormatError(
      'bad-signature-encoding',
      `P1363 P-384 signature must be 96 bytes, got ${p1363.length}`,
    );
  }
  return toAmd(toBigint(p1363.subarray(0, SCALAR)), toBigint(p1363.subarray(SCALAR)));
}

export function derToAmdSignature(der: Uint8Array): ReportSignature {
  try {
    const [r, s, ...rest] = children(expectUniversal(parseDer(der), UNIVERSAL.SEQUENCE, 'ECDSA-Sig-Value'));
    if (rest.length) throw new SnpFormatError('bad-signature-encoding', 'ECDSA-Sig-Value has extra fields');
    return toAmd(decodeInteger(r, 'r'), decodeInteger(s, 's'));
  } catch (err) {
    if (err instanceof Asn1Error) {
      throw new SnpFormatError('bad-signature-encoding', `ECDSA signature DER: ${err.message}`, {
        cause: err,
      });
    }
    throw err;
  }
}

/** r and s as stored in a serialised report. */
export function readReportSignature(report: Uint8Array): ReportSignature {
  if (report.length !== REPORT_SIZE) {
    throw new SnpFormatError(
      'bad-length',
      `attestation report is ${report.length} bytes, expected ${REPORT_SIZE}`,
    );
  }
  const b = Buffer.from(report);
  return {
    r: b.subarray(OFFSET.SIGNATURE_R, OFFSET.SIGNATURE_R + SIZE.SIGNATURE_COMPONENT),
    s: b.subarray(OFFSET.SIGNATURE_S, OFFSET.SIGNATURE_S + SIZE.SIGNATURE_COMPONENT),
  };
}

function requireP384(key: KeyObject, what: string): void {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'secp384r1') {
    throw new SnpFormatError('bad-field', `${what} must be an EC P-384 key`);
  }
}

/**
 * Signs a serialised report as the AMD secure processor does: ECDSA P-384 / SHA-384 over bytes
 * 0x000–0x29F, r and s written little-endian at 0x2A0 and 0x2E8. Returns a signed copy.
 */
export function signReport(report: Uint8Array, privateKey: KeyObject): Buffer {
  if (report.length !== REPORT_SIZE) {
    throw new SnpFormatError(
      'bad-length',
      `attestation report is ${report.length} bytes, expected ${REPORT_SIZE}`,
    );
  }
  if (privateKey.type !== 'private') throw new SnpFormatError('bad-field', 'signReport needs a private key');
  requireP384(privateKey, 'the report signing key');
  const out = Buffer.from(report);
  const p1363 = crypto.sign('sha384', out.subarray(0, SIGNED_LENGTH), {
    key: privateKey,
    dsaEncoding: 'ieee-p1363',
  });
  const { r, s } = p1363ToAmdSignature(p1363);
  out.fill(0, OFFSET.SIGNATURE, REPORT_SIZE);
  r.copy(out, OFFSET.SIGNATURE_R);
  s.copy(out, OFFSET.SIGNATURE_S);
  return out;
}
