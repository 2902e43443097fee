import crypto, { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { testdata } from '../../test/support/paths.ts';
import { CborTag, encodeCbor, HEADER, signCoseSign1, type CborValue } from '../cose/index.ts';
import { createCertificateAuthority, issueLeaf, type ExtendedKeyUsage } from '../x509/index.ts';
import {
  decodeReferenceInfoFile,
  parseDidX509,
  parseReferenceInfo,
  UVM_SIGNING_EKU,
  UvmEndorsementError,
  verifyUvmEndorsement,
  type ReferenceInfo,
} from './index.ts';

// Microsoft's published reference info (testdata/README.md): a PS384 COSE_Sign1 by "ContainerPlat".
const REAL = decodeReferenceInfoFile(
  readFileSync(testdata('uvm-reference-info/reference-info-base64'), 'utf8'),
);
const REAL_MEASUREMENT =
  '03fea02823189b25d0623a5c81f97c8ba4d2fbc48c914a55ce525f90454ddcec303743dac2fc013f0846912d1412f6df';
const SIGNED_AT = new Date('2023-04-20T23:48:38Z');

const kindOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (err) {
    return err instanceof UvmEndorsementError ? err.kind : `not a UvmEndorsementError: ${String(err)}`;
  }
  return undefined;
};

describe('Microsoft’s UVM reference info', () => {
  const info = parseReferenceInfo(REAL);
  const microsoftRoot = info.x5chain[2]!;

  it('reads the headers and payload', () => {
    expect(info.alg).toBe(-38); // PS384
    expect(info.contentType).toBe('application/json');
    expect(info.feed).toBe('ContainerPlat-AMD-UVM');
    expect(info.issuer).toBe(
      'did:x509:0:sha256:I__iuL25oXEVFdTP_aBLx_eT1RPHbCQ_ECBQfYZpt9s::eku:1.3.6.1.4.1.311.76.59.1.2',
    );
    expect(info.signingTime).toEqual(SIGNED_AT);
    expect(info.guestSvn).toBe('100');
    expect(info.launchMeasurement).toBe(REAL_MEASUREMENT);
    expect(info.x5chain.map((c) => c.subject.split('\n').at(-1))).toEqual([
      'CN=ContainerPlat',
      'CN=Microsoft SCD Products RSA CA',
      'CN=Microsoft Supply Chain RSA Root CA 2022',
    ]);
    // The issuer's fingerprint is that of Microsoft's Supply Chain root.
    expect(crypto.createHash('sha256').update(microsoftRoot.raw).digest()).toEqual(
      parseDidX509(info.issuer).fingerprint,
    );
  });

  it('verifies: signature by the leaf, chain to the root, did:x509, feed, measurement', () => {
    expect(
      verifyUvmEndorsement(info, Buffer.from(REAL_MEASUREMENT, 'hex'), {
        trustedRoots: [microsoftRoot],
        now: SIGNED_AT,
      }),
    ).toEqual({
      issuer: info.issuer,
      feed: 'ContainerPlat-AMD-UVM',
      guestSvn: '100',
      launchMeasurement: REAL_MEASUREMENT,
    });
  });

  it('refuses another measurement, another root, an expired chain and a changed payload', () => {
    const policy = { trustedRoots: [microsoftRoot], now: SIGNED_AT };
    const other = Buffer.alloc(48, 1);
    expect(kindOf(() => verifyUvmEndorsement(info, other, policy))).toBe('measurement-mismatch');
    const strangerRoot = new X509Certificate(
      createCertificateAuthority({
        subject: [{ type: 'CN', value: 'x' }],
        notBefore: SIGNED_AT,
        notAfter: SIGNED_AT,
      }).certDer,
    );
    expect(
      kindOf(() =>
        verifyUvmEndorsement(info, Buffer.from(REAL_MEASUREMENT, 'hex'), {
          ...policy,
          trustedRoots: [strangerRoot],
        }),
      ),
    ).toBe('untrusted-chain');
    // The leaf expired on 2024-01-03.
    expect(
      kindOf(() =>
        verifyUvmEndorsement(info, Buffer.from(REAL_MEASUREMENT, 'hex'), {
          ...policy,
          now: new Date('2024-06-01'),
        }),
      ),
    ).toBe('untrusted-chain');
    const forged: ReferenceInfo = {
      ...info,
      message: {
        ...info.message,
        payload: Buffer.from(Buffer.from(info.message.payload).toString().replace('100', '101')),
      },
    };
    expect(kindOf(() => verifyUvmEndorsement(forged, Buffer.from(REAL_MEASUREMENT, 'hex'), policy))).toBe(
      'signature-invalid',
    );
  });
});

