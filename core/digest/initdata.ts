import { DigestError } from './errors.ts';

/** Initdata versions and digest algorithms the Kata/CoCo runtime accepts (kata-types initdata). */
export const INITDATA_VERSION = '0.1.0';
export const INITDATA_ALGORITHMS = ['sha256', 'sha384', 'sha512'] as const;
export type InitdataAlgorithm = (typeof INITDATA_ALGORITHMS)[number];

export interface InitdataHeader {
  version: string;
  algorithm: InitdataAlgorithm;
}

const TOP_LEVEL =
  /^(?:"(version|algorithm)"|'(version|algorithm)'|(version|algorithm))\s*=\s*(?:"([^"\\]*)"|'([^']*)')\s*(?:#.*)?$/;

/**
 * The top level of an initdata document (what comes before its first table) may take this many bytes.
 * Real headers are two lines; the `[data]` table after them runs to megabytes and is never read here.
 */
export const MAX_INITDATA_HEADER_BYTES = 4096;

/**
 * Reads `version` and `algorithm` from the top level of an initdata TOML document. Only these two
 * keys decide the digest; the `[data]` table is hashed as bytes, never interpreted, so a full TOML
 * parser is not needed (and would tempt us to hash a re-serialisation instead of the bytes). Only the
 * first MAX_INITDATA_HEADER_BYTES are decoded and split: a document whose top level runs past them is
 * refused, so an annotation cannot make the operator split megabytes into lines.
 */
export function readInitdataHeader(doc: Uint8Array, annotation: string): InitdataHeader {
  const head = new TextDecoder('utf-8').decode(doc.subarray(0, MAX_INITDATA_HEADER_BYTES));
  const found: Record<string, string> = {};
  let ended = doc.length <= MAX_INITDATA_HEADER_BYTES;
  const lines = head.split(/\r?\n/);
  // A line cut by the cap is not read: the header must have ended before it.
  if (!ended) lines.pop();
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('[')) {
      ended = true;
      break;
    }
    const m = TOP_LEVEL.exec(line);
    if (!m) continue;
    const key = (m[1] ?? m[2] ?? m[3]) as string;
    if (key in found) {
      throw new DigestError('bad-initdata', annotation, `initdata TOML defines "${key}" twice`);
    }
    found[key] = (m[4] ?? m[5]) as string;
  }
  if (!ended) {
    throw new DigestError(
      'initdata-header-too-large',
      annotation,
      `initdata TOML has more than ${MAX_INITDATA_HEADER_BYTES} bytes before its first table`,
      'initdata starts with version and algorithm, then the [data] table',
    );
  }
  const { version, algorithm } = found;
  if (version === undefined || algorithm === undefined) {
    const missing = [version === undefined ? 'version' : '', algorithm === undefined ? 'algorithm' : '']
      .filter(Boolean)
      .join(' and ');
    throw new DigestError(
      'bad-initdata',
      annotation,
      `initdata TOML has no top-level ${missing}`,
      'initdata starts with version = "0.1.0" and algorithm = "sha256" | "sha384" | "sha512"',
    );
  }
  if (version !== INITDATA_VERSION) {
    throw new DigestError(
      'unsupported-initdata-version',
      annotation,
      `initdata version ${JSON.stringify(version)} is not supported (expected "${INITDATA_VERSION}")`,
    );
  }
  if (!(INITDATA_ALGORITHMS as readonly string[]).includes(algorithm)) {
    throw new DigestError(
      'unsupported-initdata-algorithm',
      annotation,
      `initdata algorithm ${JSON.stringify(algorithm)} is not one of ${INITDATA_ALGORITHMS.join(', ')}`,
    );
  }
  return { version, algorithm: algorithm as InitdataAlgorithm };
}
