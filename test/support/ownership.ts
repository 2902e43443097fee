/**
 * Key-ownership specs' world: SecureKeys on a simulated vault, each reconciled by the real
 * SecureKeyReconciler with in-memory status, and a gate that makes concurrent reconciles read the vault
 * together (so racing creates really race).
 */
import type { KeyClient } from '@azure/keyvault-keys';
import type { SecureKey } from '../../core/api/securekey.generated.ts';
import { ownerFromTags, type TaggedOwner } from '../../core/ownership/index.ts';
import { SecureKeyReconciler } from '../../operator/controller/secure-key-reconciler.ts';
import { FINALIZER } from '../../operator/kube/secure-key-api.ts';
import type { KeyVault } from '../../operator/vault/key-vault.ts';
import { SIMULATED_VAULT_SUFFIXES, Vaults } from '../../operator/vault/vaults.ts';
import type { RunningVault } from '../../sim/vault/start.ts';
import { startWorld, type World } from './sim/vault-world.ts';

export interface OwnershipWorld {
  world: World;
  /** A simulated Managed HSM (oct-HSM keys are quick to make). */
  kv: RunningVault;
  /** The operator's vaults, with the officer identity. */
  vaults: Vaults;
  /** A KeyClient on `kv` with the officer identity, to look at what the operator did. */
  officer: KeyClient;
}

export async function startOwnershipWorld(vaultName: string): Promise<OwnershipWorld> {
  const world = await startWorld();
  const kv = await world.startVault({ name: vaultName, flavour: 'managedhsm' });
  const vaults = new Vaults({
    credential: world.credential('officer'),
    caPem: world.ca.certPem,
    allowedSuffixes: SIMULATED_VAULT_SUFFIXES,
  });
  return { world, kv, vaults, officer: world.client(kv, 'officer') };
}

/** A SecureKey on `kv` for an oct-HSM key admitting the world's digest. */
export function ownedSecureKey(
  world: World,
  kv: RunningVault,
  ref: { namespace: string; name: string; uid: string; keyName: string },
): SecureKey {
  return {
    apiVersion: 'securekey.io/v1alpha1',
    kind: 'SecureKey',
    metadata: { namespace: ref.namespace, name: ref.name, uid: ref.uid, generation: 1 },
    spec: {
      vault: { url: kv.url },
      key: { name: ref.keyName, type: 'oct-HSM', size: 256 },
      attestation: { authorities: [world.attest.issuer] },
      workloads: { allowedDigests: [world.hostdata] },
    },
  };
}

export interface ReconcilerHarness {
  reconcile(): Promise<unknown>;
  readonly sk: SecureKey;
  /** "<type> <reason>: <message>" */
  events: string[];
  keyReady(): { status: string; reason: string; message: string } | undefined;
}

export function reconcilerHarness(
  initial: SecureKey,
  o: { vaults: Vaults; cluster: string; vault?: (v: KeyVault) => KeyVault },
): ReconcilerHarness {
  let current = initial;
  const events: string[] = [];
  const reconciler = new SecureKeyReconciler({
    secureKey: () => current,
    remember: (sk) => {
      current = sk;
    },
    pods: () => [],
    api: {
      writeStatus: async (sk, status) => ({ ...sk, status }),
      addFinalizer: async (sk) => ({ ...sk, metadata: { ...sk.metadata, finalizers: [FINALIZER] } }),
      removeFinalizer: async () => {},
    },
    vault: (url) => (o.vault ?? ((v) => v))(o.vaults.get(url)),
    event: (_t, type, reason, message) => events.push(`${type} ${reason}: ${message}`),
    now: () => new Date(),
    clusterId: o.cluster,
  });
  const key = `${initial.metadata?.namespace}/${initial.metadata?.name}`;
  return {
    reconcile: () => reconciler.reconcile(key),
    get sk() {
      return current;
    },
    events,
    keyReady: () => current.status?.conditions?.find((c) => c.type === 'KeyReady'),
  };
}

/** `vault` with some of its methods wrapped (each wrapper gets the original, bound). */
export function interceptVault(
  vault: KeyVault,
  wrap: {
    getKey?: (original: KeyVault['getKey']) => KeyVault['getKey'];
    createKey?: (original: KeyVault['createKey']) => KeyVault['createKey'];
  },
): KeyVault {
  return new Proxy(vault, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      const bound =
        typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      const wrapper = prop === 'getKey' || prop === 'createKey' ? wrap[prop] : undefined;
      return wrapper ? wrapper(bound as never) : bound;
    },
  });
}

/** Holds every caller of getKey until `n` of them have read: all see the name before anyone creates it. */
export function readTogether(n: number): (v: KeyVault) => KeyVault {
  let arrived = 0;
  let release!: () => void;
  const all = new Promise<void>((r) => (release = r));
  return (vault) =>
    interceptVault(vault, {
      getKey: (getKey) => async (name) => {
        const key = await getKey(name);
        if (++arrived === n) release();
        await all;
        return key;
      },
    });
}

export async function versionsOf(
  client: KeyClient,
  name: string,
): Promise<{ version: string; enabled: boolean; owner: TaggedOwner | undefined }[]> {
  const out = [];
  for await (const p of client.listPropertiesOfKeyVersions(name)) {
    out.push({ version: p.version ?? '', enabled: p.enabled !== false, owner: ownerFromTags(p.tags) });
  }
  return out;
}
