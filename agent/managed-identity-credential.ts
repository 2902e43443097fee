/**
 * The agent's managed identity, as one IMDS request: `GET <imds>/metadata/identity/oauth2/token?
 * api-version=2018-02-01&resource=<vault audience>[&client_id=…|&mi_res_id=…]` with `Metadata: true` —
 * what @azure/identity's ManagedIdentityCredential does through MSAL, and what Microsoft's SKR sidecar
 * does in Go on ACI. Like the workload-identity credential (ADR 18) it does not load MSAL, and it is a
 * TokenCredential, so the Key Vault SDK uses it unchanged.
 *
 * Retries follow IMDS's guidance: 404 (IMDS updating), 410 (back within 70 s), 429 and 5xx, and no
 * answer at all, within the run's deadline; any other 4xx is final and its `error_description` is
 * surfaced. IMDS is plain HTTP on a link-local address: the token never leaves the host.
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import { endpointOf, httpRequest, jsonBody, unavailable } from '../edge/http/client.ts';
import { transientHttpError, withRetry } from './retry.ts';

export interface ManagedIdentityCredentialOptions {
  /** IMDS's origin, `http://169.254.169.254` on Azure. */
  imdsUrl: string;
  /** A user-assigned identity by client id; the resource's own identity when neither id is given. */
  clientId?: string;
  /** A user-assigned identity by resource id. */
  resourceId?: string;
  /** Attempts for 404, 410, 429, 5xx and network failures (default 4). */
  attempts?: number;
  /** Epoch ms: no attempt starts, and none runs, past it. */
  deadline?: number;
  sleep?: (ms: number) => Promise<void>;
}

export const IMDS_TOKEN_PATH = '/metadata/identity/oauth2/token';
const API_VERSION = '2018-02-01';
/** Statuses IMDS asks callers to retry (besides 5xx). */
const RETRIED = new Set([404, 410, 429]);

/** `https://vault.azure.net/.default` → `https://vault.azure.net`: IMDS takes the v1 `resource`. */
function resourceOf(scopes: string | string[]): string {
  const list = Array.isArray(scopes) ? scopes : [scopes];
  if (list.length !== 1) throw new Error(`IMDS issues a token for one resource, not ${list.length} scopes`);
  return list[0]!.replace(/\/\.default$/, '');
}

export class ManagedIdentityTokenCredential implements TokenCredential {
  readonly #o: ManagedIdentityCredentialOptions;
  readonly #endpoint: string;

  constructor(o: ManagedIdentityCredentialOptions) {
    if (o.clientId !== undefined && o.resourceId !== undefined) {
      throw new Error('name a managed identity by its client id or its resource id, not both');
    }
    this.#o = o;
    this.#endpoint = `${o.imdsUrl.replace(/\/+$/, '')}${IMDS_TOKEN_PATH}`;
  }

  /** Who this is, for messages: the client id, the resource id, or the resource's own identity. */
  get description(): string {
    return this.#o.clientId ?? this.#o.resourceId ?? 'the managed identity assigned to this resource';
  }

  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken> {
    const url = new URL(this.#endpoint);
    url.searchParams.set('api-version', API_VERSION);
    url.searchParams.set('resource', resourceOf(scopes));
    if (this.#o.clientId !== undefined) url.searchParams.set('client_id', this.#o.clientId);
    if (this.#o.resourceId !== undefined) url.searchParams.set('mi_res_id', this.#o.resourceId);
    const signal = options?.abortSignal as AbortSignal | undefined;
    return withRetry(() => this.#request(url, signal), {
      attempts: this.#o.attempts ?? 4,
      ...(this.#o.deadline === undefined ? {} : { deadline: this.#o.deadline }),
      baseDelayMs: 500,
      maxDelayMs: 4_000,
      ...(this.#o.sleep === undefined ? {} : { sleep: this.#o.sleep }),
      retryable: (err) => transientHttpError(err) && signal?.aborted !== true,
    });
  }

  async #request(url: URL, signal: AbortSignal | undefined): Promise<AccessToken> {
    const res = await httpRequest(url, {
      headers: { metadata: 'true', accept: 'application/json' },
      timeoutMs: 10_000,
      ...(this.#o.deadline === undefined ? {} : { deadline: this.#o.deadline }),
      ...(signal === undefined ? {} : { signal }),
    });
    const doc = (jsonBody(res) ?? {}) as Record<string, unknown>;
    const where = endpointOf(url);
    if (res.status === 200) {
      if (typeof doc['access_token'] !== 'string' || doc['access_token'] === '') {
        throw new Error(`${where} answered 200 without an access_token`);
      }
      // IMDS sends the numbers as strings; expires_on (epoch seconds) is absolute, expires_in relative.
      const expiresOn = Number(doc['expires_on']);
      const expiresIn = Number(doc['expires_in']);
      const expiresOnTimestamp =
        Number.isFinite(expiresOn) && expiresOn > 0
          ? expiresOn * 1000
          : Number.isFinite(expiresIn) && expiresIn > 0
            ? Date.now() + expiresIn * 1000
            : NaN;
      if (Number.isNaN(expiresOnTimestamp))
        throw new Error(`${where} answered a token without a valid expiry`);
      return { token: doc['access_token'], expiresOnTimestamp };
    }
    const said =
      typeof doc['error_description'] === 'string'
        ? `${String(doc['error'] ?? '')}: ${String(doc['error_description']).split('\r\n')[0]}`
        : typeof doc['error'] === 'string'
          ? doc['error']
          : `HTTP ${res.status}`;
    const message = `IMDS refused a token for managed identity ${this.description} (${res.status}): ${said}`;
    if (RETRIED.has(res.status) || res.status >= 500) throw unavailable(message, url, res);
    throw new Error(message);
  }
}
