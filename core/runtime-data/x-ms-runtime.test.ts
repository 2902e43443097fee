import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RuntimeDataError } from './errors.ts';
import type { RuntimeDataErrorKind } from './errors.ts';
import {
  ACI_RUNTIME_DATA_B64,
  ACI_RUNTIME_KID,
  MAA_RUNTIME_DATA_B64,
} from '../../test/support/microsoft-vectors.ts';
import { runtimeKeyJwks } from './runtime-key-jwks.ts';
import { parseRuntimeData, selectWrappingKey } from './x-ms-runtime.ts';

function expectKind(fn: () => unknown, kind: RuntimeDataErrorKind): RuntimeDataError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RuntimeDataError);
    expect((err as RuntimeDataError).kind).toBe(kind);
    return err as RuntimeDataError;
  }
  throw new Error(`expected a RuntimeDataError of kind ${kind}`);
}

const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const { n, e } = publicKey.export({ format: 'jwk' });

describe('parseRuntimeData', () => {
  it('the MAA REST example: keys and vm-configuration, as x-ms-runtime shows them', () => {
    const runtime = parseRuntimeData(Buffer.from(MAA_RUNTIME_DATA_B64, 'base64'));
    expect(Object.keys(runtime).sort()).toEqual(['keys', 'vm-configuration']);
    expect(runtime['vm-configuration']).toMatchObject({ 'secure-boot': true, 'tpm-enabled': true });
  });

  it('not UTF-8, not JSON, or not an object → runtime-data-not-json', () => {
    expectKind(() => parseRuntimeData(Buffer.from([0x7b, 0xff, 0x7d])), 'runtime-data-not-json');
    expectKind(() => parseRuntimeData(Buffer.from('{"keys":')), 'runtime-data-not-json');
    expectKind(() => parseRuntimeData(Buffer.from('[{"keys":[]}]')), 'runtime-data-not-json');
    expectKind(() => parseRuntimeData(Buffer.from('null')), 'runtime-data-not-json');
  });
});

describe('selectWrappingKey', () => {
  it('picks the MAA REST example’s HCLTransferKey', () => {
    const key = selectWrappingKey(parseRuntimeData(Buffer.from(MAA_RUNTIME_DATA_B64, 'base64')));
    expect(key.kid).toBe('HCLTransferKey');
    expect(key.index).toBe(0);
    expect(key.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
  });

  it('picks the ACI example’s thumbprint-named key', () => {
    expect(selectWrappingKey(parseRuntimeData(Buffer.from(ACI_RUNTIME_DATA_B64, 'base64'))).kid).toBe(
      ACI_RUNTIME_KID,
    );
  });

  it('round-trips with runtimeKeyJwks: the selected key is ours', () => {
    const { bytes, kid } = runtimeKeyJwks(publicKey);
    const key = selectWrappingKey(parseRuntimeData(bytes));
    expect(key.kid).toBe(kid);
    expect(key.publicKey.equals(publicKey)).toBe(true);
    const secret = crypto.publicEncrypt(key.publicKey, Buffer.from('kek'));
    expect(crypto.privateDecrypt(privateKey, secret).toString()).toBe('kek');
  });

  it('skips unsuitable keys and takes the first suitable one', () => {
    const runtime = {
      keys: [
        { kty: 'EC', kid: 'ec', key_ops: ['encrypt'], crv: 'P-256', x: 'AA', y: 'AA' },
        { kty: 'RSA', key_ops: ['encrypt'], n, e }, // no kid
        { kty: 'RSA', kid: '', key_ops: ['encrypt'], n, e }, // empty kid
        { kty: 'RSA', kid: 'signing', key_ops: ['sign', 'verify'], n, e },
        { kty: 'RSA', kid: 'sig-use', use: 'sig', n, e },
        'not a key',
        { kty: 'RSA', kid: 'by-use', use: 'enc', n, e },
        { kty: 'RSA', kid: 'later', key_ops: ['encrypt'], n, e },
      ],
    };
    expect(selectWrappingKey(runtime)).toMatchObject({ kid: 'by-use', index: 6 });
    expect(selectWrappingKey({ keys: [{ kty: 'RSA', kid: 'ku', key_use: 'enc', n, e }] }).kid).toBe('ku');
    expect(selectWrappingKey({ keys: runtime.keys.slice(7) }).kid).toBe('later');
  });

  it('nothing suitable → no-encryption-key', () => {
    expectKind(() => selectWrappingKey({ keys: [] }), 'no-encryption-key');
    expectKind(
      () => selectWrappingKey({ keys: [{ kty: 'RSA', kid: 's', key_ops: ['sign'], n, e }] }),
      'no-encryption-key',
    );
    expectKind(
      () => selectWrappingKey({ keys: [{ kty: 'RSA-HSM', kid: 'h', key_ops: ['encrypt'], n, e }] }),
      'no-encryption-key',
    );
    expectKind(() => selectWrappingKey({ 'vm-configuration': {} }), 'no-encryption-key');
    expectKind(() => selectWrappingKey({ keys: 'none' }), 'no-encryption-key');
    expectKind(() => selectWrappingKey(undefined), 'no-encryption-key');
  });

  it('a suitable key without a usable n/e → bad-runtime-key naming its index', () => {
    const err = expectKind(
      () => selectWrappingKey({ keys: [{ kty: 'RSA', kid: 'k', key_ops: ['encrypt'], e }] }),
      'bad-runtime-key',
    );
    expect(err.message).toContain('keys[0]');
    expectKind(
      () => selectWrappingKey({ keys: [{ kty: 'RSA', kid: 'k', key_ops: ['encrypt'], n: 7, e }] }),
      'bad-runtime-key',
    );
  });
});

describe('selectWrappingKey refuses keys too weak to wrap an HSM key to', () => {
  const jwkOf = (bits: number, kid: string) => {
    const { n, e } = crypto
      .generateKeyPairSync('rsa', { modulusLength: bits })
      .publicKey.export({ format: 'jwk' }) as { n: string; e: string };
    return { kty: 'RSA', kid, key_ops: ['encrypt'], n, e };
  };

  it('skips an RSA-1024 key and takes the next suitable one', () => {
    const weak = jwkOf(1024, 'weak');
    const strong = jwkOf(2048, 'strong');
    expect(selectWrappingKey({ keys: [weak, strong] }).kid).toBe('strong');
    expect(() => selectWrappingKey({ keys: [weak] })).toThrow(/none of the 1 keys/);
  });

  it('skips a key whose public exponent is not 65537', () => {
    const e3 = { ...jwkOf(2048, 'e3'), e: 'Aw' };
    expect(() => selectWrappingKey({ keys: [e3] })).toThrow(RuntimeDataError);
  });
});