describe('UVM endorsement checks', () => {
  const NOW = new Date('2026-01-01T00:00:00Z');
  const validity = { notBefore: new Date('2025-01-01'), notAfter: new Date('2030-01-01') };
  const root = createCertificateAuthority({ subject: [{ type: 'CN', value: 'Test UVM Root' }], ...validity });
  const rootCert = new X509Certificate(root.certDer);
  const signer = (eku: string[]) =>
    issueLeaf(root, {
      subject: [{ type: 'CN', value: 'Test ContainerPlat' }],
      ...validity,
      key: crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey,
      extKeyUsage: eku as unknown as ExtendedKeyUsage[],
    });
  const fp = (der: Uint8Array) => crypto.createHash('sha256').update(der).digest('base64url');
  const measurement = crypto.randomBytes(48);

  function endorsement(o: { eku?: string[]; iss?: string; feed?: string; payload?: unknown } = {}): Buffer {
    const leaf = signer(o.eku ?? [UVM_SIGNING_EKU]);
    return signCoseSign1({
      protectedHeader: new Map<CborValue, CborValue>([
        [HEADER.alg, -35],
        [HEADER.contentType, 'application/json'],
        [HEADER.x5chain, [leaf.certDer, root.certDer]],
        ['iss', o.iss ?? `did:x509:0:sha256:${fp(root.certDer)}::eku:${UVM_SIGNING_EKU}`],
        ['feed', o.feed ?? 'ContainerPlat-AMD-UVM'],
        ['signingtime', new CborTag(1, 1_750_000_000)],
      ]),
      payload: Buffer.from(
        JSON.stringify(
          o.payload ?? {
            'x-ms-sevsnpvm-guestsvn': '7',
            'x-ms-sevsnpvm-launchmeasurement': measurement.toString('hex'),
          },
        ),
      ),
      key: leaf.key,
    });
  }
  const verify = (bytes: Uint8Array) =>
    verifyUvmEndorsement(parseReferenceInfo(bytes), measurement, { trustedRoots: [rootCert], now: NOW });

  it('accepts an ES384 endorsement whose chain resolves its did:x509', () => {
    expect(verify(endorsement()).guestSvn).toBe('7');
  });

  it('refuses an issuer the chain does not resolve', () => {
    expect(kindOf(() => verify(endorsement({ eku: ['1.3.6.1.4.1.311.76.59.1.1'] })))).toBe('did-mismatch');
    expect(
      kindOf(() =>
        verify(endorsement({ iss: `did:x509:0:sha256:${fp(Buffer.from('x'))}::eku:${UVM_SIGNING_EKU}` })),
      ),
    ).toBe('did-mismatch');
    expect(
      kindOf(() => verify(endorsement({ iss: `did:x509:0:sha256:${fp(root.certDer)}::san:dns:x` }))),
    ).toBe('bad-did');
    expect(kindOf(() => verify(endorsement({ iss: 'did:web:example.com' })))).toBe('bad-did');
  });

  it('refuses another feed and a payload that is not reference info', () => {
    expect(kindOf(() => verify(endorsement({ feed: 'ContainerPlat-AMD-UVM-test' })))).toBe('wrong-feed');
    expect(kindOf(() => verify(endorsement({ payload: { 'x-ms-sevsnpvm-guestsvn': 7 } })))).toBe(
      'bad-reference-info',
    );
    expect(kindOf(() => parseReferenceInfo(encodeCbor([1, 2])))).toBe('bad-reference-info');
    expect(kindOf(() => decodeReferenceInfoFile('not base64!'))).toBe('bad-reference-info');
  });
});
