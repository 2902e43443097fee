/**
 * The agent's workload identity, as one OAuth request: the projected service-account token is the client
 * assertion of a client-credentials grant at Entra's v2.0 token endpoint (what @azure/identity's
 * WorkloadIdentityCredential does through MSAL, and what Microsoft's SKR sidecar does in Go). The agent
 * makes this one call per pod start, so it does not load MSAL — ~100 ms of CPU on its start-up path
 * (ADR 18). It is a TokenCredential, so the Key Vault SDK uses it unchanged. The operator keeps
 * @azure/identity.
 */
import { readFile } from 'node:fs/promises';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import { httpRequest, jsonBody, unavailable } from '../edge/http/client.ts';
import { transientHttpError, withRetry } from './retry.ts';

export interface FederatedCredentialOptions {
  tenantId: string;
  clientId: string;
  /** The projected token (audience api://AzureADTokenExchange); re-read for every request, as kubelet rotates it. */
  tokenFile: string;
  /** Default https://login.microsoftonline.com. */
  authorityHost?: string;
  /** CA to trust instead of the system roots (simulators). */
  caPem?: string;
  /** Attempts for 429, 5xx and network failures (default 4). */
  attempts?: number;
  /** Epoch ms: no attempt starts, and none runs, past it (the agent's run deadline, as for its other calls). */
  deadline?: number;
  /** How to wait between attempts (tests record the delays). */
  sleep?: (ms: number) => Promise<void>;
}

const GRANT = 'client_credentials';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export class FederatedTokenCredential implements TokenCredential {
  readonly #o: FederatedCredentialOptions;
  readonly #endpoint: string;

  constructor(o: FederatedCredentialOptions) {
    this.#o = o;
    const authority = (o.authorityHost ?? 'https://login.microsoftonline.com').replace(/\/+$/, '');
    this.#endpoint = `${authority}/${encodeURIComponent(o.tenantId)}/oauth2/v2.0/token`;
  }

  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken> {
    const scope = (Array.isArray(scopes) ? scopes : [scopes]).join(' ');
    let assertion: string;
    try {
      assertion = (await readFile(this.#o.tokenFile, 'utf8')).trim();
    } catch (err) {
      throw new Error(
        `cannot read the workload identity token ${this.#o.tokenFile} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
        { cause: err },
      );
    }
    const form = new URLSearchParams({
      client_id: this.#o.clientId,
      scope,
      grant_type: GRANT,
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: assertion,
    });
    if (options?.claims) form.set('claims', options.claims); // a CAE claims challenge from the vault
    const signal = options?.abortSignal as AbortSignal | undefined; // the SDK passes a real AbortSignal
    return withRetry(() => this.#request(form.toString(), signal), {
      attempts: this.#o.attempts ?? 4,
      ...(this.#o.deadline === undefined ? {} : { deadline: this.#o.deadline }),
      baseDelayMs: 250,
      maxDelayMs: 4_000,
      ...(this.#o.sleep === undefined ? {} : { sleep: this.#o.sleep }),
      // Not after the caller gave up (deadline, shutdown).
      retryable: (err) => transientHttpError(err) && signal?.aborted !== true,
    });
  }

  async #request(body: string, signal: AbortSignal | undefined): Promise<AccessToken> {
    const res = await httpRequest(this.#endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body,
      timeoutMs: 10_000,
      ...(this.#o.deadline === undefined ? {} : { deadline: this.#o.deadline }),
      ...(this.#o.caPem === undefined ? {} : { caPem: this.#o.caPem }),
      ...(signal === undefined ? {} : { signal }),
    });
    // An HTML error page from a proxy is no JSON: the status says enough.
    const doc = (jsonBody(res) ?? {}) as Record<string, unknown>;
    if (res.status === 200) {
      if (typeof doc['access_token'] !== 'string') {
        throw new Error(`${this.#endpoint} answered 200 without an access_token`);
      }
      const expiresIn = Number(doc['expires_in']);
      if (!Number.isFinite(expiresIn) || expiresIn <= 0) {
        throw new Error(`${this.#endpoint} answered a token without a valid expires_in`);
      }
      return { token: doc['access_token'], expiresOnTimestamp: Date.now() + expiresIn * 1000 };
    }
    // Entra's error: {"error","error_description":"AADSTSnnnn: …"}. Never echo the request (it holds the assertion).
    const what =
      typeof doc['error_description'] === 'string'
        ? String(doc['error_description']).split('\r\n')[0]
        : typeof doc['error'] === 'string'
          ? String(doc['error'])
          : `HTTP ${res.status}`;
    const message = `Entra ID refused the workload identity token exchange (${res.status}): ${what}`;
    if (res.status !== 429 && res.status < 500) throw new Error(message);
    // Throttled or unavailable: worth another try, when Entra says (Retry-After) or after a backoff.
    throw unavailable(message, this.#endpoint, res);
  }
}
