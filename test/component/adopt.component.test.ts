/**
 * `securekey adopt` end to end: the command reads the SecureKey and the cluster identity from a
 * Kubernetes API (a minimal stand-in serving those two reads), re-tags the key through the real
 * KeyClient on the vault simulator, and the real reconciler then manages the key it refused before.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { KeyClient } from '@azure/keyvault-keys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SecureKey } from '../../core/api/securekey.generated.ts';
import { CLUSTER_TAG, OWNER_TAG, OWNER_UID_TAG } from '../../core/ownership/index.ts';
import { adoptCommand } from '../../cli/commands/adopt.ts';
import { KubeHttp } from '../../edge/kube/kube-http.ts';
import { secureKeyPath } from '../../edge/kube/secure-keys.ts';
import type { Vaults } from '../../operator/vault/vaults.ts';
import type { RunningVault } from '../../sim/vault/start.ts';
import { ownedSecureKey, reconcilerHarness, startOwnershipWorld, versionsOf } from '../support/ownership.ts';
import type { World } from '../support/sim/vault-world.ts';

const CLUSTER = 'kube-system-uid-1';
let world: World;
let kv: RunningVault;
let vaults: Vaults;
let officer: KeyClient;
let api: http.Server;
let kube: KubeHttp;
let dir: string;
let caFile: string;
const stored = new Map<string, SecureKey>();

beforeAll(async () => {
  ({ world, kv, vaults, officer } = await startOwnershipWorld('hsm-adopt'));
  dir = mkdtempSync(path.join(tmpdir(), 'adopt-'));
  caFile = path.join(dir, 'ca.pem');
  writeFileSync(caFile, world.ca.certPem);
  api = http.createServer((req, res) => {
    const sk = stored.get(req.url ?? '');
    const body =
      req.url === '/api/v1/namespaces/kube-system' ? { metadata: { name: 'kube-system', uid: CLUSTER } } : sk;
    res.writeHead(req.method === 'GET' && body ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body ?? { kind: 'Status', reason: 'NotFound', code: 404 }));
  });
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
  const server = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  kube = new KubeHttp({ server, tls: {}, authorization: async () => undefined, source: 'test' });
}, 60_000);
afterAll(async () => {
  kube?.close();
  await new Promise((r) => api?.close(r));
  await world?.close();
  rmSync(dir, { recursive: true, force: true });
});

function store(sk: SecureKey): SecureKey {
  stored.set(secureKeyPath(sk.metadata!.namespace!, sk.metadata!.name!), sk);
  return sk;
}

async function adopt(...argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await adoptCommand(
    [...argv, '--vault-ca-file', caFile],
    { out: (t) => (out += t), err: (t) => (out += t) },
    { kube, credential: world.credential('officer') },
  );
  return { code, out };
}

describe('securekey adopt', () => {
  it('hands a key tagged by an older operator to the SecureKey, which the operator then manages', async () => {
    await officer.createKey('old-key', 'oct-HSM', {
      keySize: 256,
      exportable: true,
      releasePolicy: world.policy(),
      tags: { [OWNER_TAG]: 'shop/db', team: 'payments' },
    });
    await officer.rotateKey('old-key');
    const sk = store(
      ownedSecureKey(world, kv, { namespace: 'shop', name: 'db', uid: 'uid-db', keyName: 'old-key' }),
    );
    const h = reconcilerHarness(sk, { vaults, cluster: CLUSTER });
    await h.reconcile();
    expect(h.keyReady()).toMatchObject({ status: 'False', reason: 'KeyOwnedElsewhere' });

    const dry = await adopt('--securekey', 'shop/db', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.out).toMatch(
      /would tag old-key\/\w+: SecureKey shop\/db \(tagged without uid or cluster\) -> SecureKey shop\/db \(uid uid-db, cluster kube-system-uid-1\)/,
    );
    expect((await versionsOf(officer, 'old-key')).every((v) => v.owner?.uid === undefined)).toBe(true);

    const { code, out } = await adopt('--securekey', 'shop/db');
    expect(code).toBe(0);
    expect(out.match(/^tagged old-key\//gm)).toHaveLength(2);
    const key = await officer.getKey('old-key');
    expect(key.properties.tags).toEqual({
      [OWNER_TAG]: 'shop/db',
      [OWNER_UID_TAG]: 'uid-db',
      [CLUSTER_TAG]: CLUSTER,
      team: 'payments',
    });

    await h.reconcile();
    expect(h.keyReady()).toMatchObject({ status: 'True', reason: 'KeyAvailable' });
    expect((await adopt('--securekey', 'shop/db')).out).toContain('already belongs to SecureKey shop/db');
  });

  it('adopts a key made outside SecureKey, and one retained from a deleted SecureKey of the same name', async () => {
    await officer.createKey('byo-key', 'oct-HSM', {
      keySize: 256,
      exportable: true,
      releasePolicy: world.policy(),
    });
    store(ownedSecureKey(world, kv, { namespace: 'byo', name: 'app', uid: 'uid-byo', keyName: 'byo-key' }));
    expect((await adopt('--securekey', 'byo/app')).out).toContain('no SecureKey -> SecureKey byo/app');

    // The first SecureKey made the key, then was deleted (Retain); its successor has another uid.
    const first = ownedSecureKey(world, kv, {
      namespace: 'ret',
      name: 'app',
      uid: 'uid-gone',
      keyName: 'ret-key',
    });
    await reconcilerHarness(first, { vaults, cluster: CLUSTER }).reconcile();
    store(ownedSecureKey(world, kv, { namespace: 'ret', name: 'app', uid: 'uid-new', keyName: 'ret-key' }));
    const { code, out } = await adopt('--securekey', 'ret/app');
    expect(code).toBe(0);
    expect(out).toContain(
      'SecureKey ret/app (uid uid-gone, cluster kube-system-uid-1) -> SecureKey ret/app (uid uid-new',
    );
  });

  it('refuses without --force a key of a SecureKey of another name, or of one in another cluster', async () => {
    const owner = ownedSecureKey(world, kv, {
      namespace: 'live',
      name: 'app',
      uid: 'uid-live',
      keyName: 'live-key',
    });
    await reconcilerHarness(owner, { vaults, cluster: CLUSTER }).reconcile();
    store(
      ownedSecureKey(world, kv, { namespace: 'thief', name: 'app', uid: 'uid-thief', keyName: 'live-key' }),
    );
    await expect(adopt('--securekey', 'thief/app')).rejects.toMatchObject({
      kind: 'owned',
      message:
        'not adopting key live-key: it belongs to SecureKey live/app (uid uid-live, cluster kube-system-uid-1)',
    });
    // The same namespace/name in a cluster that shares the vault: that owner may still exist.
    store(
      ownedSecureKey(world, kv, { namespace: 'live', name: 'app', uid: 'uid-other', keyName: 'live-key' }),
    );
    await expect(adopt('--securekey', 'live/app', '--cluster-id', 'other-cluster')).rejects.toMatchObject({
      kind: 'owned',
      message: expect.stringContaining('which may still exist in that cluster'),
    });
    expect((await officer.getKey('live-key')).properties.tags?.[OWNER_UID_TAG]).toBe('uid-live');

    const forced = await adopt('--securekey', 'thief/app', '--force');
    expect(forced.code).toBe(0);
    expect((await officer.getKey('live-key')).properties.tags?.[OWNER_TAG]).toBe('thief/app');
  });

  it('says so when the SecureKey or the key does not exist', async () => {
    await expect(adopt('--securekey', 'nobody/here')).rejects.toMatchObject({ kind: 'no-secure-key' });
    store(
      ownedSecureKey(world, kv, { namespace: 'new', name: 'app', uid: 'uid-new-app', keyName: 'never-made' }),
    );
    await expect(adopt('--securekey', 'new/app')).rejects.toMatchObject({ kind: 'no-key' });
    await expect(adopt('--securekey', 'no-slash')).rejects.toThrow(
      'adopt needs --securekey <namespace>/<name>',
    );
  });
});
