/**
 * Data-plane authorisation, per identity (the access token's `oid`, or its `appid`). Two roles, after
 * the built-in ones SecureKey's identities get:
 *  - `crypto-officer` — everything but release (the operator: create, import, update, get, list,
 *    delete, recover, purge, rotate, rotation policy). Azure's "Key Vault Crypto Officer" grants
 *    `keys/*`, release included; SecureKey gives its operator less, and the simulator enforces that.
 *  - `release-user` — release only ("Key Vault / Managed HSM Crypto Service Release User").
 * Anything else is 403 Forbidden with a message naming the missing permission.
 */
import { forbidden } from './errors.ts';
import type { VaultOperation } from './routes.ts';
import type { VaultFlavour } from './state.ts';

export type VaultRole = 'crypto-officer' | 'release-user';

export interface RoleAssignment {
  /** Object id or client (app) id of the identity. */
  principalId: string;
  roles: VaultRole[];
}

export interface Principal {
  oid: string;
  appid: string;
  iss: string;
}

/** The key permission each operation needs (access-policy names; RBAC data actions derive from them). */
export const PERMISSION: Record<VaultOperation, string> = {
  listKeys: 'list',
  createKey: 'create',
  importKey: 'import',
  getKey: 'get',
  updateKey: 'update',
  deleteKey: 'delete',
  listVersions: 'list',
  releaseKey: 'release',
  rotateKey: 'rotate',
  getRotationPolicy: 'getrotationpolicy',
  setRotationPolicy: 'setrotationpolicy',
  backupKey: 'backup',
  listDeletedKeys: 'list',
  getDeletedKey: 'get',
  purgeDeletedKey: 'purge',
  recoverDeletedKey: 'recover',
};

const ROLE_ALLOWS: Record<VaultRole, (op: VaultOperation) => boolean> = {
  'crypto-officer': (op) => op !== 'releaseKey',
  'release-user': (op) => op === 'releaseKey',
};

const DATA_ACTION_PREFIX: Record<VaultFlavour, string> = {
  keyvault: 'Microsoft.KeyVault/vaults/keys',
  managedhsm: 'Microsoft.KeyVault/managedHsm/keys',
};

const ROLE_NAMES: Record<VaultFlavour, Record<VaultRole, string>> = {
  keyvault: {
    'crypto-officer': 'Key Vault Crypto Officer',
    'release-user': 'Key Vault Crypto Service Release User',
  },
  managedhsm: {
    'crypto-officer': 'Managed HSM Crypto Officer',
    'release-user': 'Managed HSM Crypto Service Release User',
  },
};

export function rolesOf(principal: Principal, assignments: readonly RoleAssignment[]): VaultRole[] {
  return assignments
    .filter((a) => a.principalId === principal.oid || a.principalId === principal.appid)
    .flatMap((a) => a.roles);
}

/** Throws 403 unless one of the caller's roles allows the operation. */
export function authorize(
  op: VaultOperation,
  principal: Principal,
  assignments: readonly RoleAssignment[],
  flavour: VaultFlavour,
): void {
  if (rolesOf(principal, assignments).some((r) => ROLE_ALLOWS[r](op))) return;
  const permission = PERMISSION[op];
  const role: VaultRole = op === 'releaseKey' ? 'release-user' : 'crypto-officer';
  const action =
    op === 'releaseKey'
      ? `${DATA_ACTION_PREFIX[flavour]}/release/action`
      : `${DATA_ACTION_PREFIX[flavour]}/${permission}/action`;
  throw forbidden(
    `Operation "${permission}" is not allowed. Caller appid=${principal.appid};oid=${principal.oid};iss=${principal.iss} does not have permission keys/${permission} ` +
      `(data action ${action}). Assign a role that grants it, such as "${ROLE_NAMES[flavour][role]}".`,
    flavour === 'keyvault' ? 'ForbiddenByRbac' : undefined,
  );
}
