/**
 * One key release: `releaseKey` (the agent's REST call, edge/azure/key-release.ts, or the SDK's
 * `KeyClient` in the node agent) with the attestation token as `target`, a fresh nonce and
 * the configured wrap algorithm, then the response verified (core/release/verify-release.ts) before anyone may
 * unwrap it. A refusal becomes an AgentError that says which of the usual causes it is: the pod's
 * digest not (yet) in the key's release policy, or an identity without the release permission.
 */
import crypto, { type X509Certificate } from 'node:crypto';
import { isErrorOf } from '../../core/errors.ts';
import type { KeyHsmEnc } from '../../core/keywrap/key-hsm.ts';
import type { KeyReleaser } from '../../edge/azure/key-release.ts';
import { HttpError } from '../../edge/http/client.ts';
import type { KeySpec } from '../config.ts';
import { AgentError } from '../errors.ts';
import { sleep } from '../retry.ts';
import {
  ReleaseVerifyError,
  verifyRelease,
  type VerifiedRelease,
} from '../../core/release/verify-release.ts';

/** What every release of one run shares. */
export interface ReleaseContext {
  enc: KeyHsmEnc;
  trustRoots: readonly X509Certificate[];
  /** The pod's HOST_DATA (hex), for messages. */
  hostData: string;
  /** The identity's name for messages: its client id, or how a managed identity is known (identityName). */
  clientId: string;
  /** Keep retrying a release refused by the policy until this time (epoch ms); 0 = no retry. */
  admissionDeadline: number;
  signal?: AbortSignal;
  now: () => Date;
}

/**
 * Releases `key` from its vault through `client`, with `token` (the attestation token of the key's
 * authority) as the target.
 */
export async function releaseKey(
  key: KeySpec,
  client: KeyReleaser,
  token: string,
  c: ReleaseContext,
): Promise<VerifiedRelease> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await releaseOnce(key, client, token, c);
    } catch (err) {
      const waiting = err instanceof AgentError && err.kind === 'digest-not-admitted';
      if (!waiting || Date.now() + 2_000 > c.admissionDeadline) throw err;
      // The operator adds a new pod's digest when it sees the pod; give it a moment.
      await sleep(Math.min(1_000 * attempt, 5_000));
    }
  }
}

async function releaseOnce(
  key: KeySpec,
  client: KeyReleaser,
  token: string,
  c: ReleaseContext,
): Promise<VerifiedRelease> {
  const nonce = crypto.randomBytes(16).toString('base64url');
  const endpoint = `${key.vaultUrl}/keys/${key.name}${key.version ? `/${key.version}` : ''}/release`;
  let jws: string;
  try {
    const result = await client.releaseKey(key.name, token, {
      nonce,
      algorithm: c.enc,
      ...(key.version === undefined ? {} : { version: key.version }),
      ...(c.signal === undefined ? {} : { abortSignal: c.signal }),
    });
    jws = result.value;
  } catch (err) {
    throw refusal(err, key, endpoint, c);
  }
  try {
    return await verifyRelease(jws, {
      trustRoots: c.trustRoots,
      vaultHost: new URL(key.vaultUrl).hostname,
      keyName: key.name,
      ...(key.version === undefined ? {} : { keyVersion: key.version }),
      nonce,
      now: c.now(),
    });
  } catch (err) {
    if (!(err instanceof ReleaseVerifyError)) throw err;
    throw new AgentError(
      'release-unverified',
      `the release response for key ${key.name} was refused: ${err.message}`,
      {
        step: 'release',
        endpoint,
        key: key.alias,
        cause: err,
        ...(err.hint === undefined ? {} : { hint: err.hint }),
      },
    );
  }
}

/** Messages the vault uses when the caller lacks the permission (Key Vault RBAC, Managed HSM local RBAC). */
const PERMISSION_DENIED =
  /does not have permission|not authori[sz]ed|ForbiddenByRbac|AccessDenied|Caller is not/i;

function refusal(err: unknown, key: KeySpec, endpoint: string, c: ReleaseContext): AgentError {
  const e = err as { statusCode?: unknown; code?: unknown; message?: unknown; name?: unknown };
  const status = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  const said = short(typeof e.message === 'string' ? e.message : String(err));
  const base = { step: 'release' as const, endpoint, key: key.alias, cause: err };
  if (isErrorOf(err, HttpError, 'retry-after-deadline')) {
    return new AgentError('deadline-exceeded', `the release of key ${key.name}: ${err.message}`, {
      ...base,
      ...(err.hint === undefined ? {} : { hint: err.hint }),
    });
  }
  if (status === 403 && !PERMISSION_DENIED.test(said)) {
    return new AgentError(
      'digest-not-admitted',
      `digest ${c.hostData} not admitted by the release policy of key ${key.name} (yet?): the vault answered 403: ${said}`,
      {
        ...base,
        hint: 'the operator adds a pod’s digest when it sees the pod; if this persists, check that the SecureKey selects this pod and uses its policy scheme',
      },
    );
  }
  if (status === 403 || status === 401) {
    return new AgentError(
      'identity-not-allowed',
      `identity ${c.clientId} is not allowed to release key ${key.name}: the vault answered ${status}: ${said}`,
      {
        ...base,
        hint: 'assign the "Crypto Service Release User" role to the pod’s identity (workload or managed) on this vault',
      },
    );
  }
  if (status === 404) {
    return new AgentError(
      'key-not-found',
      `the vault has no key ${key.name}${key.version ? ` version ${key.version}` : ''}`,
      {
        ...base,
        hint: 'is the SecureKey Ready? Its status names the vault key',
      },
    );
  }
  if (
    e.name === 'AbortError' ||
    isErrorOf(err, HttpError, 'aborted') ||
    isErrorOf(err, HttpError, 'timeout') ||
    isErrorOf(err, HttpError, 'deadline-passed')
  ) {
    return new AgentError(
      'deadline-exceeded',
      `the release of key ${key.name} did not finish before the deadline`,
      base,
    );
  }
  if (e.name === 'AuthenticationError' || e.name === 'CredentialUnavailableError') {
    return new AgentError('identity-not-allowed', `the identity could not get a token: ${said}`, {
      ...base,
      hint: 'workload identity: check AZURE_CLIENT_ID, AZURE_TENANT_ID and the federated credential for this service account; managed identity: check the identity assigned to the container group',
    });
  }
  return new AgentError(
    'release-failed',
    `the release of key ${key.name} failed${status === undefined ? '' : ` with ${status}`}: ${said}`,
    base,
  );
}

/** The vault's message, one line, bounded (it quotes claims; no key material is ever in it). */
function short(message: string): string {
  const line = message.replace(/\s+/g, ' ').trim();
  return line.length > 600 ? `${line.slice(0, 600)}…` : line;
}
