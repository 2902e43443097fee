import { describe, expect, it } from 'vitest';
import type { KeySpec } from '../config.ts';
import {
  BadSkrRequest,
  keyNamed,
  keyReleaseRequest,
  maaAttestRequest,
  rawAttestRequest,
} from './requests.ts';

const key = (alias: string, over: Partial<KeySpec> = {}): KeySpec => ({
  alias,
  vaultUrl: 'https://contoso.managedhsm.azure.net',
  name: `${alias}-key`,
  attestationUrl: 'https://sharedeus.eus.attest.azure.net',
  format: 'raw',
  path: `/run/securekey/${alias}`,
  ...over,
});
const release = (kid: string, akv = 'contoso.managedhsm.azure.net', maa = 'sharedeus.eus.attest.azure.net') =>
  keyReleaseRequest(JSON.stringify({ maa_endpoint: maa, akv_endpoint: akv, kid }));

describe('SKR API requests', () => {
  it('reads the bodies the sidecar binds, refusing what its required fields refuse', () => {
    expect(release('db-key')).toEqual({
      maaEndpoint: 'sharedeus.eus.attest.azure.net',
      akvEndpoint: 'contoso.managedhsm.azure.net',
      kid: 'db-key',
    });
    expect(() => keyReleaseRequest('{"maa_endpoint":"m","akv_endpoint":"a","kid":""}')).toThrow(
      'invalid request format: kid is required',
    );
    expect(() => keyReleaseRequest('{"maa_endpoint":"m","akv_endpoint":"a","kid":7}')).toThrow(
      'kid is not a string',
    );
    expect(() => keyReleaseRequest('[]')).toThrow(BadSkrRequest);
    expect(maaAttestRequest('{"maa_endpoint":"m","runtime_data":"e30="}').runtimeData.toString()).toBe('{}');
    expect(rawAttestRequest('{"runtime_data":"+/+/"}').runtimeData).toEqual(Buffer.from([0xfb, 0xff, 0xbf]));
    for (const bad of ['e30', '-_-_', 'e30=\n', 'e3 0=']) {
      expect(() => rawAttestRequest(JSON.stringify({ runtime_data: bad }))).toThrow(/runtime data/);
    }
  });

  it('names a key of the pod by name (any case), version, vault host and authority host', () => {
    const keys = [key('db'), key('tls', { version: 'abc123', vaultUrl: 'https://kv.vault.azure.net:8443' })];
    expect(keyNamed(keys, release('DB-KEY'))?.alias).toBe('db');
    expect(keyNamed(keys, release('db-key/anyversion'))?.alias).toBe('db');
    expect(keyNamed(keys, release('tls-key/abc123', 'kv.vault.azure.net:8443'))?.alias).toBe('tls');
    expect(keyNamed(keys, release('tls-key/other', 'kv.vault.azure.net:8443'))).toBeUndefined();
    expect(keyNamed(keys, release('tls-key', 'kv.vault.azure.net'))).toBeUndefined();
    expect(keyNamed(keys, release('db-key', 'contoso.managedhsm.azure.net:443'))?.alias).toBe('db');
    expect(keyNamed(keys, release('db-key', 'https://contoso.managedhsm.azure.net'))).toBeUndefined();
    expect(keyNamed(keys, release('db-key', undefined, 'other.attest.azure.net'))).toBeUndefined();
    expect(keyNamed(keys, release('db-key/v/x'))).toBeUndefined();
  });
});
