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
 * Reads `version` and `algorithm` from the top level of an initdata TOML document. Only these two
 * keys decide the digest; the `[data]` table is hashed as bytes, never interpreted, so a full TOML
 * parser is not needed (and would tempt us to hash a re-serialisation instead of the bytes).
 */
export function readInitdataHeader(toml: string, annotation: string): InitdataHeader {
  const found: Record<string, string> = {};
  for (const raw of toml.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('[')) break;
    const m = TOP_LEVEL.exec(line);
    if (!m) continue;
    const key = (m[1] ?? m[2] ?? m[3]) as string;
    if (key in found) {
      throw new DigestError('bad-initdata', annotation, `initdata TOML defines "${key}" twice`);
    }
    found[key] = (m[4] ?? m[5]) as string;
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
