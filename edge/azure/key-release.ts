/**
 * A key release as one REST call (`POST {vault}/keys/{name}[/{version}]/release`) over edge/http, with the
 * Key Vault SDK's wire behaviour: the same api-version and headers, its bearer challenge (a first request
 * without a body and token, the vault's 401 `WWW-Authenticate`, the challenge's resource checked against the
 * vault's host, the token asked for that scope and the tenant the challenge names), its retries (exponential
 * for network errors and 5xx, the vault's Retry-After for 429/503, within the caller's deadline).
 *
 * Why not `KeyClient.releaseKey`: the agent makes this one call per key in a fresh process, and loading the
 * SDK (core-rest-pipeline, and undici for its FormData check) cost more than the call (ADR 53). The operator
 * and the node agent keep the SDK's `KeyClient` (key-client.ts), which satisfies the same `KeyReleaser`.
 *
 * Unlike the SDK, the challenge can be answered before the release is due (`prepare`): the agent does it
 * while the attestation is made, so the release itself is one round trip.
 */
import crypto from 'node:crypto';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import { setTimeout as timerSleep } from 'node:timers/promises';
import {
  endpointOf,
  errorBody,
  httpRequest,
  jsonBody,
  retryAfterDeadline,
  retryAfterMs,
  type HttpResponse,
} from '../http/client.ts';
import { httpsAgent } from '../http/https-agent.ts';
import { SecureKeyError } from '../../core/errors.ts';

/** The SDK's default api-version (@azure/keyvault-keys 4.10.2, `LATEST_API_VERSION`). */
export const KEY_VAULT_API_VERSION = '2025-07-01';

export interface ReleaseKeyOptions {
  version?: string;
  nonce?: string;
  /** `enc`: the wrap algorithm (`CKM_RSA_AES_KEY_WRAP`, `RSA_AES_KEY_WRAP_256`, `RSA_AES_KEY_WRAP_384`). */
  algorithm?: string;
  abortSignal?: AbortSignal;
}

/** What a release needs of a vault client: `KeyClient.releaseKey`'s shape, which the SDK's client also has. */
export interface KeyReleaser {
  releaseKey(
    name: string,
    targetAttestationToken: string,
    options?: ReleaseKeyOptions,
  ): Promise<{ value: string }>;
}

/** The vault's answer was not a release: `statusCode` and the vault's own `code` and message, as the SDK's RestError. */
export class VaultAnswerError extends SecureKeyError<'vault-refused'> {
  readonly statusCode: number;
  readonly code: string | undefined;
  readonly endpoint: string;

  constructor(statusCode: number, message: string, o: { code?: string; endpoint: string }) {
    super('vault-refused', message);
    this.statusCode = statusCode;
    this.code = o.code;
    this.endpoint = o.endpoint;
  }
}

export interface KeyReleaseClientOptions {
  /** `https://<vault>.vault.azure.net`, `https://<hsm>.managedhsm.azure.net`, or a simulated vault. */
  vaultUrl: string;
  credential: TokenCredential;
  /** Trust only this CA (a simulator's); omit for the system roots. */
  caPem?: string;
  /** As the SDK's `retryOptions`; default its defaults (3 retries, 800 ms, at most 60 s). */
  retryOptions?: { maxRetries?: number; retryDelayInMs?: number; maxRetryDelayInMs?: number };
  /** Epoch ms: no request starts and no wait ends past it; a Retry-After past it ends the call at once. */
  deadline: number;
  /** How to wait (tests record the delays). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  serviceVersion?: string;
}

export interface KeyReleaseClient extends KeyReleaser {
  /**
   * Answers the vault's bearer challenge now (the first request, without a body), so that a later
   * `releaseKey` is one request. `key` names the release the challenge is asked on. Never rejects: a
   * failure is the first release's.
   */
  prepare(key: { name: string; version?: string }): Promise<void>;
}

/** Throttled answers one request rides out (each within the deadline), as key-client.ts's policy. */
const MAX_THROTTLED = 5;
/** A vault answer larger than this is refused (a release JWS is a few KiB). */
const MAX_ANSWER_BYTES = 1 << 20;

interface Challenge {
  scope: string;
  tenantId: string | undefined;
}

