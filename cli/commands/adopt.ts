/**
 * `securekey adopt`: hand an existing vault key to a SecureKey on purpose. The operator never takes over
 * a key it did not make for that very SecureKey (docs/adr/0028-key-ownership-and-adoption.md); a person
 * does it here, with their own vault rights, by tagging every version of the key for the SecureKey's
 * namespace/name, uid and cluster. Cluster rights alone (creating a SecureKey that names a key) are not
 * enough.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { TokenCredential } from '@azure/identity';
import type { KeyClient } from '@azure/keyvault-keys';
import { SecureKeyError } from '../../core/errors.ts';
import {
  decidingVersion,
  describeOwner,
  isLegacy,
  isOwner,
  keyOwnerOf,
  ownerFromTags,
  withOwnerTags,
  type KeyOwner,
  type TaggedOwner,
} from '../../core/ownership/index.ts';
import { defaultAzureCredential, keyClientFor } from '../../edge/azure/index.ts';
import { readClusterId } from '../../edge/kube/cluster-identity.ts';
import { KubeHttp } from '../../edge/kube/kube-http.ts';
import { defaultKubeAccess, kubeAccessFromFile } from '../../edge/kube/kubeconfig.ts';
import { readSecureKey } from '../../edge/kube/secure-keys.ts';
import { UsageError, type Io } from '../io.ts';

export const usage = `securekey adopt --securekey <namespace>/<name> [--kubeconfig <file>]
                [--cluster-id <id>] [--vault-ca-file <pem>] [--dry-run] [--force]

Hands the vault key a SecureKey names (spec.vault.url, spec.key.name) to that SecureKey: tags every
version of the key securekey.io/owner=<namespace>/<name>, securekey.io/owner-uid=<its metadata.uid> and
securekey.io/cluster=<this cluster's identity>, so the operator manages it. Use it for a key made outside
SecureKey, one tagged by an operator before owner tags carried a uid, or one retained from a SecureKey
that was deleted and re-created (deletionPolicy: Retain).

The vault is written with YOUR Azure identity (az login, AZURE_* variables or a managed identity), which
needs keys/list and keys/update on the vault (e.g. Key Vault Crypto Officer); the cluster is read with
your kubeconfig (get on the SecureKey and on namespace kube-system).

Refused without --force when the key belongs to a SecureKey of another name, or to one in another
cluster (which this command cannot check). A key of an earlier SecureKey of the same name in this
cluster (a different uid: that one no longer exists) is adopted without --force.

  --cluster-id     the operator's SECUREKEY_CLUSTER_ID, when it is set (default: kube-system's uid)
  --vault-ca-file  trust only this CA for the vault and Entra (simulators)
  --dry-run        print what would change, change nothing`;

export type AdoptErrorKind = 'no-secure-key' | 'no-key' | 'owned';

export class AdoptError extends SecureKeyError<AdoptErrorKind> {}

export interface AdoptOptions {
  client: KeyClient;
  keyName: string;
  owner: KeyOwner;
  force?: boolean;
  dryRun?: boolean;
}

export interface AdoptChange {
  version: string;
  before: TaggedOwner | undefined;
}

/**
 * Why taking the key needs --force, or undefined when it does not. Two SecureKeys of one
 * namespace/name cannot exist at once in a cluster, so an owner of the same name in this cluster with
 * another uid is gone; one in another cluster may still be alive.
 */
function needsForce(deciding: TaggedOwner | undefined, owner: KeyOwner): string | undefined {
  if (deciding === undefined) return undefined;
  if (deciding.secureKey !== owner.secureKey) return `it belongs to ${describeOwner(deciding)}`;
  if (isLegacy(deciding) || deciding.cluster === owner.cluster) return undefined;
  return `it belongs to ${describeOwner(deciding)}, which may still exist in that cluster`;
}

