/**
 * The sink: each key written atomically to its file in its configured format — mode 0400, or 0440 when
 * the app reads it through the files' group (ADR 21) — then the readiness marker that tells the pod
 * (and a readiness probe) that every key is in place. The formatted bytes are wiped after writing; the
 * marker lists aliases, files and key ids, no material.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { KeyFileMode } from '../../core/inject/agent-contract.ts';
import { KeyMaterialError } from '../../core/keys/errors.ts';
import { formatKeyMaterial } from '../../core/keys/output-formats.ts';
import type { KeyFormat } from '../../core/keys/output-formats.ts';
import { AgentError } from '../errors.ts';
import type { UnwrappedKey } from '../unwrap.ts';

/** What the sink needs of a key: where and how to write it, and the material (pod and node mode alike). */
export type SinkKey = Pick<UnwrappedKey, 'material' | 'keyOps' | 'kid'> & {
  spec: Pick<UnwrappedKey['spec'], 'alias' | 'path' | 'format'>;
};
import { writeFileAtomic } from '../../edge/files/atomic-file.ts';

export const READY_FILE_MODE = 0o444;

export interface WrittenKey {
  alias: string;
  path: string;
  format: KeyFormat;
  kty: string;
  /** The released key version's id. */
  kid: string;
}

export interface SinkOptions {
  owner?: { uid: number; gid: number };
  /**
   * The key files' mode, 0400 by default. With 0440 the files' group is the one they are created with:
   * the agent's primary group, which the injector sets to the pod's fsGroup or the app's runAsGroup, or
   * the directory's when it is setgid (the kubelet's emptyDir with an fsGroup). No chown, no CAP_CHOWN.
   */
  fileMode?: KeyFileMode;
}

/** Every key (concurrently, each atomically), then the readiness marker. */
export async function writeKeys(
  keys: readonly SinkKey[],
  o: SinkOptions & { readyFile: string },
): Promise<WrittenKey[]> {
  const dirs = new Set([path.dirname(o.readyFile), ...keys.map((k) => path.dirname(k.spec.path))]);
  for (const dir of dirs) await makeDirectory(dir);
  const owner = o.owner === undefined ? {} : { owner: o.owner };
  const fileMode = o.fileMode === undefined ? {} : { fileMode: o.fileMode };
  const written = await Promise.all(keys.map((key) => writeKey(key, { ...owner, ...fileMode })));
  await writeReadyMarker(o.readyFile, written, owner);
  return written;
}

export async function writeKey(key: SinkKey, o: SinkOptions = {}): Promise<WrittenKey> {
  const { spec } = key;
  let bytes: Buffer;
  try {
    bytes = formatKeyMaterial(key.material, spec.format, { keyOps: key.keyOps });
  } catch (err) {
    if (!(err instanceof KeyMaterialError)) throw err;
    throw new AgentError(
      'write-failed',
      `key ${spec.alias} cannot be written as ${spec.format}: ${err.message}`,
      {
        step: 'write',
        key: spec.alias,
        endpoint: spec.path,
        cause: err,
        ...(err.hint === undefined ? {} : { hint: err.hint }),
      },
    );
  }
  try {
    await writeFileAtomic(spec.path, bytes, {
      mode: Number.parseInt(o.fileMode ?? '0400', 8),
      ...(o.owner ? { owner: o.owner } : {}),
    });
  } catch (err) {
    throw new AgentError(
      'write-failed',
      `key ${spec.alias} could not be written (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      {
        step: 'write',
        key: spec.alias,
        endpoint: spec.path,
        cause: err,
        hint: 'the output directory must be a writable tmpfs volume (emptyDir medium: Memory)',
      },
    );
  } finally {
    bytes.fill(0);
  }
  return { alias: spec.alias, path: spec.path, format: spec.format, kty: key.material.kty, kid: key.kid };
}

export async function writeReadyMarker(
  file: string,
  keys: readonly WrittenKey[],
  o: SinkOptions = {},
): Promise<void> {
  const marker = {
    ready: true,
    writtenAt: new Date().toISOString(),
    keys: keys.map((k) => ({ alias: k.alias, path: k.path, format: k.format, kid: k.kid })),
  };
  try {
    await writeFileAtomic(file, Buffer.from(`${JSON.stringify(marker)}\n`), {
      mode: READY_FILE_MODE,
      ...(o.owner ? { owner: o.owner } : {}),
    });
  } catch (err) {
    throw new AgentError(
      'write-failed',
      `the readiness marker could not be written (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      { step: 'write', endpoint: file, cause: err },
    );
  }
}

async function makeDirectory(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o755 });
  } catch (err) {
    throw new AgentError(
      'write-failed',
      `cannot create ${dir} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      {
        step: 'write',
        endpoint: dir,
        cause: err,
      },
    );
  }
}
