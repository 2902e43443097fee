/**
 * A real Managed HSM key release, recorded by the Azure SDK for JS tests (testdata/azure-sdk-for-js).
 * The recorder sanitised the request URIs (`azure_managedhsm`) and the Authorization header, but not the
 * signed release JWS: its x5c is the HSM's real TLS chain up to DigiCert Global Root G2 and its RS256
 * signature is the HSM's. Not real: the attestation token the SDK sent (signed by its own test issuer)
 * and the runtime key the HSM wrapped to, whose private half the SDK's test server threw away — so
 * `key_hsm` can be parsed and sized but not unwrapped.
 */
import crypto, { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KeyWrapError } from '../keywrap/errors.ts';
import { parseKeyHsm, unwrapKeyHsm } from '../keywrap/key-hsm.ts';
import { selectWrappingKey } from '../runtime-data/x-ms-runtime.ts';
import { expectKind } from '../../test/support/snp.ts';
import { testdata } from '../../test/support/paths.ts';
import {
  decodeBasicConstraints,
  decodeExtKeyUsage,
  decodeSubjectAltDnsNames,
  EXTENDED_KEY_USAGE_OIDS,
  EXTENSION_OIDS,
  getExtension,
} from '../x509/index.ts';
import { ReleaseVerifyError, verifyRelease, type VerifyReleaseOptions } from './verify-release.ts';
import { vaultRootCertificates } from './vault-roots.ts';

interface Entry {
  RequestUri: string;
  RequestMethod: string;
  RequestBody: Record<string, unknown> | null;
  StatusCode: number;
  ResponseBody: Record<string, unknown> | null;
}
const recording = JSON.parse(
  readFileSync(
    testdata('azure-sdk-for-js', 'recording_can_create_an_exportable_key_and_release_it.json'),
    'utf8',
  ),
) as { Entries: Entry[] };
const [, create, release] = recording.Entries as [Entry, Entry, Entry];
const jws = String(release.ResponseBody?.['value']);