export function keyReleaseClientFor(o: KeyReleaseClientOptions): KeyReleaseClient {
  const agent = httpsAgent({ caPem: o.caPem });
  const apiVersion = o.serviceVersion ?? KEY_VAULT_API_VERSION;
  const maxRetries = o.retryOptions?.maxRetries ?? 3;
  const retryDelayMs = o.retryOptions?.retryDelayInMs ?? 800;
  const maxRetryDelayMs = o.retryOptions?.maxRetryDelayInMs ?? 60_000;
  const sleep = o.sleep ?? ((ms, signal) => timerSleep(ms, undefined, signal ? { signal } : {}));
  const vaultHost = new URL(o.vaultUrl).hostname;
  /** The answered challenge (or the final answer that was not one); shared by every release of this client. */
  let challenge: Promise<Challenge | Error> | undefined;
  /** The token for the answered challenge, asked for once. */
  let bearer: Promise<string> | undefined;

  const releaseUrl = (name: string, version: string | undefined) =>
    `${o.vaultUrl.replace(/\/+$/, '')}/keys/${encodeURIComponent(name)}${
      version ? `/${encodeURIComponent(version)}` : ''
    }/release?api%2Dversion=${encodeURIComponent(apiVersion)}`;

  /** One request through the retry policies: network errors and 5xx with backoff, 429/503 as Retry-After says. */
  async function send(
    url: string,
    body: string | undefined,
    token: string | undefined,
    signal?: AbortSignal,
  ) {
    const headers: Record<string, string> = {
      accept: 'application/json',
      'content-type': 'application/json',
      'x-ms-client-request-id': crypto.randomUUID(),
      'user-agent': `securekey-agent Node/${process.version} OS/(${process.arch}-${process.platform})`,
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    };
    const request = () =>
      httpRequest(url, {
        method: 'POST',
        headers,
        // The challenge request has no body at all, as the SDK's (no Content-Length of its own).
        ...(body === undefined ? {} : { body }),
        agent,
        deadline: o.deadline,
        timeoutMs: Math.max(1, o.deadline - Date.now()),
        maxBytes: MAX_ANSWER_BYTES,
        ...(signal === undefined ? {} : { signal }),
      });
    for (let retry = 0, throttled = 0; ;) {
      let response: HttpResponse;
      try {
        response = await request();
      } catch (err) {
        const transient = (err as { kind?: string }).kind === 'unreachable';
        const pause = transient && retry < maxRetries ? backoff(retry++) : undefined;
        // A backoff that would end past the deadline is not waited: the last failure is the answer.
        if (pause === undefined || Date.now() + pause >= o.deadline) throw err;
        await sleep(pause, signal);
        continue;
      }
      const status = response.status;
      if (status === 429 || status === 503) {
        const wait = retryAfterMs(response.headers['retry-after']);
        if (wait !== undefined && throttled < MAX_THROTTLED) {
          if (Date.now() + wait >= o.deadline) {
            const endpoint = endpointOf(url);
            throw retryAfterDeadline(`POST ${endpoint}: the vault answered ${status}`, {
              endpoint,
              status,
              retryAt: new Date(Date.now() + wait),
            });
          }
          throttled++;
          await sleep(wait, signal);
          continue;
        }
      }
      const retryable = status === 408 || (status >= 500 && status !== 501 && status !== 505);
      const pause = retryable && retry < maxRetries ? backoff(retry++) : undefined;
      if (pause === undefined || Date.now() + pause >= o.deadline) return response;
      await sleep(pause, signal);
    }
  }

  /** As core-rest-pipeline's exponential strategy: half the capped delay plus a random half. */
  function backoff(retry: number): number {
    const capped = Math.min(maxRetryDelayMs, retryDelayMs * 2 ** retry);
    return capped / 2 + Math.random() * (capped / 2);
  }

  function token(c: Challenge, signal?: AbortSignal): Promise<string> {
    if (bearer) return bearer;
    const asked = newToken(c, signal);
    asked.catch(() => {
      if (bearer === asked) bearer = undefined; // a failed token is asked for again
    });
    return (bearer = asked);
  }

  async function newToken(c: Challenge, signal?: AbortSignal): Promise<string> {
    const options: GetTokenOptions = {
      enableCae: true,
      ...(c.tenantId === undefined ? {} : { tenantId: c.tenantId }),
      ...(signal === undefined ? {} : { abortSignal: signal }),
    };
    const t: AccessToken | null = await o.credential.getToken([c.scope], options);
    if (!t) throw new Error(`no token for ${c.scope}`);
    return t.token;
  }

  /** The 401's challenge, checked as the SDK checks it; undefined when the answer carries none. */
  function challengeOf(response: HttpResponse, url: string): Challenge | undefined {
    const header = response.headers['www-authenticate'];
    const value = Array.isArray(header) ? header[0] : header;
    if (response.status !== 401 || !value) return undefined;
    const parsed = parseChallenge(value);
    const scope = parsed.resource ? `${parsed.resource}/.default` : parsed.scope;
    if (!scope) return undefined;
    let scopeHost: string;
    try {
      scopeHost = new URL(scope).hostname;
    } catch {
      throw new Error(`The challenge contains invalid scope '${scope}'`);
    }
    if (!new URL(url).hostname.endsWith(`.${scopeHost}`)) {
      throw new Error(
        `The challenge resource '${scopeHost}' does not match the requested domain ${vaultHost} (see https://aka.ms/azsdk/blog/vault-uri)`,
      );
    }
    return { scope, tenantId: parsed.tenantId };
  }

  function answerError(response: HttpResponse, url: string): VaultAnswerError {
    const { code, message } = errorBody(response.text);
    return new VaultAnswerError(response.status, message ?? `Unexpected status code: ${response.status}`, {
      ...(code === undefined ? {} : { code }),
      endpoint: endpointOf(url),
    });
  }

  /** The vault's challenge, asked once per client; anything but a challenge is not kept, so the next release asks again. */
  function answerChallenge(url: string, signal?: AbortSignal): Promise<Challenge | Error> {
    if (challenge) return challenge;
    const asked = send(url, undefined, undefined, signal).then(
      (response) => challengeOf(response, url) ?? answerError(response, url),
    );
    const forget = () => {
      if (challenge === asked) challenge = undefined;
    };
    asked.then((c) => void (c instanceof Error && forget()), forget);
    return (challenge = asked);
  }

  return {
    async prepare(key) {
      const c = await answerChallenge(releaseUrl(key.name, key.version)).catch(() => undefined);
      if (c && !(c instanceof Error)) await token(c).catch(() => {});
    },

    async releaseKey(name, target, options = {}) {
      const url = releaseUrl(name, options.version);
      const signal = options.abortSignal;
      const body = JSON.stringify({
        target,
        ...(options.nonce === undefined ? {} : { nonce: options.nonce }),
        ...(options.algorithm === undefined ? {} : { enc: options.algorithm }),
      });
      let c = await answerChallenge(url, signal);
      if (c instanceof Error) throw c;
      let response = await send(url, body, await token(c, signal), signal);
      // A token the vault no longer takes: the SDK answers a second challenge once, with a fresh token.
      const again = response.status === 401 ? challengeOf(response, url) : undefined;
      if (again) {
        c = again;
        bearer = undefined;
        response = await send(url, body, await token(c, signal), signal);
      }
      if (response.status !== 200) throw answerError(response, url);
      const value = (jsonBody(response) as { value?: unknown } | undefined)?.value;
      if (typeof value !== 'string') {
        throw new VaultAnswerError(200, 'the release answer has no value', { endpoint: endpointOf(url) });
      }
      return { value };
    },
  };
}

