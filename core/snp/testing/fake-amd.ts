/**
 * A fake AMD chain for tests, built with the x509 builder the way AMD builds the real one (same names,
 * algorithm, extensions; go-sev-guest `testing/fake_certs.go` is the model). Test support only: it is
 * not exported from the SNP index, and the simulators will grow their own device on top of it.
 */
import crypto, { X509Certificate, type KeyObject } from 'node:crypto';
import {
  buildCertificate,
  subjectNameDer,
  type CertificateOptions,
  type NameAttributeInput,
} from '../../x509/index.ts';
import { encodeKdsExtensions, type EncodeKdsOptions, type KdsExtensions } from '../kds.ts';
import type { SnpProduct } from '../tcb.ts';

export interface KeyPair {
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
}

export interface FakeAmdKeys {
  readonly ark: KeyPair;
  readonly ask: KeyPair;
  readonly vcek: KeyPair;
}

function rsa4096(): Promise<KeyPair> {
  return new Promise((resolve, reject) => {
    crypto.generateKeyPair('rsa', { modulusLength: 4096 }, (err, publicKey, privateKey) =>
      err ? reject(err) : resolve({ publicKey, privateKey }),
    );
  });
}

/** RSA-4096 for ARK and ASK (generated in parallel; this takes seconds), P-384 for the VCEK. */
export async function generateFakeAmdKeys(): Promise<FakeAmdKeys> {
  const [ark, ask] = await Promise.all([rsa4096(), rsa4096()]);
  return { ark, ask, vcek: crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' }) };
}

/** AMD's subject layout: OU, C, L, ST, O, CN. */
export function amdName(cn: string): NameAttributeInput[] {
  return [
    { type: 'OU', value: 'Engineering' },
    { type: 'C', value: 'US' },
    { type: 'L', value: 'Santa Clara' },
    { type: 'ST', value: 'CA' },
    { type: 'O', value: 'Advanced Micro Devices' },
    { type: 'CN', value: cn },
  ];
}

export const FAKE_VALIDITY = {
  notBefore: new Date('2020-10-22T00:00:00Z'),
  notAfter: new Date('2045-10-22T00:00:00Z'),
  vcekNotBefore: new Date('2024-01-01T00:00:00Z'),
  vcekNotAfter: new Date('2031-01-01T00:00:00Z'),
} as const;

const crl = (product: SnpProduct): string => `https://kdsintf.amd.com/vcek/v1/${product}/crl`;

export function fakeArk(
  keys: FakeAmdKeys,
  product: SnpProduct,
  overrides: Partial<CertificateOptions> = {},
): X509Certificate {
  return new X509Certificate(
    buildCertificate({
      serial: 0xc0dec0den,
      subject: amdName(`ARK-${product}`),
      issuer: amdName(`ARK-${product}`),
      ...FAKE_VALIDITY,
      publicKey: keys.ark.publicKey,
      signingKey: keys.ark.privateKey,
      signatureAlgorithm: 'rsa-pss-sha384',
      keyUsage: ['keyCertSign', 'cRLSign'],
      subjectKeyIdentifier: true,
      basicConstraints: { ca: true },
      crlDistributionPoints: [crl(product)],
      ...overrides,
    }),
  );
}

export function fakeAsk(
  keys: FakeAmdKeys,
  product: SnpProduct,
  ark: X509Certificate,
  overrides: Partial<CertificateOptions> = {},
): X509Certificate {
  return new X509Certificate(
    buildCertificate({
      serial: 0x10001,
      subject: amdName(`SEV-${product}`),
      issuer: subjectNameDer(ark),
      ...FAKE_VALIDITY,
      publicKey: keys.ask.publicKey,
      signingKey: keys.ark.privateKey,
      signatureAlgorithm: 'rsa-pss-sha384',
      subjectKeyIdentifier: true,
      authorityKeyIdentifier: true,
      basicConstraints: { ca: true, pathLength: 0 },
      keyUsage: ['keyCertSign'],
      crlDistributionPoints: [crl(product)],
      ...overrides,
    }),
  );
}

export interface FakeVcekOptions extends EncodeKdsOptions {
  readonly extensions: KdsExtensions;
  readonly overrides?: Partial<CertificateOptions>;
  /** Defaults to `keys.ask.privateKey`. */
  readonly signingKey?: KeyObject;
  /** Defaults to `keys.vcek.publicKey`. */
  readonly publicKey?: KeyObject;
}

export function fakeVcek(keys: FakeAmdKeys, ask: X509Certificate, options: FakeVcekOptions): X509Certificate {
  return new X509Certificate(
    buildCertificate({
      serial: 0,
      subject: amdName('SEV-VCEK'),
      issuer: subjectNameDer(ask),
      notBefore: FAKE_VALIDITY.vcekNotBefore,
      notAfter: FAKE_VALIDITY.vcekNotAfter,
      publicKey: options.publicKey ?? keys.vcek.publicKey,
      signingKey: options.signingKey ?? keys.ask.privateKey,
      signatureAlgorithm: 'rsa-pss-sha384',
      extensions: encodeKdsExtensions(options.extensions, options),
      ...options.overrides,
    }),
  );
}
