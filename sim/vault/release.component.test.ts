import crypto from 'node:crypto';
import { compactVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyClient } from '@azure/keyvault-keys';
import { KEY_HSM_ENCS, parseKeyHsm, unwrapKeyHsm } from '../../core/keywrap/key-hsm.ts';
import type { KeyHsmEnc } from '../../core/keywrap/key-hsm.ts';
import { decodeJwt } from '../common/jwt/jwt.ts';
import { startTestIssuer } from '../common/jwt/oidc-issuer.ts';
import type { TestIssuer } from '../common/jwt/oidc-issuer.ts';
import type { RunningVault } from './start.ts';
import { rejection, startWorld } from '../../test/support/sim/vault-world.ts';
import type { World } from '../../test/support/sim/vault-world.ts';

let world: World;
let kv: RunningVault;
let hsm: RunningVault;
let kvOfficer: KeyClient;
let kvAgent: KeyClient;
let hsmOfficer: KeyClient;
let hsmAgent: KeyClient;
let rogue: TestIssuer;

beforeAll(async () => {
  world = await startWorld();
  kv = await world.startVault({ name: 'kv-release' });
  hsm = await world.startVault({ name: 'hsm-release', flavour: 'managedhsm' });
  kvOfficer = world.client(kv, 'officer');
  kvAgent = world.client(kv, 'releaser');
  hsmOfficer = world.client(hsm, 'officer');
  hsmAgent = world.client(hsm, 'releaser');
  rogue = await startTestIssuer({ ca: world.ca, publicHost: 'rogue-attest.localhost' });
  await kvOfficer.createKey('rsa', 'RSA-HSM', { exportable: true, releasePolicy: world.policy() });
  await kvOfficer.createKey('ec', 'EC-HSM', {
    curve: 'P-256K',
    exportable: true,
    releasePolicy: world.policy(),
  });
  await hsmOfficer.createKey('oct', 'oct-HSM', {
    keySize: 256,
    exportable: true,
    releasePolicy: world.policy(),
  });
  await kvOfficer.createKey('not-exportable', 'RSA-HSM', {});
});
afterAll(async () => {
  await rogue?.close();
  await world?.close();
});

/** The vault's own copy of a key version's material (what release must hand out). */
function storedMaterial(vault: RunningVault, name: string, version: string): Buffer {
  const v = vault.service.snapshot().keys[name]?.versions.find((x) => x.version === version);
  if (v === undefined) throw new Error(`no ${name}/${version}`);
  return Buffer.from(v.material, 'base64');
}

interface Released {
  header: Record<string, unknown>;
  payload: {
    request: Record<string, unknown>;
    response: {
      key: {
        attributes: Record<string, unknown>;
        key: Record<string, unknown>;
        release_policy: Record<string, unknown>;
      };
    };
  };
  plaintext: Buffer;
}

/** Verifies the release JWS as the agent will (x5c[0] signature, chain to the CA, SAN) and unwraps. */
async function openRelease(vault: RunningVault, value: string): Promise<Released> {
  const jws = decodeJwt(value);
  const x5c = jws.header['x5c'] as string[];
  const leaf = new crypto.X509Certificate(Buffer.from(x5c[0] as string, 'base64'));
  const caCert = new crypto.X509Certificate(world.ca.certPem);
  await compactVerify(value, leaf.publicKey, { algorithms: ['RS256'] });
  expect(leaf.verify(caCert.publicKey)).toBe(true);
  expect(leaf.checkIssued(caCert)).toBe(true);
  expect(Buffer.from(x5c[1] as string, 'base64').equals(caCert.raw)).toBe(true);
  expect(leaf.checkHost(vault.publicHost)).toBe(vault.publicHost);
  const thumbprint = crypto.createHash('sha256').update(leaf.raw).digest('base64url');
  expect(jws.header).toEqual({ alg: 'RS256', kid: thumbprint, x5c, 'x5t#S256': thumbprint });
  const payload = jws.payload as unknown as Released['payload'];
  const plaintext = unwrapKeyHsm(payload.response.key.key['key_hsm'] as string, world.runtime.privateKey);
  return { header: jws.header, payload, plaintext };
}

const ENCS = Object.keys(KEY_HSM_ENCS) as KeyHsmEnc[];

