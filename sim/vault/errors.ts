import { SecureKeyError } from '../../core/errors.ts';

/** The `error.code` values the simulated vault answers with (Key Vault's own codes). */
export type VaultErrorCode =
  | 'BadParameter'
  | 'Unauthorized'
  | 'Forbidden'
  | 'KeyNotFound'
  | 'Conflict'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'NotImplemented';

const STATUS: Record<VaultErrorCode, number> = {
  BadParameter: 400,
  Unauthorized: 401,
  Forbidden: 403,
  KeyNotFound: 404,
  NotFound: 404,
  MethodNotAllowed: 405,
  Conflict: 409,
  NotImplemented: 501,
};

/**
 * A refusal, as the vault sends it: `{"error":{"code","message"[,"innererror":{"code"}]}}` with the
 * status of its code. The kind is the wire code, so tests and callers branch on what Azure would say.
 */
export class VaultError extends SecureKeyError<VaultErrorCode> {
  readonly status: number;
  readonly innerCode: string | undefined;

  constructor(code: VaultErrorCode, message: string, options: { innerCode?: string; hint?: string } = {}) {
    super(code, message, options.hint === undefined ? {} : { hint: options.hint });
    this.status = STATUS[code];
    this.innerCode = options.innerCode;
  }
}

export const badParameter = (message: string, innerCode?: string): VaultError =>
  new VaultError('BadParameter', message, innerCode === undefined ? {} : { innerCode });

export const forbidden = (message: string, innerCode?: string): VaultError =>
  new VaultError('Forbidden', message, innerCode === undefined ? {} : { innerCode });

export function keyNotFound(name: string, version?: string): VaultError {
  const id = version === undefined || version === '' ? name : `${name}/${version}`;
  return new VaultError(
    'KeyNotFound',
    `A key with (name/id) ${id} was not found in this key vault. If you recently deleted this key you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
  );
}

export function deletedKeyNotFound(name: string): VaultError {
  return new VaultError('KeyNotFound', `Deleted Key not found: ${name}`);
}
