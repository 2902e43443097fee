import { InjectError } from './errors.ts';
import {
  CONTAINERS_ANNOTATION,
  FORMAT_ANNOTATION_PREFIX,
  KEY_ANNOTATION_PREFIX,
  KEY_FORMATS,
  PATH_ANNOTATION_PREFIX,
  type KeyFormat,
} from './annotations.ts';

/** One key a pod asks for. */
export interface KeyRequest {
  alias: string;
  /** Name of the SecureKey (same namespace) that holds it. */
  secureKey: string;
  format: KeyFormat;
  /** File name under /run/securekey. */
  file: string;
}

/** A key alias: a DNS label. */
export const ALIAS = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** A key file under /run/securekey: a plain name, no "/". */
export const FILE = /^[A-Za-z0-9._-]{1,253}$/;
/** A SecureKey (object) name. */
export const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** The keys a pod's annotations ask for, sorted by alias; InjectError names the annotation at fault. */
export function keyRequests(annotations: Readonly<Record<string, string>> | undefined): KeyRequest[] {
  const a = annotations ?? {};
  const out: KeyRequest[] = [];
  const files = new Map<string, string>();
  for (const [name, value] of Object.entries(a)) {
    if (!name.startsWith(KEY_ANNOTATION_PREFIX)) continue;
    const alias = name.slice(KEY_ANNOTATION_PREFIX.length);
    if (!ALIAS.test(alias)) {
      throw new InjectError(
        'bad-annotation',
        `annotation ${name}: alias ${JSON.stringify(alias)} must be a DNS label`,
      );
    }
    const secureKey = value.trim();
    if (!NAME.test(secureKey)) {
      throw new InjectError(
        'bad-annotation',
        `annotation ${name}: ${JSON.stringify(value)} is not a SecureKey name`,
      );
    }
    const format = (a[`${FORMAT_ANNOTATION_PREFIX}${alias}`] ?? 'raw').trim();
    if (!(KEY_FORMATS as readonly string[]).includes(format)) {
      throw new InjectError(
        'bad-annotation',
        `annotation ${FORMAT_ANNOTATION_PREFIX}${alias}: ${JSON.stringify(format)} is not one of ${KEY_FORMATS.join(', ')}`,
      );
    }
    const file = (a[`${PATH_ANNOTATION_PREFIX}${alias}`] ?? alias).trim();
    if (!FILE.test(file) || file === '.' || file === '..') {
      throw new InjectError(
        'bad-annotation',
        `annotation ${PATH_ANNOTATION_PREFIX}${alias}: ${JSON.stringify(file)} must be a plain file name (no "/")`,
      );
    }
    const clash = files.get(file);
    if (clash !== undefined) {
      throw new InjectError('bad-annotation', `keys ${clash} and ${alias} would both be written to ${file}`);
    }
    files.set(file, alias);
    out.push({ alias, secureKey, format: format as KeyFormat, file });
  }
  return out.sort((x, y) => (x.alias < y.alias ? -1 : 1));
}

/** Containers that get the keys volume: the annotation's list, or every container. */
export function targetContainers(
  annotations: Readonly<Record<string, string>> | undefined,
  all: string[],
): string[] {
  const raw = annotations?.[CONTAINERS_ANNOTATION];
  if (raw === undefined || raw.trim() === '') return all;
  const wanted = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const unknown = wanted.filter((w) => !all.includes(w));
  if (unknown.length > 0) {
    throw new InjectError(
      'bad-annotation',
      `annotation ${CONTAINERS_ANNOTATION}: no container named ${unknown.join(', ')} (containers: ${all.join(', ')})`,
    );
  }
  return wanted;
}
