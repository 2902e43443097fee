/**
 * Create and import requests the real services answer in a way the Azure SDK's recordings show
 * (azure-sdk-for-js `keyvault-keys` recordings, 2021–2022): refused as there, accepted as there.
 */
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { apiVersionOf } from './api-version.ts';
import { VaultError } from './errors.ts';
import { MemoryStore } from './store.ts';
import type { VaultFlavour } from './state.ts';
import { VaultService } from './vault-service.ts';

function service(flavour: VaultFlavour): VaultService {
  return new VaultService({
    flavour,
    baseUrl: `https://sim.${flavour === 'managedhsm' ? 'managedhsm' : 'vault'}.azure.net`,
    store: new MemoryStore(),
    // Neither is reached by create or import.
    signer: { key: crypto.createSecretKey(Buffer.alloc(32)), chainDer: [] },
    attestationKeys: {} as never,
  });
}

const b64url = (json: unknown): string => Buffer.from(JSON.stringify(json)).toString('base64url');
const fromB64url = (data: string): unknown => JSON.parse(Buffer.from(data, 'base64url').toString('utf8'));

/** The policy the SDK tests sent in 2021: version "1.0", the legacy condition form, an anyOf group. */
const legacyPolicy = {
  version: '1.0',
  anyOf: [
    {
      authority: 'https://skrattestation.azurewebsites.net/',
      anyOf: [{ value: 'true', condition: 'equals', claim: 'sdk-test' }],
    },
  ],
};

function refusal(fn: () => unknown): VaultError {
  try {
    fn();
  } catch (err) {
    if (err instanceof VaultError) return err;
    throw err;
  }
  throw new Error('expected a VaultError');
}

const rsaJwk = (): Record<string, unknown> => {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kty: 'RSA' };
};

describe('a release policy on a non-exportable key', () => {
  const body = { kty: 'RSA-HSM', attributes: {}, release_policy: { data: b64url(legacyPolicy) } };

  it('Managed HSM refuses create with 400 BadParameter in its words', async () => {
    const err = await service('managedhsm')
      .createKey('policynonexportable', body)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(VaultError);
    expect(err).toMatchObject({
      status: 400,
      kind: 'BadParameter',
      message: 'Non-exportable keys must not have release policy',
    });
  });

  it('Key Vault refuses create with AKV.SKR.1005', async () => {
    const err = await service('keyvault')
      .createKey('policynonexportable', body)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toMatchObject({
      status: 400,
      kind: 'BadParameter',
      message: 'AKV.SKR.1005: Non-exportable keys must not have release policy.',
    });
  });

  it.each(['managedhsm', 'keyvault'] as const)('%s refuses import too', (flavour) => {
    const err = refusal(() =>
      service(flavour).importKey('imported', {
        key: rsaJwk(),
        hsm: true,
        release_policy: { data: b64url(legacyPolicy) },
      }),
    );
    expect(err.status).toBe(400);
    expect(err.message).toContain('Non-exportable keys must not have release policy');
  });

  it('an envelope without data is no policy, and a non-exportable key without one is created', async () => {
    const bundle = await service('managedhsm').createKey('plain', { kty: 'RSA-HSM', release_policy: {} });
    expect(bundle['release_policy']).toBeUndefined();
  });
});

describe('Managed HSM takes RSA as RSA-HSM', () => {
  it('on create', async () => {
    const bundle = await service('managedhsm').createKey('exportkey', {
      kty: 'RSA',
      key_ops: ['encrypt', 'decrypt'],
      attributes: { exportable: true },
      release_policy: { data: b64url(legacyPolicy) },
    });
    expect((bundle['key'] as Record<string, unknown>)['kty']).toBe('RSA-HSM');
  });

  it('on import without the hsm flag', () => {
    const bundle = service('managedhsm').importKey('importreleasekey', {
      key: rsaJwk(),
      attributes: { exportable: true },
      release_policy: { data: b64url(legacyPolicy) },
    });
    expect((bundle['key'] as Record<string, unknown>)['kty']).toBe('RSA-HSM');
  });

  it('while Key Vault keeps RSA a software key, which cannot be exportable', async () => {
    const kv = service('keyvault');
    const bundle = await kv.createKey('soft', { kty: 'RSA' });
    expect((bundle['key'] as Record<string, unknown>)['kty']).toBe('RSA');
    const err = await kv
      .createKey('soft-exportable', {
        kty: 'RSA',
        attributes: { exportable: true },
        release_policy: { data: b64url(legacyPolicy) },
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toMatchObject({ status: 400, kind: 'BadParameter' });
  });

  it('and still refuses a type it does not know', async () => {
    const err = await service('managedhsm')
      .createKey('odd', { kty: 'RSA-HSM-X' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toMatchObject({ status: 400, innerCode: 'KeyTypeNotSupported' });
  });
});

describe('the stored release policy', () => {
  it('is the legacy form rewritten as equals, version 1.0.0, members sorted, as real mHSM answered', async () => {
    const bundle = await service('managedhsm').createKey('exportkey', {
      kty: 'RSA',
      attributes: { exportable: true },
      release_policy: { data: b64url(legacyPolicy) },
    });
    const data = (bundle['release_policy'] as { data: string }).data;
    // Byte for byte what the recorded Managed HSM returned for this request (2021-07-16).
    expect(Buffer.from(data, 'base64url').toString('utf8')).toBe(
      '{"anyOf":[{"anyOf":[{"claim":"sdk-test","equals":"true"}],"authority":"https://skrattestation.azurewebsites.net/"}],"version":"1.0.0"}',
    );
    expect(fromB64url(data)).toEqual({
      anyOf: [
        {
          anyOf: [{ claim: 'sdk-test', equals: 'true' }],
          authority: 'https://skrattestation.azurewebsites.net/',
        },
      ],
      version: '1.0.0',
    });
  });

  it('keeps nested groups and modern operators, sorting their members too', async () => {
    const policy = {
      version: '1.0.0',
      anyOf: [
        {
          authority: 'https://a.example',
          allOf: [
            { equals: 'sevsnpvm', claim: 'x-ms-attestation-type' },
            { anyOf: [{ condition: 'equals', value: false, claim: 'x-ms-sevsnpvm-is-debuggable' }] },
          ],
        },
      ],
    };
    const bundle = await service('keyvault').createKey('nested', {
      kty: 'RSA-HSM',
      attributes: { exportable: true },
      release_policy: { data: b64url(policy) },
    });
    expect(
      Buffer.from((bundle['release_policy'] as { data: string }).data, 'base64url').toString('utf8'),
    ).toBe(
      '{"anyOf":[{"allOf":[{"claim":"x-ms-attestation-type","equals":"sevsnpvm"},{"anyOf":[{"claim":"x-ms-sevsnpvm-is-debuggable","equals":false}]}],"authority":"https://a.example"}],"version":"1.0.0"}',
    );
  });
});

describe('api-version', () => {
  it.each(['7.3-preview', '7.3', '7.4', '2025-07-01'])('%s is served', (v) => {
    expect(apiVersionOf(new URLSearchParams({ 'api-version': v }))).toBe(v);
  });

  it.each(['7.2', '7.3-preview.1', '7.4-preview'])('%s is refused', (v) => {
    const err = refusal(() => apiVersionOf(new URLSearchParams({ 'api-version': v })));
    expect(err.message).toContain(`The specified version (${v}) is not recognized`);
  });
});
