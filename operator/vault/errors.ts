import { SecureKeyError } from '../../core/errors.ts';
import { retryAfterMs } from '../../edge/http/client.ts';

export type VaultCallErrorKind =
  /** 401/403: the operator's identity may not do this (role assignment missing). */
  | 'forbidden'
  /** 429: the vault throttled us; `retryAfterMs` says for how long. */
  | 'throttled'
  /** 5xx, connection failures: try again later. */
  | 'unavailable'
  /** Neither the vault nor Entra (the token is fetched inside the call) answered within the call's bound. */
  | 'timeout'
  /** 400: the vault refused the request (key type, size, policy). Retrying the same spec will not help. */
  | 'rejected'
  /** 409: e.g. a deleted key with that name still recoverable. */
  | 'conflict'
  | 'not-found';

/**
 * A vault call that failed. The message names the operation, the vault and the key, with the vault's
 * error code and message (which never carry key material), and a hint at the likely cause.
 */
export class VaultCallError extends SecureKeyError<VaultCallErrorKind> {
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly code: string | undefined;

  constructor(
    kind: VaultCallErrorKind,
    message: string,
    o: { status?: number; retryAfterMs?: number; code?: string; hint?: string; cause?: unknown } = {},
  ) {
    super(kind, message, {
      ...(o.hint === undefined ? {} : { hint: o.hint }),
      ...(o.cause === undefined ? {} : { cause: o.cause }),
    });
    this.status = o.status;
    this.retryAfterMs = o.retryAfterMs;
    this.code = o.code;
  }
}

const HINTS: Partial<Record<VaultCallErrorKind, string>> = {
  forbidden:
    "grant the operator's identity Managed HSM Crypto Officer (or Key Vault Crypto Officer) on the vault, and check its federated credential",
  conflict: 'a deleted key with this name is still recoverable: recover it or purge it, or pick another name',
  throttled: 'the vault is throttling; the operator backs off and retries',
  unavailable: 'the vault was not reached or failed; the operator backs off and retries',
  timeout: 'the vault or Entra did not answer in time; the operator backs off and retries',
};

/** What to check or expect after a failure of this kind. */
export function vaultHint(kind: VaultCallErrorKind): string | undefined {
  return HINTS[kind];
}

interface RestErrorLike {
  statusCode?: number;
  code?: string;
  message?: string;
  response?: { headers?: { get(name: string): string | undefined } };
}

/** Turns whatever the Azure SDK threw into a VaultCallError naming `what` (operation, vault, key). */
export function classifyVaultError(what: string, err: unknown, now = Date.now()): VaultCallError {
  if (err instanceof VaultCallError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as RestErrorLike;
  const status = e.statusCode;
  const kind: VaultCallErrorKind =
    status === undefined
      ? 'unavailable'
      : status === 401 || status === 403
        ? 'forbidden'
        : status === 404
          ? 'not-found'
          : status === 409
            ? 'conflict'
            : status === 429
              ? 'throttled'
              : status >= 500
                ? 'unavailable'
                : 'rejected';
  const detail = (e.message ?? String(err)).split('\n')[0] ?? '';
  const retry = retryAfterMs(e.response?.headers?.get('retry-after'), now);
  const hint = vaultHint(kind);
  return new VaultCallError(
    kind,
    `${what}: ${status === undefined ? 'vault not reached' : `HTTP ${status}`}${e.code ? ` ${e.code}` : ''}: ${detail}`,
    {
      ...(status === undefined ? {} : { status }),
      ...(retry === undefined ? {} : { retryAfterMs: retry }),
      ...(e.code === undefined ? {} : { code: e.code }),
      ...(hint === undefined ? {} : { hint }),
      cause: err,
    },
  );
}
