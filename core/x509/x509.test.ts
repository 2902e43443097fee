import crypto, { X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { testdata } from '../../test/support/paths.ts';
import {
  bitString,
  children,
  decodeOid,
  nullValue,
  oid,
  parseDer,
  sequence,
  explicit,
  integer,
} from '../asn1/index.ts';
import { isErrorOf } from '../errors.ts';
import {
  ALGORITHM_OIDS,
  attributeValues,
  buildCertificate,
  certificateFields,
  decodeBasicConstraints,
  decodeExtKeyUsage,
  decodeKeyUsage,
  decodeSubjectAltDnsNames,
  EXTENSION_OIDS,
  getExtension,
  getExtensions,
  ipAddressBytes,
  issuerAttributes,
  keyIdentifier,
  parsePemCertificates,
  parseSignatureAlgorithm,
  signatureAlgorithm,
  splitPemCertificates,
  subjectAttributes,
  subjectNameDer,
  toPem,
  X509Error,
  type CertificateOptions,
  type X509ErrorKind,
} from './index.ts';

function expectX509Error(fn: () => unknown, kind: X509ErrorKind): X509Error {
  try {
    fn();
  } catch (err) {
    expect(isErrorOf(err, X509Error, kind), String(err)).toBe(true);
    return err as X509Error;
  }
  throw new Error(`expected X509Error ${kind}`);
}

const thim = JSON.parse(readFileSync(testdata('snp-real/thim-certs.json'), 'utf8')) as {
  vcekCert: string;
  certificateChain: string;
};
const vcek = new X509Certificate(thim.vcekCert);
const [ask, ark] = parsePemCertificates(thim.certificateChain) as [X509Certificate, X509Certificate];

/**
 * EMSA-PSS verification (RFC 8017 §9.1.2) done by hand over the raw RSA output, so the test can read
 * the MGF1 hash and the salt length actually used instead of trusting OpenSSL's defaults.
 */
function pssSaltLength(
  publicKey: KeyObject,
  message: Uint8Array,
  signature: Uint8Array,
  hash: string,
  mgfHash: string,
): number {
  const em = crypto.publicDecrypt({ key: publicKey, padding: crypto.constants.RSA_NO_PADDING }, signature);
  const hLen = crypto.createHash(hash).digest().length;
  const modBits = publicKey.asymmetricKeyDetails!.modulusLength!;
  const emLen = Math.ceil((modBits - 1) / 8);
  const emBytes = em.subarray(em.length - emLen);
  expect(emBytes[emLen - 1]).toBe(0xbc);
  const maskedDb = emBytes.subarray(0, emLen - hLen - 1);
  const h = emBytes.subarray(emLen - hLen - 1, emLen - 1);
  const mask = Buffer.alloc(maskedDb.length);
  for (let counter = 0, off = 0; off < mask.length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    const block = crypto.createHash(mgfHash).update(h).update(c).digest();
    block.copy(mask, off);
    off += block.length;
  }
  const db = Buffer.from(maskedDb.map((b, i) => b ^ mask[i]!));
  db[0]! &= 0xff >> (8 * emLen - (modBits - 1));
  const one = db.indexOf(1);
  expect(db.subarray(0, one).every((b) => b === 0)).toBe(true);
  const salt = db.subarray(one + 1);
  const mHash = crypto.createHash(hash).update(message).digest();
  const hPrime = crypto.createHash(hash).update(Buffer.alloc(8)).update(mHash).update(salt).digest();
  expect(hPrime.equals(h)).toBe(true);
  return salt.length;
}

describe('helpers over real AMD certificates', () => {
  it('lists the VCEK extensions with their raw values', () => {
    const exts = getExtensions(vcek);
    expect(exts.map((e) => e.oid)).toEqual([
      '1.3.6.1.4.1.3704.1.1',
      '1.3.6.1.4.1.3704.1.2',
      '1.3.6.1.4.1.3704.1.3.1',
      '1.3.6.1.4.1.3704.1.3.2',
      '1.3.6.1.4.1.3704.1.3.4',
      '1.3.6.1.4.1.3704.1.3.5',
      '1.3.6.1.4.1.3704.1.3.6',
      '1.3.6.1.4.1.3704.1.3.7',
      '1.3.6.1.4.1.3704.1.3.3',
      '1.3.6.1.4.1.3704.1.3.8',
      '1.3.6.1.4.1.3704.1.4',
    ]);
    expect(exts.every((e) => !e.critical)).toBe(true);
    expect(getExtension(vcek, '1.3.6.1.4.1.3704.1.2')!.value.toString('hex')).toBe('16084d696c616e2d4230');
    expect(getExtension(vcek, '1.3.6.1.4.1.3704.1.3.8')!.value.toString('hex')).toBe('020173');
    expect(getExtension(vcek, '2.5.29.19')).toBeUndefined();
    expect(certificateFields(vcek).serialNumber).toBe(0n);
    expect(certificateFields(vcek).notAfter.toISOString()).toBe(vcek.validToDate.toISOString());
  });

  it('decodes RSA-PSS SHA-384 / MGF1-SHA-384 / salt 48 on every link', () => {
    for (const cert of [vcek, ask, ark]) {
      expect(signatureAlgorithm(cert)).toEqual({
        kind: 'rsa-pss',
        oid: ALGORITHM_OIDS.rsassaPss,
        hash: 'sha384',
        mgf1Hash: 'sha384',
        saltLength: 48,
        trailerField: 1,
      });
    }
    // The hand-written PSS check agrees with what AMD actually did.
    const f = certificateFields(vcek);
    expect(pssSaltLength(ask.publicKey, f.tbs, f.signature, 'sha384', 'sha384')).toBe(48);
  });

  it('reads subject and issuer attributes in order with their string types', () => {
    const subject = subjectAttributes(vcek);
    expect(subject.map((a) => [a.type, a.value, a.stringType])).toEqual([
      ['OU', 'Engineering', 'utf8'],
      ['C', 'US', 'printable'],
      ['L', 'Santa Clara', 'utf8'],
      ['ST', 'CA', 'utf8'],
      ['O', 'Advanced Micro Devices', 'utf8'],
      ['CN', 'SEV-VCEK', 'utf8'],
    ]);
    expect(attributeValues(issuerAttributes(vcek), 'CN')).toEqual(['SEV-Milan']);
    expect(attributeValues(issuerAttributes(ask), 'CN')).toEqual(['ARK-Milan']);
    expect(subjectNameDer(ark).equals(certificateFields(ark).issuer.raw)).toBe(true);
  });

  it('splits PEM bundles, LF and CRLF alike', () => {
    for (const product of ['milan', 'genoa', 'turin']) {
      const text = readFileSync(testdata(`amd-roots/${product}-ask-ark.pem`), 'utf8');
      const certs = parsePemCertificates(text);
      expect(certs.map((c) => attributeValues(subjectAttributes(c), 'CN')[0]!.split('-')[0])).toEqual([
        'SEV',
        'ARK',
      ]);
    }
    const der = splitPemCertificates(`junk before\n${thim.vcekCert}\ntext between\n${thim.certificateChain}`);
    expect(der).toHaveLength(3);
    expect(der[0]!.equals(vcek.raw)).toBe(true);
    expect(toPem(der[0]!)).toBe(vcek.toString());
  });

  it('rejects broken PEM', () => {
    const body = vcek.raw.toString('base64');
    expectX509Error(
      () => splitPemCertificates(`-----BEGIN CERTIFICATE-----\n${body}!\n-----END CERTIFICATE-----`),
      'bad-pem',
    );
    expectX509Error(
      () => splitPemCertificates(`-----BEGIN CERTIFICATE-----\n${body}\n-----END X509 CRL-----`),
      'bad-pem',
    );
    expectX509Error(
      () => splitPemCertificates(`-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----`),
      'bad-pem',
    );
    expectX509Error(
      () => parsePemCertificates(`-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----`),
      'bad-certificate',
    );
  });

  it('rejects malformed certificate DER with a certificate error', () => {
    expectX509Error(() => getExtensions(Buffer.concat([vcek.raw, Buffer.from([0])])), 'bad-certificate');
    expectX509Error(() => getExtensions(vcek.raw.subarray(0, 100)), 'bad-certificate');
  });
});

describe('signature AlgorithmIdentifier parsing', () => {
  it('applies the RFC 4055 PSS defaults', () => {
    const alg = parseSignatureAlgorithm(parseDer(sequence(oid(ALGORITHM_OIDS.rsassaPss), sequence())));
    expect(alg).toMatchObject({
      kind: 'rsa-pss',
      hash: 'sha1',
      mgf1Hash: 'sha1',
      saltLength: 20,
      trailerField: 1,
    });
  });

  it('rejects bad parameters', () => {
    const pss = (...fields: Buffer[]): Buffer => sequence(oid(ALGORITHM_OIDS.rsassaPss), sequence(...fields));
    expectX509Error(
      () => parseSignatureAlgorithm(parseDer(pss(explicit(3, integer(2))))),
      'bad-algorithm-parameters',
    );
    expectX509Error(
      () => parseSignatureAlgorithm(parseDer(pss(explicit(2, integer(1)), explicit(0, integer(1))))),
      'bad-algorithm-parameters',
    );
    expectX509Error(
      () =>
        parseSignatureAlgorithm(
          parseDer(pss(explicit(1, sequence(oid('1.2.3'), sequence(oid('2.16.840.1.101.3.4.2.2')))))),
        ),
      'unsupported-algorithm',
    );
    expectX509Error(
      () => parseSignatureAlgorithm(parseDer(sequence(oid(ALGORITHM_OIDS.ecdsaWithSHA384), nullValue()))),
      'bad-algorithm-parameters',
    );
    expect(parseSignatureAlgorithm(parseDer(sequence(oid('1.2.3.4'))))).toEqual({
      kind: 'unknown',
      oid: '1.2.3.4',
    });
  });
});

describe('ipAddressBytes', () => {
  it.each([
    ['127.0.0.1', '7f000001'],
    ['::1', '00000000000000000000000000000001'],
    ['fe80::1:2', 'fe800000000000000000000000010002'],
    ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
    ['::ffff:10.0.0.1', '00000000000000000000ffff0a000001'],
    ['::', '00000000000000000000000000000000'],
  ])('%s', (text, hex) => expect(ipAddressBytes(text).toString('hex')).toBe(hex));

  it.each([
    '256.0.0.1',
    '1.2.3',
    '01.2.3.4',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    'g::1',
    '::1.2.3',
  ])('rejects %s', (text) => {
    expectX509Error(() => ipAddressBytes(text), 'bad-input');
  });
});

describe('buildCertificate', () => {
  let rsaRoot: crypto.KeyPairKeyObjectResult;
  let rsaLeaf: crypto.KeyPairKeyObjectResult;
  const p384 = crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const p256 = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const notBefore = new Date('2024-01-01T00:00:00Z');
  const notAfter = new Date('2034-01-01T00:00:00Z');
  const rootName = [
    { type: 'CN', value: 'Test Root' },
    { type: 'O', value: 'SecureKey Tests' },
    { type: 'C', value: 'US' },
  ];

  beforeAll(() => {
    rsaRoot = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    rsaLeaf = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  });

  function root(overrides: Partial<CertificateOptions> = {}): X509Certificate {
    return new X509Certificate(
      buildCertificate({
        serial: 1,
        subject: rootName,
        issuer: rootName,
        notBefore,
        notAfter,
        publicKey: rsaRoot.publicKey,
        signingKey: rsaRoot.privateKey,
        signatureAlgorithm: 'rsa-pss-sha384',
        basicConstraints: { ca: true, pathLength: 1 },
        keyUsage: ['keyCertSign', 'cRLSign'],
        subjectKeyIdentifier: true,
        ...overrides,
      }),
    );
  }

  it('makes a self-signed RSA-PSS SHA-384 root that OpenSSL verifies, with MGF1-SHA-384 and salt 48', () => {
    const cert = root();
    expect(cert.verify(rsaRoot.publicKey)).toBe(true);
    expect(cert.checkIssued(cert)).toBe(true);
    expect(cert.ca).toBe(true);
    expect(signatureAlgorithm(cert)).toMatchObject({
      kind: 'rsa-pss',
      hash: 'sha384',
      mgf1Hash: 'sha384',
      saltLength: 48,
    });
    const f = certificateFields(cert);
    expect(pssSaltLength(rsaRoot.publicKey, f.tbs, f.signature, 'sha384', 'sha384')).toBe(48);
    expect(f.version).toBe(3);
    expect(decodeBasicConstraints(getExtension(cert, EXTENSION_OIDS.basicConstraints)!.value)).toEqual({
      ca: true,
      pathLength: 1,
    });
    expect(getExtension(cert, EXTENSION_OIDS.basicConstraints)!.critical).toBe(true);
    expect(decodeKeyUsage(getExtension(cert, EXTENSION_OIDS.keyUsage)!.value)).toEqual([
      'keyCertSign',
      'cRLSign',
    ]);
    expect(
      getExtension(cert, EXTENSION_OIDS.subjectKeyIdentifier)!
        .value.subarray(2)
        .equals(keyIdentifier(rsaRoot.publicKey)),
    ).toBe(true);
    expect(cert.verify(rsaLeaf.publicKey)).toBe(false);
  });

  it.each([
    ['rsa-pss-sha384', 'rsa'],
    ['sha256-rsa', 'rsa'],
    ['ecdsa-sha384', 'p384'],
    ['ecdsa-sha256', 'p256'],
  ] as const)('issues a leaf signed with %s that verifies against its issuer', (alg, issuerKind) => {
    const issuerKeys = issuerKind === 'rsa' ? rsaRoot : issuerKind === 'p384' ? p384 : p256;
    const issuer = root({ publicKey: issuerKeys.publicKey, signingKey: rsaRoot.privateKey });
    const leaf = new X509Certificate(
      buildCertificate({
        serial: Buffer.from('80000000000000000001', 'hex'),
        subject: [{ type: 'CN', value: 'leaf.example' }],
        issuer: subjectNameDer(issuer),
        notBefore,
        notAfter: new Date('2051-06-01T00:00:00Z'),
        publicKey: rsaLeaf.publicKey,
        signingKey: issuerKeys.privateKey,
        signatureAlgorithm: alg,
        extKeyUsage: ['serverAuth', 'clientAuth'],
        subjectAltNames: { dns: ['leaf.example', 'localhost'], ip: ['127.0.0.1', '::1'] },
        authorityKeyIdentifier: true,
        keyUsage: ['digitalSignature', 'keyEncipherment'],
      }),
    );
    expect(leaf.verify(issuerKeys.publicKey)).toBe(true);
    expect(leaf.checkIssued(issuer)).toBe(true);
    expect(leaf.checkIssued(leaf)).toBe(false);
    expect(leaf.verify(rsaLeaf.publicKey)).toBe(false);
    const expected = {
      'rsa-pss-sha384': 'rsa-pss',
      'sha256-rsa': 'rsa-pkcs1',
      'ecdsa-sha384': 'ecdsa',
      'ecdsa-sha256': 'ecdsa',
    }[alg];
    expect(signatureAlgorithm(leaf).kind).toBe(expected);
    expect(leaf.serialNumber.toUpperCase()).toBe('80000000000000000001');
    expect(certificateFields(leaf).serialNumber).toBe(0x80000000000000000001n);
    expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    const eku = getExtension(leaf, EXTENSION_OIDS.extKeyUsage)!.value;
    expect(decodeExtKeyUsage(eku)).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    const san = getExtension(leaf, EXTENSION_OIDS.subjectAltName)!.value;
    expect(decodeSubjectAltDnsNames(san)).toEqual(['leaf.example', 'localhost']); // not the iPAddresses
    expect(leaf.checkHost('localhost')).toBe('localhost');
    expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(leaf.checkIP('::1')).toBe('::1');
    expect(leaf.checkIP('10.0.0.1')).toBeUndefined();
    expect(leaf.validToDate.toISOString()).toBe('2051-06-01T00:00:00.000Z');
    expect(leaf.ca).toBe(false);
    const aki = getExtension(leaf, EXTENSION_OIDS.authorityKeyIdentifier)!.value;
    expect(aki.subarray(4).equals(keyIdentifier(issuerKeys.publicKey))).toBe(true);
  });

  it('writes an AKI that OpenSSL matches against the issuer SKI', () => {
    const issuer = root();
    const leaf = (aki: Buffer | true): X509Certificate =>
      new X509Certificate(
        buildCertificate({
          serial: 2,
          subject: [{ type: 'CN', value: 'x' }],
          issuer: subjectNameDer(issuer),
          notBefore,
          notAfter,
          publicKey: p384.publicKey,
          signingKey: rsaRoot.privateKey,
          signatureAlgorithm: 'sha256-rsa',
          authorityKeyIdentifier: aki,
        }),
      );
    expect(leaf(true).checkIssued(issuer)).toBe(true);
    expect(leaf(Buffer.alloc(20, 1)).checkIssued(issuer)).toBe(false);
  });

  it('an issuer without keyCertSign is not accepted by OpenSSL, proving the key usage bits', () => {
    const issuer = root({ keyUsage: ['digitalSignature'] });
    const leaf = new X509Certificate(
      buildCertificate({
        serial: 3,
        subject: [{ type: 'CN', value: 'x' }],
        issuer: subjectNameDer(issuer),
        notBefore,
        notAfter,
        publicKey: p384.publicKey,
        signingKey: rsaRoot.privateKey,
        signatureAlgorithm: 'rsa-pss-sha384',
      }),
    );
    expect(leaf.verify(rsaRoot.publicKey)).toBe(true);
    expect(leaf.checkIssued(issuer)).toBe(false);
    expect(decodeKeyUsage(getExtension(issuer, EXTENSION_OIDS.keyUsage)!.value)).toEqual([
      'digitalSignature',
    ]);
  });

  it('writes CRL distribution points, custom extensions and serial 0', () => {
    const cert = root({
      serial: 0,
      crlDistributionPoints: ['https://kdsintf.amd.com/vcek/v1/Milan/crl'],
      extensions: [
        { oid: '1.3.6.1.4.1.3704.1.1', value: Buffer.from('020100', 'hex') },
        { oid: '1.2.3.4.5', critical: true, value: Buffer.from('0500', 'hex') },
      ],
    });
    expect(cert.serialNumber).toBe(vcek.serialNumber); // AMD's VCEKs carry serial 0 too
    expect(certificateFields(cert).serialNumber).toBe(0n);
    const crl = getExtension(cert, EXTENSION_OIDS.crlDistributionPoints)!;
    const [dp] = children(parseDer(crl.value));
    const uri = children(children(children(dp!)[0]!)[0]!)[0]!;
    expect(uri).toMatchObject({ tagClass: 'context', tagNumber: 6 });
    expect(uri.value.toString()).toBe('https://kdsintf.amd.com/vcek/v1/Milan/crl');
    expect(getExtension(cert, '1.2.3.4.5')).toEqual({
      oid: '1.2.3.4.5',
      critical: true,
      value: Buffer.from('0500', 'hex'),
    });
    expect(getExtension(cert, '1.3.6.1.4.1.3704.1.1')!.critical).toBe(false);
  });

  it('detects a TBS algorithm that differs from the outer one', () => {
    const f = certificateFields(root());
    const forged = sequence(
      f.tbs,
      sequence(oid(ALGORITHM_OIDS.sha256WithRSAEncryption), nullValue()),
      bitString(f.signature),
    );
    expect(decodeOid(children(children(parseDer(forged))[1]!)[0])).toBe(
      ALGORITHM_OIDS.sha256WithRSAEncryption,
    );
    expectX509Error(() => signatureAlgorithm(forged), 'algorithm-mismatch');
  });

  it('refuses inputs that cannot make a valid certificate', () => {
    expectX509Error(() => root({ signingKey: p384.privateKey }), 'key-mismatch');
    expectX509Error(() => root({ signatureAlgorithm: 'ecdsa-sha384' }), 'key-mismatch');
    expectX509Error(() => root({ signingKey: rsaRoot.publicKey }), 'key-mismatch');
    expectX509Error(() => root({ notAfter: new Date('2023-01-01T00:00:00Z') }), 'bad-input');
    expectX509Error(() => root({ serial: -1 }), 'bad-input');
    expectX509Error(() => root({ serial: Buffer.alloc(21, 0xff) }), 'bad-input');
    expectX509Error(
      () => root({ extensions: [{ oid: EXTENSION_OIDS.keyUsage, value: Buffer.from('0500', 'hex') }] }),
      'bad-input',
    );
    expectX509Error(() => root({ subject: [] }), 'bad-input');
    expectX509Error(() => root({ subject: [{ type: 'C', value: 'U@' }] }), 'bad-name');
    expectX509Error(() => root({ subjectAltNames: { ip: ['300.1.1.1'] } }), 'bad-input');
  });
});

describe('certificatesOnlyProblem (trust anchors that travel in pod specs)', () => {
  it('accepts certificates, refuses anything else by name', async () => {
    const { certificatesOnlyProblem, toPem } = await import('./index.ts');
    const { generateKeyPairSync, X509Certificate } = await import('node:crypto');
    const { readFileSync } = await import('node:fs');
    const pem = readFileSync(testdata('snp-real', 'thim-certs.json'), 'utf8');
    const cert = JSON.parse(pem) as { vcekCert: string };
    expect(new X509Certificate(cert.vcekCert).subject).toBeTruthy();
    expect(certificatesOnlyProblem(cert.vcekCert)).toBeUndefined();
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      format: 'pem',
      type: 'pkcs8',
    });
    expect(certificatesOnlyProblem(cert.vcekCert + key.toString())).toBe(
      'holds a PRIVATE KEY block; only certificates may be given',
    );
    expect(certificatesOnlyProblem('nothing here')).toBe('holds no PEM certificate');
    expect(certificatesOnlyProblem(toPem(Buffer.from('not a certificate')))).toMatch(/.+/);
  });
});

describe('certificatesFromBytes (PEM or DER files)', () => {
  it('reads PEM bundles and concatenated DER alike, and refuses what is neither', async () => {
    const { certificatesFromBytes } = await import('./index.ts');
    const { X509Certificate } = await import('node:crypto');
    const { vcekCert, certificateChain } = thim;
    const vcek = new X509Certificate(vcekCert).raw;
    const fromPem = certificatesFromBytes(Buffer.from(certificateChain));
    expect(fromPem).toHaveLength(2);
    const der = Buffer.concat([vcek, ...fromPem]);
    const fromDer = certificatesFromBytes(der);
    expect(fromDer.map((d) => d.toString('hex'))).toEqual(
      [vcek, ...fromPem].map((d) => Buffer.from(d).toString('hex')),
    );
    expect(() => certificatesFromBytes(der.subarray(0, der.length - 1))).toThrow(
      /not DER at byte \d+: element declares \d+ content bytes but only \d+ remain/,
    );
    expect(() => certificatesFromBytes(Buffer.from([0x04, 0x01, 0x00]))).toThrow(/expected a SEQUENCE/);
  });
});
