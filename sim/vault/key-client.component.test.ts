import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyClient } from '@azure/keyvault-keys';
import { decodeReleasePolicy, policyHash } from '../../core/policy/index.ts';
import type { RunningVault } from './start.ts';
import { rejection, startWorld } from '../../test/support/sim/vault-world.ts';
import type { World } from '../../test/support/sim/vault-world.ts';

let world: World;
let kv: RunningVault;
let hsm: RunningVault;
let officer: KeyClient;
let hsmOfficer: KeyClient;
const poll = { intervalInMs: 20 };

beforeAll(async () => {
  world = await startWorld();
  kv = await world.startVault({ name: 'kv1' });
  hsm = await world.startVault({ name: 'hsm1', flavour: 'managedhsm' });
  officer = world.client(kv, 'officer');
  hsmOfficer = world.client(hsm, 'officer');
});
afterAll(() => world?.close());

function policyOf(bytes: Uint8Array | undefined): string {
  return policyHash(decodeReleasePolicy({ data: Buffer.from(bytes ?? []).toString('base64url') }));
}

describe('the real KeyClient against the simulated Key Vault (Premium)', () => {
  it('lives at <name>.vault.localhost and passes the SDK challenge-resource check', () => {
    expect(kv.url).toMatch(/^https:\/\/kv1\.vault\.localhost:\d+$/);
    expect(kv.resource).toBe('https://vault.localhost');
    expect(hsm.url).toMatch(/^https:\/\/hsm1\.managedhsm\.localhost:\d+$/);
  });

  it('creates an exportable RSA-HSM key with a release policy and reads it back', async () => {
    const policy = world.policy();
    const key = await officer.createKey('rsa-key', 'RSA-HSM', {
      exportable: true,
      releasePolicy: policy,
      keySize: 3072,
      keyOps: ['wrapKey', 'unwrapKey'],
      tags: { owner: 'securekey' },
    });
    expect(key.id).toMatch(new RegExp(`^${kv.url}/keys/rsa-key/[0-9a-f]{32}$`));
    expect(key.properties.vaultUrl).toBe(kv.url);
    expect(key.keyType).toBe('RSA-HSM');
    expect(key.key?.n?.length).toBe(384);
    expect(key.keyOperations).toEqual(['wrapKey', 'unwrapKey']);
    expect(key.properties).toMatchObject({
      exportable: true,
      enabled: true,
      recoveryLevel: 'Recoverable+Purgeable',
      recoverableDays: 90,
      tags: { owner: 'securekey' },
    });
    expect(key.properties.createdOn).toBeInstanceOf(Date);
    expect(key.properties.releasePolicy?.contentType).toBe('application/json; charset=utf-8');
    expect(policyOf(key.properties.releasePolicy?.encodedPolicy)).toBe(policyOf(policy.encodedPolicy));

    const latest = await officer.getKey('rsa-key');
    const byVersion = await officer.getKey('rsa-key', { version: key.properties.version });
    expect(latest.id).toBe(key.id);
    expect(byVersion.key?.n).toEqual(key.key?.n);
  });

  it('creates an EC-HSM P-384 key', async () => {
    const key = await officer.createEcKey('ec-key', {
      hsm: true,
      curve: 'P-384',
      exportable: true,
      releasePolicy: world.policy(),
    });
    expect(key.keyType).toBe('EC-HSM');
    expect(key.key?.crv).toBe('P-384');
    expect(key.key?.x?.length).toBe(48);
    expect(key.keyOperations).toEqual(['sign', 'verify']);
  });

  it('updates the release policy of the latest version and of a named version', async () => {
    const created = await officer.createKey('update-me', 'RSA-HSM', {
      exportable: true,
      releasePolicy: world.policy(),
    });
    const other = world.policy({ hostdata: ['a'.repeat(64), world.hostdata] });
    const updated = await officer.updateKeyProperties('update-me', {
      releasePolicy: other,
      tags: { step: '1' },
    });
    expect(policyOf(updated.properties.releasePolicy?.encodedPolicy)).toBe(policyOf(other.encodedPolicy));
    expect(updated.properties.tags).toEqual({ step: '1' });
    const disabled = await officer.updateKeyProperties('update-me', created.properties.version as string, {
      enabled: false,
    });
    expect(disabled.properties.enabled).toBe(false);
    expect(kv.service.writes.updateKey).toBeGreaterThanOrEqual(2);
  });

  it('refuses to change the policy of a key whose policy is immutable', async () => {
    await officer.createKey('frozen', 'RSA-HSM', {
      exportable: true,
      releasePolicy: world.policy({ immutable: true }),
    });
    const err = await rejection(
      officer.updateKeyProperties('frozen', { releasePolicy: world.policy({ hostdata: ['b'.repeat(64)] }) }),
    );
    expect(err).toMatchObject({ statusCode: 400, code: 'BadParameter' });
    expect(err.message).toMatch(/immutable/);
  });

  it('rotates a key, carrying its release policy, and lists versions page by page', async () => {
    const first = await officer.createKey('rotating', 'RSA-HSM', {
      exportable: true,
      releasePolicy: world.policy(),
    });
    const second = await officer.rotateKey('rotating');
    const third = await officer.rotateKey('rotating');
    expect(second.properties.version).not.toBe(first.properties.version);
    expect(second.properties.exportable).toBe(true);
    expect(policyOf(second.properties.releasePolicy?.encodedPolicy)).toBe(
      policyOf(first.properties.releasePolicy?.encodedPolicy),
    );
    expect((await officer.getKey('rotating')).properties.version).toBe(third.properties.version);

    const all: string[] = [];
    for await (const p of officer.listPropertiesOfKeyVersions('rotating')) all.push(p.version as string);
    expect(all).toHaveLength(3);
    expect(all[0]).toBe(first.properties.version);

    const pages: number[] = [];
    for await (const page of officer.listPropertiesOfKeyVersions('rotating').byPage({ maxPageSize: 2 }))
      pages.push(page.length);
    expect(pages).toEqual([2, 1]);
    expect(kv.stats.count('listVersions', 200)).toBeGreaterThanOrEqual(3);
  });

  it('answers create on an existing name as Key Vault does: a new current version, no conflict; tags and enabled are per version', async () => {
    const first = await officer.createKey('twice', 'RSA-HSM', {
      exportable: true,
      releasePolicy: world.policy(),
      tags: { owner: 'first' },
    });
    const second = await officer.createKey('twice', 'RSA-HSM', {
      exportable: true,
      releasePolicy: world.policy(),
      tags: { owner: 'second' },
    });
    expect(second.properties.version).not.toBe(first.properties.version);
    expect((await officer.getKey('twice')).properties.version).toBe(second.properties.version);
    await officer.updateKeyProperties('twice', second.properties.version!, { enabled: false });
    // A disabled current version is still the current one (GET answers it, marked disabled).
    const current = await officer.getKey('twice');
    expect([current.properties.version, current.properties.enabled]).toEqual([
      second.properties.version,
      false,
    ]);
    const versions: Record<string, unknown> = {};
    for await (const p of officer.listPropertiesOfKeyVersions('twice')) {
      versions[p.version!] = { tags: p.tags, enabled: p.enabled };
    }
    expect(versions).toEqual({
      [first.properties.version!]: { tags: { owner: 'first' }, enabled: true },
      [second.properties.version!]: { tags: { owner: 'second' }, enabled: false },
    });
  });

  it('stores and returns a rotation policy', async () => {
    await officer.createRsaKey('with-rotation', { hsm: true });
    await officer.updateKeyRotationPolicy('with-rotation', {
      lifetimeActions: [{ action: 'Rotate', timeAfterCreate: 'P30D' }],
      expiresIn: 'P90D',
    });
    const policy = await officer.getKeyRotationPolicy('with-rotation');
    expect(policy.expiresIn).toBe('P90D');
    expect(policy.lifetimeActions).toEqual([{ action: 'Rotate', timeAfterCreate: 'P30D' }]);
  });

  it('soft-deletes, recovers and purges', async () => {
    await officer.createRsaKey('doomed', { hsm: true });
    const deleted = await (await officer.beginDeleteKey('doomed', poll)).pollUntilDone();
    expect(deleted.properties.recoveryId).toBe(`${kv.url}/deletedkeys/doomed`);
    expect(deleted.properties.scheduledPurgeDate).toBeInstanceOf(Date);
    expect(await rejection(officer.getKey('doomed'))).toMatchObject({ statusCode: 404, code: 'KeyNotFound' });
    expect(await rejection(officer.createRsaKey('doomed', { hsm: true }))).toMatchObject({
      statusCode: 409,
      code: 'Conflict',
    });
    expect((await officer.getDeletedKey('doomed')).name).toBe('doomed');

    await (await officer.beginRecoverDeletedKey('doomed', poll)).pollUntilDone();
    expect((await officer.getKey('doomed')).name).toBe('doomed');

    await (await officer.beginDeleteKey('doomed', poll)).pollUntilDone();
    await officer.purgeDeletedKey('doomed');
    expect(await rejection(officer.getDeletedKey('doomed'))).toMatchObject({
      statusCode: 404,
      code: 'KeyNotFound',
    });
    expect(kv.stats.count('purgeDeletedKey', 204)).toBe(1);
  });

  it('imports an RSA private key as an exportable HSM key', async () => {
    const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = privateKey.export({ format: 'jwk' });
    const toBytes = (s: string | undefined) => Buffer.from(s ?? '', 'base64url');
    const imported = await officer.importKey(
      'imported',
      {
        kty: 'RSA',
        n: toBytes(jwk.n),
        e: toBytes(jwk.e),
        d: toBytes(jwk.d),
        p: toBytes(jwk.p),
        q: toBytes(jwk.q),
        dp: toBytes(jwk.dp),
        dq: toBytes(jwk.dq),
        qi: toBytes(jwk.qi),
      },
      { hardwareProtected: true, exportable: true, releasePolicy: world.policy() },
    );
    expect(imported.keyType).toBe('RSA-HSM');
    expect(Buffer.from(imported.key?.n ?? []).toString('base64url')).toBe(jwk.n);
    expect(imported.key?.d).toBeUndefined();
  });

  it.each([
    [
      'an exportable key without a release policy',
      () => officer.createKey('no-policy', 'RSA-HSM', { exportable: true }),
      400,
      'BadParameter',
      /^AKV\.SKR\.1004: Exportable keys must have release policy\./,
    ],
    [
      'an oct-HSM key in a Key Vault',
      () => officer.createOctKey('oct-in-kv', { hsm: true }),
      400,
      'BadParameter',
      /^Invalid kty value: oct-HSM/,
    ],
    [
      'an exportable software key',
      () => officer.createKey('soft', 'RSA', { exportable: true, releasePolicy: world.policy() }),
      400,
      'BadParameter',
      /Only HSM-protected keys/,
    ],
    [
      'a release policy without version',
      () =>
        officer.createKey('no-version', 'RSA-HSM', {
          exportable: true,
          releasePolicy: {
            encodedPolicy: Buffer.from(
              JSON.stringify({
                anyOf: [{ authority: 'https://a.example', allOf: [{ claim: 'x', equals: 'y' }] }],
              }),
            ),
          },
        }),
      400,
      'BadParameter',
      /^Key Release Policy: missing 'version' property/,
    ],
    [
      'an RSA key of 1024 bits',
      () => officer.createRsaKey('small', { hsm: true, keySize: 1024 }),
      400,
      'BadParameter',
      /Invalid key size 1024/,
    ],
    [
      'a key that does not exist',
      () => officer.getKey('nope'),
      404,
      'KeyNotFound',
      /A key with \(name\/id\) nope was not found/,
    ],
  ])('refuses %s', async (_what, call, status, code, message) => {
    const err = await rejection(call());
    expect(err).toMatchObject({ statusCode: status, code });
    expect(err.message).toMatch(message);
  });
});

describe('the real KeyClient against the simulated Managed HSM', () => {
  it('creates oct-HSM keys with a release policy and reports HSM recovery settings', async () => {
    const key = await hsmOfficer.createKey('aes', 'oct-HSM', {
      keySize: 256,
      exportable: true,
      releasePolicy: world.policy(),
    });
    expect(key.keyType).toBe('oct-HSM');
    expect(key.key?.k).toBeUndefined();
    expect(key.id).toMatch(new RegExp(`^${hsm.url}/keys/aes/[0-9a-f]{32}$`));
    expect(key.properties).toMatchObject({
      exportable: true,
      recoverableDays: 7,
      recoveryLevel: 'CustomizedRecoverable+Purgeable',
      hsmPlatform: '2',
    });
  });

  it('takes the software key type RSA as RSA-HSM, as a real Managed HSM does', async () => {
    const key = await hsmOfficer.createRsaKey('soft');
    expect(key.keyType).toBe('RSA-HSM');
  });
});
