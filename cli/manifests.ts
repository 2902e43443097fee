import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

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
        throw new Error(`${file}: ${doc.errors[0]?.message ?? 'YAML error'}`);
      }
      const value: unknown = doc.toJS();
      if (value !== null && value !== undefined) out.push({ source: file, doc: value });
    }
  }
  return out;
}