const decode = (part: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
const [headerB64, payloadB64, signatureB64] = jws.split('.') as [string, string, string];
const header = decode(headerB64);
const x5c = (header['x5c'] as string[]).map((der) => new X509Certificate(Buffer.from(der, 'base64')));

// The HSM's real name, as its certificate and the signed payload give it; the request URIs are sanitised.
const HSM_HOST = 'timovkeyvaulthsm.managedhsm.azure.net';
const KEY_NAME = 'exportkey-68488';
/** The key's `created` time: the release happened the same second. */
const RECORDED_AT = new Date(1653692560 * 1000);

/** The agent's default trust roots when none are configured: the pinned vault roots. */
const options: VerifyReleaseOptions = {
  trustRoots: vaultRootCertificates(),
  vaultHost: HSM_HOST,
  keyName: KEY_NAME,
  now: RECORDED_AT,
};

async function refused(
  token: string,
  over: Partial<VerifyReleaseOptions>,
  kind: ReleaseVerifyError['kind'],
): Promise<void> {
  const err: unknown = await verifyRelease(token, { ...options, ...over }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ReleaseVerifyError);
  expect((err as ReleaseVerifyError).kind).toBe(kind);
}

describe('Managed HSM release recorded by the Azure SDK for JS', () => {
  it('is a release call answered with a compact JWS carrying an x5c chain', () => {
    expect(release.RequestMethod).toBe('POST');
    expect(release.RequestUri).toContain(`/keys/${KEY_NAME}//release?api-version=7.3`);
    expect(release.StatusCode).toBe(200);
    expect(header).toMatchObject({ alg: 'RS256' });
    expect(header['kid']).toBe(header['x5t#S256']);
    expect(x5c.map((c) => c.subject.split('\n').find((a) => a.startsWith('CN=')))).toEqual([
      `CN=*.${HSM_HOST}`,
      'CN=Microsoft Azure TLS Issuing CA 06',
      'CN=DigiCert Global Root G2',
    ]);
  });

  it('is signed by the HSM’s TLS server certificate, naming the host in its SAN, under a pathLen 0 CA', () => {
    const [leaf, issuing] = x5c as [X509Certificate, X509Certificate];
    const value = (cert: X509Certificate, oid: string) => getExtension(cert, oid)!.value;
    expect(decodeExtKeyUsage(value(leaf, EXTENSION_OIDS.extKeyUsage))).toContain(
      EXTENDED_KEY_USAGE_OIDS.serverAuth,
    );
    expect(decodeSubjectAltDnsNames(value(leaf, EXTENSION_OIDS.subjectAltName))).toEqual([
      `*.${HSM_HOST}`,
      HSM_HOST,
    ]);
    expect(decodeBasicConstraints(value(issuing, EXTENSION_OIDS.basicConstraints))).toEqual({
      ca: true,
      pathLength: 0,
    });
  });

  it("verifies with the agent's release verifier against the pinned vault roots, at the time it was recorded", async () => {
    const verified = await verifyRelease(jws, options);
    expect(verified).toMatchObject({
      kty: 'RSA',
      keyOps: ['encrypt', 'decrypt'],
      kid: `https://${HSM_HOST}/keys/${KEY_NAME}/d07e761c31c24e6b945882cf7ce31729`,
      enc: 'CKM_RSA_AES_KEY_WRAP',
    });
    // The released key is the one the create call made (its public half, in the payload).
    const payloadKey = (decode(payloadB64)['response'] as { key: { key: Record<string, unknown> } }).key.key;
    expect(payloadKey['n']).toBe((create.ResponseBody?.['key'] as Record<string, unknown>)['n']);
  });

  it('is refused with one payload byte changed, under the sanitised host, today, or without its root', async () => {
    const payload = Buffer.from(payloadB64, 'base64url');
    payload[10]! ^= 0x01;
    await refused(`${headerB64}.${payload.toString('base64url')}.${signatureB64}`, {}, 'signature-invalid');
    await refused(jws, { vaultHost: 'azure_managedhsm.managedhsm.azure.net' }, 'host-mismatch');
    await refused(jws, { now: new Date('2025-06-01T00:00:00Z') }, 'certificate-expired'); // the leaf expired in May 2023
    const withoutDigiCertG2 = options.trustRoots.filter((root) => !root.raw.equals(x5c[2]!.raw));
    expect(withoutDigiCertG2.length).toBe(options.trustRoots.length - 1); // the root is pinned, not only in the recording
    await refused(jws, { trustRoots: withoutDigiCertG2 }, 'untrusted-chain');
  });

  it('wraps the key to the runtime key the (test-issued) attestation token names', async () => {
    const keyHsm = parseKeyHsm((await verifyRelease(jws, options)).keyHsm);
    expect(keyHsm.header).toEqual({ alg: 'dir', enc: 'CKM_RSA_AES_KEY_WRAP', kid: 'fake-release-key' });
    expect(keyHsm.schemaVersion).toBe('1.0');
    const target = String(release.RequestBody?.['target']).split('.')[1]!;
    const runtimeKey = selectWrappingKey(decode(target)['x-ms-runtime']);
    expect(runtimeKey.kid).toBe(keyHsm.header.kid);
    const rsaBlock = (runtimeKey.publicKey.asymmetricKeyDetails?.modulusLength ?? 0) / 8;
    expect(rsaBlock).toBe(256);
    // RSA-OAEP block, then AES-KWP output: at least two 8-byte semiblocks, a whole number of them.
    const kwp = keyHsm.ciphertext.length - rsaBlock;
    expect(kwp).toBeGreaterThanOrEqual(16);
    expect(kwp % 8).toBe(0);
    // The runtime private key is gone: any other key fails at the OAEP step.
    const stranger = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    expectKind(() => unwrapKeyHsm(keyHsm, stranger), KeyWrapError, 'oaep-failed');
  });
});