/** Tags every version of the key for `owner`; returns the versions that changed (or would). */
export async function adoptKey(o: AdoptOptions): Promise<AdoptChange[]> {
  const versions: {
    version: string;
    tags: Record<string, string> | undefined;
    createdOn?: Date;
    enabled?: boolean;
  }[] = [];
  try {
    for await (const p of o.client.listPropertiesOfKeyVersions(o.keyName)) {
      versions.push({ version: p.version ?? '', tags: p.tags, createdOn: p.createdOn, enabled: p.enabled });
    }
  } catch (err) {
    if ((err as { statusCode?: unknown }).statusCode === 404) versions.length = 0;
    else throw err;
  }
  if (versions.length === 0) {
    throw new AdoptError(
      'no-key',
      `the vault ${o.client.vaultUrl} has no key ${o.keyName}; the operator creates it`,
    );
  }
  const deciding = decidingVersion(
    versions.map((v) => ({
      version: v.version,
      createdOn: v.createdOn,
      enabled: v.enabled !== false,
      owner: ownerFromTags(v.tags),
    })),
  )?.owner;
  if (!isOwner(deciding, o.owner) && !o.force) {
    const why = needsForce(deciding, o.owner);
    if (why !== undefined) {
      throw new AdoptError('owned', `not adopting key ${o.keyName}: ${why}`, {
        hint: 'rerun with --force to take it anyway; its current owner stops being able to manage it',
      });
    }
  }
  const changes: AdoptChange[] = [];
  for (const v of versions) {
    const before = ownerFromTags(v.tags);
    if (isOwner(before, o.owner)) continue;
    changes.push({ version: v.version, before });
    if (!o.dryRun) {
      await o.client.updateKeyProperties(o.keyName, v.version, { tags: withOwnerTags(v.tags, o.owner) });
    }
  }
  return changes;
}

export interface AdoptDeps {
  /** The cluster to read; from --kubeconfig or the default kubeconfig when absent. */
  kube?: KubeHttp;
  /** The vault identity; DefaultAzureCredential when absent. */
  credential?: TokenCredential;
}

export async function adoptCommand(argv: string[], io: Io, deps: AdoptDeps = {}): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      securekey: { type: 'string' },
      kubeconfig: { type: 'string' },
      'cluster-id': { type: 'string' },
      'vault-ca-file': { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const ref = values.securekey ?? '';
  const m = /^([^/\s]+)\/([^/\s]+)$/.exec(ref);
  if (!m) throw new UsageError('adopt needs --securekey <namespace>/<name>');
  const [, namespace, name] = m as unknown as [string, string, string];

  const kube =
    deps.kube ??
    new KubeHttp(
      values.kubeconfig !== undefined ? kubeAccessFromFile(values.kubeconfig) : defaultKubeAccess(),
    );
  const sk = await readSecureKey(kube, namespace, name);
  if (sk === undefined) throw new AdoptError('no-secure-key', `SecureKey ${ref} does not exist`);
  const cluster = values['cluster-id'] ?? (await readClusterId(kube));
  const owner = keyOwnerOf(sk, cluster);

  const caPem =
    values['vault-ca-file'] === undefined ? undefined : readFileSync(values['vault-ca-file'], 'utf8');
  const ca = caPem === undefined ? {} : { caPem };
  const client = keyClientFor({
    vaultUrl: sk.spec.vault.url,
    credential: deps.credential ?? defaultAzureCredential(ca),
    ...ca,
  });
  const keyName = sk.spec.key.name;
  const changes = await adoptKey({
    client,
    keyName,
    owner,
    force: values.force,
    dryRun: values['dry-run'],
  });
  const verb = values['dry-run'] ? 'would tag' : 'tagged';
  const target = `SecureKey ${owner.secureKey} (uid ${owner.uid}, cluster ${owner.cluster})`;
  if (changes.length === 0) {
    io.out(`key ${keyName} in ${client.vaultUrl} already belongs to ${target}; nothing changed\n`);
    return 0;
  }
  for (const c of changes) {
    io.out(`${verb} ${keyName}/${c.version}: ${describeOwner(c.before)} -> ${target}\n`);
  }
  if (!values['dry-run']) {
    io.out(
      `the operator takes key ${keyName} over at its next reconcile of ${owner.secureKey} (within SECUREKEY_RESYNC, 10m by default, or when the SecureKey changes)\n`,
    );
  }
  return 0;
}