/**
 * `Bearer authorization="https://login.microsoftonline.com/{tenant}", resource="https://vault.azure.net"`:
 * the parameters Key Vault sends, as @azure/keyvault-common reads them (the tenant is the authorization
 * URI's path).
 */
export function parseChallenge(header: string): {
  authorization?: string;
  resource?: string;
  scope?: string;
  tenantId?: string;
} {
  const out: Record<string, string> = {};
  for (const m of header.matchAll(/(\w+)="([^"]*)"/g)) {
    const [, key, value] = m as unknown as [string, string, string];
    if (
      ['authorization', 'authorization_url', 'resource', 'scope', 'tenantId', 'claims', 'error'].includes(key)
    ) {
      out[key] = value;
    }
  }
  const authorization = out['authorization'];
  let tenantId: string | undefined;
  if (authorization !== undefined) {
    try {
      tenantId = new URL(authorization).pathname.slice(1) || undefined;
    } catch {
      throw new Error(`The challenge authorization URI '${authorization}' is invalid.`);
    }
  }
  return {
    ...(authorization === undefined ? {} : { authorization }),
    ...(out['resource'] === undefined ? {} : { resource: out['resource'] }),
    ...(out['scope'] === undefined ? {} : { scope: out['scope'] }),
    ...(tenantId === undefined ? {} : { tenantId }),
  };
}
