/**
 * The Key Vault keys REST paths the SDK uses, mapped to operations. Pure: (method, path) → route.
 * `/keys/{name}/` (trailing slash, empty version) and `/keys/{name}` both mean the latest version;
 * `create`, `versions`, `release`, `rotate`, `rotationpolicy` and `backup` after a name are actions,
 * never versions (versions are 32 hex digits).
 */
export const OPERATIONS = [
  'listKeys',
  'createKey',
  'importKey',
  'getKey',
  'updateKey',
  'deleteKey',
  'listVersions',
  'releaseKey',
  'rotateKey',
  'getRotationPolicy',
  'setRotationPolicy',
  'backupKey',
  'listDeletedKeys',
  'getDeletedKey',
  'purgeDeletedKey',
  'recoverDeletedKey',
] as const;
export type VaultOperation = (typeof OPERATIONS)[number];

export interface VaultRoute {
  operation: VaultOperation;
  name?: string;
  /** A key version; '' or absent means the latest. */
  version?: string;
}

/** A path the vault serves, but not with this method. */
export interface WrongMethod {
  wrongMethod: true;
  allowed: string[];
}

type Table = Record<string, VaultOperation>;

const KEY_ACTIONS: Record<string, Table> = {
  create: { POST: 'createKey' },
  versions: { GET: 'listVersions' },
  release: { POST: 'releaseKey' },
  rotate: { POST: 'rotateKey' },
  rotationpolicy: { GET: 'getRotationPolicy', PUT: 'setRotationPolicy' },
  backup: { POST: 'backupKey' },
};

function pick(table: Table, method: string, route: Omit<VaultRoute, 'operation'>): VaultRoute | WrongMethod {
  const operation = table[method];
  return operation === undefined
    ? { wrongMethod: true, allowed: Object.keys(table) }
    : { operation, ...route };
}

/** The route for a request, `undefined` for a path the vault does not have. */
export function routeOf(method: string, pathname: string): VaultRoute | WrongMethod | undefined {
  const s = pathname
    .replace(/^\//, '')
    .split('/')
    .map((p) => decodeURIComponent(p));
  const [collection, name, third, fourth] = s;
  if (collection === 'keys') {
    if (s.length === 1) return pick({ GET: 'listKeys' }, method, {});
    if (name === undefined || name === '') return undefined;
    if (s.length === 2)
      return pick({ PUT: 'importKey', DELETE: 'deleteKey', GET: 'getKey', PATCH: 'updateKey' }, method, {
        name,
      });
    if (s.length === 3 && third !== undefined) {
      const action = KEY_ACTIONS[third];
      if (action !== undefined) return pick(action, method, { name });
      return pick({ GET: 'getKey', PATCH: 'updateKey' }, method, { name, version: third });
    }
    if (s.length === 4 && fourth === 'release' && third !== undefined && third !== '') {
      return pick({ POST: 'releaseKey' }, method, { name, version: third });
    }
    return undefined;
  }
  if (collection === 'deletedkeys') {
    if (s.length === 1) return pick({ GET: 'listDeletedKeys' }, method, {});
    if (name === undefined || name === '') return undefined;
    if (s.length === 2) return pick({ GET: 'getDeletedKey', DELETE: 'purgeDeletedKey' }, method, { name });
    if (s.length === 3 && third === 'recover') return pick({ POST: 'recoverDeletedKey' }, method, { name });
  }
  return undefined;
}

export function isWrongMethod(r: VaultRoute | WrongMethod | undefined): r is WrongMethod {
  return r !== undefined && 'wrongMethod' in r;
}
