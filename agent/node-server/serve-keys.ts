/**
 * `POST /v1/keys` (ADR 14) without the HTTP: authenticate the token, check its pod, admit every
 * SecureKey asked for, then hand out the released keys. All keys or none: the first refusal answers for
 * the request. Kubernetes API and key-source failures become retryable answers (429/503) or a 500.
 */
import { isErrorOf } from '../../core/errors.ts';
import { ALIAS, NAME } from '../../core/inject/requests.ts';
import type { PodAdmission } from '../../core/workload/index.ts';
import { KubeApiError } from '../../edge/kube/errors.ts';
import {
  admitKey,
  callerOf,
  checkPod,
  NodeServerError,
  type AdmitContext,
  type Caller,
} from './authorise.ts';
import { KeySourceError, type KeyRef } from './key-source.ts';
import type { NodeKube } from './node-kube.ts';
import type { ReleasedKeys } from './released-keys.ts';

/** At most this many keys per request: a pod names a handful. */
export const MAX_KEYS_PER_REQUEST = 32;

export interface KeyRequest {
  alias: string;
  secureKey: string;
}

export interface ServedKey {
  alias: string;
  kid: string;
  kty: string;
  /** base64 of the vault's release plaintext. */
  plaintext: string;
  keyOps: string[];
}

export interface ServeDeps {
  kube: NodeKube;
  keys: ReleasedKeys;
  nodeName: string;
  admission: PodAdmission;
  now?: () => Date;
  verify?: AdmitContext['verify'];
}

const bad = (message: string) => new NodeServerError('bad-request', message);

/** The request body, checked: `{"keys":[{"alias","secureKey"}, …]}`, 1 to 32, aliases unique. */
export function parseKeyRequests(body: unknown): KeyRequest[] {
  const keys = (typeof body === 'object' && body !== null ? body : {}) as { keys?: unknown };
  if (!Array.isArray(keys.keys) || keys.keys.length === 0 || keys.keys.length > MAX_KEYS_PER_REQUEST) {
    throw bad(`the body must be {"keys":[{"alias","secureKey"}]} with 1 to ${MAX_KEYS_PER_REQUEST} keys`);
  }
  const seen = new Set<string>();
  return keys.keys.map((k: unknown, i) => {
    const { alias, secureKey } = (typeof k === 'object' && k !== null ? k : {}) as Record<string, unknown>;
    if (typeof alias !== 'string' || !ALIAS.test(alias)) throw bad(`keys[${i}].alias must be a DNS label`);
    if (typeof secureKey !== 'string' || !NAME.test(secureKey)) {
      throw bad(`keys[${i}].secureKey must be a SecureKey name`);
    }
    if (seen.has(alias)) throw bad(`alias ${alias} is asked for twice`);
    seen.add(alias);
    return { alias, secureKey };
  });
}

/** Who asks and what they get, for the caller's log line. */
export interface Served {
  caller: Caller;
  keys: ServedKey[];
  refs: KeyRef[];
}

export async function serveKeys(
  token: string | undefined,
  requests: readonly KeyRequest[],
  deps: ServeDeps,
): Promise<Served> {
  if (token === undefined || token === '') {
    throw new NodeServerError('unauthenticated', 'no bearer token (Authorization: Bearer <pod token>)');
  }
  const caller = callerOf(await kubeCall('TokenReview', () => deps.kube.review(token)));
  const pod = checkPod(
    await kubeCall('reading the pod', () => deps.kube.pod(caller.namespace, caller.podName)),
    caller,
    deps.nodeName,
  );
  const ctx: AdmitContext = {
    admission: deps.admission,
    now: (deps.now ?? (() => new Date()))(),
    ...(deps.verify ? { verify: deps.verify } : {}),
  };
  // Only ever the pod's own namespace: a name never reaches another one.
  const names = [...new Set(requests.map((r) => r.secureKey))];
  const refs = new Map<string, KeyRef & { version: string }>();
  for (const name of names) {
    const secureKey = await kubeCall('reading the SecureKey', () =>
      deps.kube.secureKey(caller.namespace, name),
    );
    refs.set(name, await admitKey(secureKey, name, pod, ctx));
  }
  const released = await Promise.all(
    names.map(async (name) => [name, await releaseOf(deps.keys, refs.get(name)!)] as const),
  );
  const byName = new Map(released);
  return {
    caller,
    refs: [...refs.values()],
    keys: requests.map((r) => {
      const k = byName.get(r.secureKey)!;
      return {
        alias: r.alias,
        kid: k.kid,
        kty: k.kty,
        plaintext: k.plaintext.toString('base64'),
        keyOps: k.keyOps,
      };
    }),
  };
}

async function kubeCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (!(err instanceof KubeApiError)) throw err;
    // The node agent's own access failing is not the pod's fault: retryable for the pod.
    throw new NodeServerError('unavailable', `${what} failed: ${err.message}`, {
      retryAfterS: 2,
      cause: err,
    });
  }
}

async function releaseOf(keys: ReleasedKeys, ref: KeyRef & { version: string }) {
  try {
    return await keys.get(ref);
  } catch (err) {
    if (isErrorOf(err, KeySourceError, 'throttled')) {
      const after = err.retryAt ? Math.ceil((err.retryAt.getTime() - Date.now()) / 1000) : 1;
      throw new NodeServerError('throttled', err.message, { retryAfterS: Math.max(1, after), cause: err });
    }
    if (isErrorOf(err, KeySourceError, 'unavailable')) {
      throw new NodeServerError('unavailable', err.message, { retryAfterS: 2, cause: err });
    }
    if (err instanceof KeySourceError) {
      throw new NodeServerError('release-refused', err.message, { cause: err });
    }
    throw err;
  }
}