describe('Secure Key Release through the real KeyClient', () => {
  it.each(ENCS)(
    'releases an RSA-HSM key wrapped with %s; unwrapping yields the vault PKCS#8',
    async (enc) => {
      const { value } = await kvAgent.releaseKey('rsa', world.attestationToken({ nonce: 'n1' }), {
        algorithm: enc,
        nonce: 'n0nce',
      });
      const r = await openRelease(kv, value);
      const kid = r.payload.request['kid'] as string;
      const version = kid.split('/').pop() as string;
      expect(r.payload.request).toEqual({ 'api-version': '2025-07-01', enc, kid, nonce: 'n0nce' });
      expect(kid).toMatch(new RegExp(`^${kv.url}/keys/rsa/[0-9a-f]{32}$`));
      expect(r.plaintext.equals(storedMaterial(kv, 'rsa', version))).toBe(true);
      const released = crypto.createPrivateKey({ key: r.plaintext, format: 'der', type: 'pkcs8' });
      const k = r.payload.response.key.key;
      expect(k).toMatchObject({ kty: 'RSA', kid, n: released.export({ format: 'jwk' }).n, e: 'AQAB' });
      expect(Object.keys(k)).toEqual(['e', 'key_hsm', 'key_ops', 'kid', 'kty', 'n']);
      expect(parseKeyHsm(k['key_hsm'] as string).header).toEqual({ alg: 'dir', enc, kid: world.runtime.kid });
      expect(r.payload.response.key.attributes).toMatchObject({
        exportable: true,
        enabled: true,
        recoveryLevel: 'Recoverable+Purgeable',
      });
      expect(r.payload.response.key.release_policy).toMatchObject({
        contentType: 'application/json; charset=utf-8',
      });
    },
  );

  it.each(ENCS)('releases an EC-HSM (P-256K) key wrapped with %s', async (enc) => {
    const version = (await kvOfficer.getKey('ec')).properties.version as string;
    const { value } = await kvAgent.releaseKey('ec', world.attestationToken(), { algorithm: enc, version });
    const r = await openRelease(kv, value);
    expect(r.plaintext.equals(storedMaterial(kv, 'ec', version))).toBe(true);
    const released = crypto.createPrivateKey({ key: r.plaintext, format: 'der', type: 'pkcs8' });
    expect(released.asymmetricKeyDetails?.namedCurve).toBe('secp256k1');
    expect(r.payload.response.key.key).toMatchObject({ kty: 'EC', crv: 'P-256K' });
    expect(r.payload.request['enc']).toBe(enc);
  });

  it.each(ENCS)('releases a Managed HSM oct-HSM key wrapped with %s as its raw bytes', async (enc) => {
    const { value } = await hsmAgent.releaseKey('oct', world.attestationToken(), { algorithm: enc });
    const r = await openRelease(hsm, value);
    const version = (r.payload.request['kid'] as string).split('/').pop() as string;
    expect(r.plaintext).toHaveLength(32);
    expect(r.plaintext.equals(storedMaterial(hsm, 'oct', version))).toBe(true);
    expect(Object.keys(r.payload.response.key.key)).toEqual(['key_hsm', 'key_ops', 'kid', 'kty']);
    expect(r.payload.response.key.key['kty']).toBe('oct');
    expect(r.payload.response.key.attributes).toMatchObject({ recoverableDays: 7 });
  });

  it('defaults enc to CKM_RSA_AES_KEY_WRAP and omits an absent nonce', async () => {
    const r = await openRelease(kv, (await kvAgent.releaseKey('rsa', world.attestationToken())).value);
    expect(r.payload.request['enc']).toBe('CKM_RSA_AES_KEY_WRAP');
    expect('nonce' in r.payload.request).toBe(false);
  });

  it('releases the new version after a rotation', async () => {
    await kvOfficer.createKey('rotated', 'RSA-HSM', { exportable: true, releasePolicy: world.policy() });
    const next = await kvOfficer.rotateKey('rotated');
    const r = await openRelease(kv, (await kvAgent.releaseKey('rotated', world.attestationToken())).value);
    expect(r.payload.request['kid']).toBe(next.id);
    expect(r.plaintext.equals(storedMaterial(kv, 'rotated', next.properties.version as string))).toBe(true);
  });
});

