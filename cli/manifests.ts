import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { SecureKeyError } from '../core/errors.ts';

export type ManifestErrorKind =
  /** A file that cannot be read, or text that is not YAML/JSON. */
  | 'bad-file'
  /** A manifest missing a field, or with a field of the wrong type. */
  | 'bad-manifest'
  /** A workload names a SecureKey that is not among the manifests. */
  | 'unknown-securekey'
  /** The workload cannot get the agent (a bad annotation, a conflict); the message says why. */
  | 'cannot-inject';

/** A manifest the CLI cannot use. The message starts with the file and the manifest it is about. */
export class ManifestError extends SecureKeyError<ManifestErrorKind> {}

export interface LoadedManifest {
  source: string;
  doc: unknown;
}

function filesUnder(p: string): string[] {
  if (p === '-') return [p];
  const st = statSync(p);
  if (!st.isDirectory()) return [p];
  return readdirSync(p)
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .sort()
    .map((f) => path.join(p, f));
}

/** Reads every YAML/JSON document from files, directories (one level) or `-` (stdin). */
export function loadManifests(paths: string[]): LoadedManifest[] {
  const out: LoadedManifest[] = [];
  for (const file of paths.flatMap(filesUnder)) {
    const text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length > 0) {
        throw new ManifestError('bad-file', `${file}: ${doc.errors[0]?.message ?? 'YAML error'}`);
      }
      let value: unknown;
      try {
        value = doc.toJS();
      } catch (err) {
        // The parser reports syntax only; an alias without its anchor fails here (a ReferenceError).
        throw new ManifestError('bad-file', `${file}: ${(err as Error).message}`, { cause: err });
      }
      if (value !== null && value !== undefined) out.push({ source: file, doc: value });
    }
  }
  return out;
}
