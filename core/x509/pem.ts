/** PEM armour (RFC 7468) for certificates: split bundles, wrap DER. */
import { X509Certificate } from 'node:crypto';
import { readTlv, UNIVERSAL, type Tlv } from '../asn1/index.ts';
import { X509Error } from './errors.ts';

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** A PEM block's label and DER contents. */
export interface PemBlock {
  readonly label: string;
  readonly der: Buffer;
}

/** Every PEM block in `text`, in order. Text between blocks is ignored, as RFC 7468 allows. */
export function parsePemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const [, begin, body, end] = m as unknown as [string, string, string, string];
    if (begin !== end) throw new X509Error('bad-pem', `PEM block "BEGIN ${begin}" ends with "END ${end}"`);
    const b64 = body.replace(/\s+/g, '');
    if (b64.length === 0 || b64.length % 4 !== 0 || !BASE64.test(b64)) {
      throw new X509Error('bad-pem', `PEM block "${begin}" is not valid base64`);
    }
    blocks.push({ label: begin, der: Buffer.from(b64, 'base64') });
  }
  return blocks;
}

/**
 * The DER of each CERTIFICATE block in a bundle, in order. Any other block (a key, a CRL) is an
 * error: a certificate bundle that carries something else is not what the caller thinks it is.
 */
export function splitPemCertificates(text: string): Buffer[] {
  return parsePemBlocks(text).map((b) => {
    if (b.label !== 'CERTIFICATE') {
      throw new X509Error('bad-pem', `expected only CERTIFICATE blocks, found "${b.label}"`);
    }
    return b.der;
  });
}

/** `splitPemCertificates`, parsed by node:crypto. */
export function parsePemCertificates(text: string): X509Certificate[] {
  return splitPemCertificates(text).map((der, i) => {
    try {
      return new X509Certificate(der);
    } catch (cause) {
      throw new X509Error('bad-certificate', `certificate ${i} in the PEM bundle does not parse`, { cause });
    }
  });
}

/**
 * The DER of each certificate in a file that holds either PEM blocks or DER certificates one after
 * another (AMD's KDS serves a VCEK as DER, its ASK/ARK bundle as PEM). A DER certificate is one
 * SEQUENCE with a definite length; anything else, or trailing bytes, is an error naming the offset.
 */
export function certificatesFromBytes(bytes: Uint8Array): Buffer[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = buf.toString('latin1');
  if (text.includes('-----BEGIN ')) return splitPemCertificates(text);
  const certs: Buffer[] = [];
  for (let at = 0; at < buf.length;) {
    let tlv: Tlv;
    try {
      tlv = readTlv(buf, at);
    } catch (cause) {
      throw new X509Error(
        'bad-certificate',
        `not PEM, and not DER at byte ${at}: ${(cause as Error).message}`,
        {
          cause,
        },
      );
    }
    if (tlv.tagClass !== 'universal' || tlv.tagNumber !== UNIVERSAL.SEQUENCE) {
      throw new X509Error('bad-certificate', `not PEM, and not DER at byte ${at}: expected a SEQUENCE`);
    }
    certs.push(Buffer.from(tlv.raw));
    at += tlv.raw.length;
  }
  return certs;
}

/** DER wrapped as PEM with 64-character lines and a trailing newline. */
export function toPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/**
 * A trust anchor as PEM text that goes into a pod spec or an environment: certificates and nothing else
 * (a pasted bundle holding a private key must never travel with it). Returns why not, or undefined.
 */
export function certificatesOnlyProblem(text: string): string | undefined {
  let blocks: PemBlock[];
  try {
    blocks = parsePemBlocks(text);
  } catch (err) {
    return (err as Error).message;
  }
  if (blocks.length === 0) return 'holds no PEM certificate';
  const other = blocks.find((b) => b.label !== 'CERTIFICATE');
  if (other) return `holds a ${other.label} block; only certificates may be given`;
  try {
    parsePemCertificates(text);
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}