describe('release refusals, with the service status and code', () => {
  const now = () => Math.floor(Date.now() / 1000);

  it('refuses an expired attestation token (403)', async () => {
    const err = await rejection(
      kvAgent.releaseKey(
        'rsa',
        world.attestationToken({ iat: now() - 40_000, nbf: now() - 40_000, exp: now() - 3600 }),
      ),
    );
    expect(err).toMatchObject({ statusCode: 403, code: 'Forbidden' });
    expect(err.message).toMatch(/cannot be verified: the token expired/);
  });

  it('refuses a token that is not yet valid (403)', async () => {
    const err = await rejection(kvAgent.releaseKey('rsa', world.attestationToken({ nbf: now() + 3600 })));
    expect(err).toMatchObject({ statusCode: 403, code: 'Forbidden' });
    expect(err.message).toMatch(/not valid before/);
  });

  it("refuses a token signed by a key not in the issuer's JWKS (403)", async () => {
    const err = await rejection(kvAgent.releaseKey('rsa', world.attestationToken({}, { key: 'unknown' })));
    expect(err).toMatchObject({ statusCode: 403, code: 'Forbidden' });
    expect(err.message).toMatch(/no key with kid "not-in-the-jwks"/);
  });

  it('refuses a token whose header names no kid, and one with an unknown crit extension (403)', async () => {
    const noKid = await rejection(
      kvAgent.releaseKey('rsa', world.attestationToken({}, { header: { kid: null } })),
    );
    expect(noKid).toMatchObject({ statusCode: 403, code: 'Forbidden' });
    expect(noKid.message).toMatch(/names no kid/);
    const crit = await rejection(
      kvAgent.releaseKey('rsa', world.attestationToken({}, { header: { crit: ['exp-ext'], 'exp-ext': 1 } })),
    );
    expect(crit).toMatchObject({ statusCode: 403 });
    expect(crit.message).toMatch(/crit/);
  });

  it('refuses a token whose signature does not verify under the published kid (403)', async () => {
    const err = await rejection(kvAgent.releaseKey('rsa', world.attestationToken({}, { key: 'impostor' })));
    expect(err).toMatchObject({ statusCode: 403, code: 'Forbidden' });
    expect(err.message).toMatch(/signature does not verify/);
  });

  it('refuses an unsigned token (403)', async () => {
    const [, payload] = world.attestationToken().split('.');
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${payload}.`;
    expect(await rejection(kvAgent.releaseKey('rsa', none))).toMatchObject({
      statusCode: 403,
      code: 'Forbidden',
    });
  });

  it('refuses a token from an authority the policy does not name, without contacting it (403)', async () => {
    const before = rogue.requests();
    const err = await rejection(kvAgent.releaseKey('rsa', world.attestationToken({}, { issuer: rogue })));
    expect(err).toMatchObject({ statusCode: 403, code: 'Forbidden' });
    expect(err.message).toContain(
      `its issuer ${rogue.issuer} is not an authority of this key's release policy`,
    );
    // Nothing of the policy is disclosed before the token's signature is checked.
    expect(err.message).not.toContain(world.attest.issuer);
    expect(rogue.requests()).toBe(before);
  });

  it('refuses a token whose hostdata the policy does not admit, naming it (403)', async () => {
    const other = crypto.randomBytes(32).toString('hex');
    const err = await rejection(
      kvAgent.releaseKey('rsa', world.attestationToken({ 'x-ms-sevsnpvm-hostdata': other })),
    );
    expect(err).toMatchObject({ statusCode: 403, code: 'Forbidden' });
    expect(err.message).toContain(
      `x-ms-sevsnpvm-hostdata: token has "${other}", policy wants "${world.hostdata}"`,
    );
  });

  it('refuses a debuggable environment (403)', async () => {
    const err = await rejection(
      kvAgent.releaseKey('rsa', world.attestationToken({ 'x-ms-sevsnpvm-is-debuggable': true })),
    );
    expect(err).toMatchObject({ statusCode: 403, code: 'Forbidden' });
    expect(err.message).toMatch(/x-ms-sevsnpvm-is-debuggable: token has true, policy wants "false"/);
  });

  it('refuses a token with no encryption key in x-ms-runtime (400)', async () => {
    const signingOnly = {
      keys: [{ ...(world.runtime.xMsRuntime['keys'] as Record<string, unknown>[])[0], key_ops: ['verify'] }],
    };
    const err = await rejection(
      kvAgent.releaseKey('rsa', world.attestationToken({ 'x-ms-runtime': signingOnly })),
    );
    expect(err).toMatchObject({ statusCode: 400, code: 'BadParameter' });
    expect(err.message).toMatch(
      /no key to wrap the released key to: none of the 1 keys in x-ms-runtime\.keys is suitable/,
    );
  });

  it('refuses to release a non-exportable key (400)', async () => {
    const err = await rejection(kvAgent.releaseKey('not-exportable', world.attestationToken()));
    expect(err).toMatchObject({ statusCode: 400, code: 'BadParameter' });
    expect(err.message).toMatch(/is not exportable/);
  });

  it('refuses an unknown enc (400)', async () => {
    const err = await rejection(
      kvAgent.releaseKey('rsa', world.attestationToken(), { algorithm: 'RSA_AES_KEY_WRAP_512' as never }),
    );
    expect(err).toMatchObject({ statusCode: 400, code: 'BadParameter' });
    expect(err.message).toMatch(/Invalid enc value/);
  });

  it('refuses a disabled key (403)', async () => {
    await kvOfficer.createKey('disabled', 'RSA-HSM', {
      exportable: true,
      releasePolicy: world.policy(),
      enabled: false,
    });
    expect(await rejection(kvAgent.releaseKey('disabled', world.attestationToken()))).toMatchObject({
      statusCode: 403,
      code: 'Forbidden',
    });
  });

  it('refuses a garbage target (400)', async () => {
    expect(await rejection(kvAgent.releaseKey('rsa', 'not.a-token'))).toMatchObject({
      statusCode: 400,
      code: 'BadParameter',
    });
  });
});
