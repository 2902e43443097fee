import crypto, { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bitString, sequence } from '../asn1/index.ts';
import { buildCertificate, certificateFields, subjectNameDer, X509Error } from '../x509/index.ts';
import {
  amdRoots,
  blankReport,
  chainFromPem,
  composeTcb,
  decodeKdsExtensions,
  OFFSET,
  parseReport,
  PRODUCT_CPUID,
  serializeReport,
  SIGNED_LENGTH,
  signReport,
  SnpFormatError,
  SnpVerifyError,
  verifyAttestation,
  verifyReportSignature,
  verifyVcekChain,
  type AttestationReport,
  type KdsExtensions,
  type SnpProduct,
  type TcbPartsInput,
} from './index.ts';
import { expectKind, flipBit, realChain, realReport, thim } from '../../test/support/snp.ts';
import {
  amdName,
  buildArk,
  buildAsk,
  buildVcek,
  fixtureAmdKeys,
  type CertOverride,
} from '../../sim/amd/hierarchy.ts';

const now = new Date('2025-06-01T00:00:00Z');
const realEvidence = { report: realReport, ...realChain };

describe('real Milan evidence', () => {
  it('verifies end to end against the pinned Milan ARK', () => {
    const result = verifyAttestation(realEvidence, { now });
    expect(result.product).toBe('Milan');
    expect(result.chain.rootMatchedBy).toBe('der');
    expect(result.reportedTcb).toEqual({
      fmcSpl: undefined,
      blSpl: 3,
      teeSpl: 0,
      snpSpl: 8,
      ucodeSpl: 115,
      reserved: [0, 0, 0, 0],
    });
    expect(result.report.hostData.toString('hex')).toBe(
      'cadd74f71ebb8fbf9782baab649612520f3c416bc5ce9ac768808ddc8d9b031c',
    );
    expect(result.chain.extensions.productName).toBe('Milan-B0');
  });

  it('accepts the chain in the forms THIM serves, with the product stated', () => {
    const chain = chainFromPem(thim.vcekCert, thim.certificateChain);
    expect(verifyVcekChain(chain, { now, product: 'Milan' }).product).toBe('Milan');
    expect(
      verifyVcekChain({ vcek: thim.vcekCert, ask: chain.ask.raw, ark: chain.ark.toString() }, { now })
        .product,
    ).toBe('Milan');
  });

  it('rejects a flipped bit anywhere in the signed part as signature-invalid', () => {
    for (let offset = 0; offset < SIGNED_LENGTH; offset++) {
      expectKind(
        () => verifyReportSignature(flipBit(realReport, offset, offset % 8), realChain.vcek),
        SnpVerifyError,
        'signature-invalid',
      );
    }
    // The full path checks the signature before the format, so even reserved bytes read as forgery.
    for (const offset of [
      OFFSET.VERSION,
      OFFSET.RESERVED_04C,
      OFFSET.HOST_DATA + 31,
      OFFSET.REPORTED_TCB + 7,
      OFFSET.CHIP_ID,
      0x29f,
    ]) {
      expectKind(
        () => verifyAttestation({ ...realEvidence, report: flipBit(realReport, offset) }, { now }),
        SnpVerifyError,
        'signature-invalid',
      );
    }
  });

  it('rejects a flipped bit in r or s: invalid in the scalar, malformed in the zero tail', () => {
    for (const offset of [
      OFFSET.SIGNATURE_R,
      OFFSET.SIGNATURE_R + 47,
      OFFSET.SIGNATURE_S,
      OFFSET.SIGNATURE_S + 20,
    ]) {
      expectKind(
        () => verifyAttestation({ ...realEvidence, report: flipBit(realReport, offset, 2) }, { now }),
        SnpVerifyError,
        'signature-invalid',
      );
    }
    for (const offset of [OFFSET.SIGNATURE_R + 48, OFFSET.SIGNATURE_S + 71]) {
      const err = expectKind(
        () => verifyAttestation({ ...realEvidence, report: flipBit(realReport, offset) }, { now }),
        SnpFormatError,
        'bad-signature-encoding',
      );
      expect(err.offset).toBe(offset);
    }
    expectKind(
      () => verifyAttestation({ ...realEvidence, report: flipBit(realReport, 0x400) }, { now }),
      SnpFormatError,
      'reserved-nonzero',
    );
  });

  it('rejects the Milan chain when Genoa roots are pinned or Genoa is expected', () => {
    expectKind(
      () => verifyAttestation(realEvidence, { now, trustedArk: amdRoots('Genoa').ark }),
      SnpVerifyError,
      'untrusted-root',
    );
    expectKind(
      () => verifyAttestation(realEvidence, { now, product: 'Genoa' }),
      SnpVerifyError,
      'product-mismatch',
    );
  });

  it('rejects certificates in the wrong slots', () => {
    const { vcek, ask, ark } = realChain;
    expectKind(
      () => verifyAttestation({ report: realReport, vcek, ask, ark: ask }, { now }),
      SnpVerifyError,
      'ask-in-ark-slot',
    );
    expectKind(
      () => verifyAttestation({ report: realReport, vcek, ask: ark, ark }, { now }),
      SnpVerifyError,
      'ark-in-ask-slot',
    );
    expectKind(
      () => verifyAttestation({ report: realReport, vcek: ask, ask, ark }, { now }),
      SnpVerifyError,
      'wrong-slot',
    );
    expectKind(
      () => verifyAttestation({ report: realReport, vcek, ask: vcek, ark }, { now }),
      SnpVerifyError,
      'wrong-slot',
    );
    expectKind(
      () => verifyAttestation({ report: realReport, vcek: ark, ask: vcek, ark: ask }, { now }),
      SnpVerifyError,
      'ask-in-ark-slot',
    );
  });

  it('checks validity at the caller-supplied time', () => {
    expectKind(
      () => verifyAttestation(realEvidence, { now: new Date('2030-01-01T00:00:00Z') }),
      SnpVerifyError,
      'expired',
    );
    expectKind(
      () => verifyAttestation(realEvidence, { now: new Date('2022-11-01T00:00:00Z') }),
      SnpVerifyError,
      'not-yet-valid',
    );
    expect(verifyAttestation(realEvidence, { now: new Date('2029-11-29T01:55:56Z') }).product).toBe('Milan');
  });

  it('rejects reports of the wrong length and unparseable certificates', () => {
    expectKind(
      () => verifyAttestation({ ...realEvidence, report: realReport.subarray(0, 1183) }, { now }),
      SnpFormatError,
      'bad-length',
    );
    expectKind(
      () =>
        verifyAttestation({ ...realEvidence, report: Buffer.concat([realReport, Buffer.alloc(1)]) }, { now }),
      SnpFormatError,
      'bad-length',
    );
    expectKind(
      () => verifyAttestation({ ...realEvidence, vcek: realChain.vcek.raw.subarray(0, 50) }, { now }),
      X509Error,
      'bad-certificate',
    );
  });

  it('rejects a VCEK whose public key does not decode with an X509Error, not an OpenSSL message', () => {
    // Found by fuzzing: the EC point's 0x04 (uncompressed) prefix changed to 0x05.
    const der = Buffer.from(realChain.vcek.raw);
    const spki = realChain.vcek.publicKey.export({ type: 'spki', format: 'der' });
    der[der.indexOf(spki) + spki.length - 97] = 0x05;
    const vcek = new X509Certificate(der);
    const err = expectKind(
      () => verifyVcekChain({ ...realChain, vcek }, { now }),
      X509Error,
      'bad-certificate',
    );
    expect(err.message).toBe('VCEK SubjectPublicKeyInfo does not decode as a public key');
    expectKind(() => verifyReportSignature(realReport, vcek), X509Error, 'bad-certificate');
  });
});

describe('fake AMD chains built with the certificate builder', () => {
  // Milan's fixture ARK and ASK keys serve every product here: the specs are about the links.
  const keys = fixtureAmdKeys();
  const realParsed = parseReport(realReport);
  const realExt = decodeKdsExtensions(realChain.vcek);

  const fakeArk = (product: SnpProduct, override?: CertOverride): X509Certificate =>
    buildArk(product, keys.ark, override);
  const fakeAsk = (product: SnpProduct, ark: X509Certificate, override?: CertOverride): X509Certificate =>
    buildAsk(product, keys.ask, { cert: ark, privateKey: keys.ark.privateKey }, override);
  /** Valid from 2024-01-01 to 2031-01-01. */
  const fakeVcek = (
    ask: X509Certificate,
    extensions: KdsExtensions,
    override?: CertOverride,
  ): X509Certificate =>
    buildVcek(
      {
        extensions,
        publicKey: keys.vcek.publicKey,
        ask: { cert: ask, privateKey: keys.ask.privateKey },
        notBefore: new Date('2024-01-01T00:00:00Z'),
        notAfter: new Date('2031-01-01T00:00:00Z'),
      },
      override,
    );

  function chain(product: SnpProduct, extensions: KdsExtensions, vcekOverride?: CertOverride) {
    const ark = fakeArk(product);
    const ask = fakeAsk(product, ark);
    const vcek = fakeVcek(ask, extensions, vcekOverride);
    return { ark, ask, vcek };
  }

  function vcekExtensions(product: SnpProduct, tcb: TcbPartsInput, hwId: Buffer): KdsExtensions {
    return {
      structVersion: 1,
      productName: `${product}-B0`,
      blSpl: tcb.blSpl,
      teeSpl: tcb.teeSpl,
      spl4: 0,
      spl5: 0,
      spl6: 0,
      spl7: 0,
      snpSpl: tcb.snpSpl,
      ucodeSpl: tcb.ucodeSpl,
      ...(product === 'Turin' ? { fmcSpl: tcb.fmcSpl } : {}),
      hwId,
    };
  }

  function report(
    product: SnpProduct,
    version: number,
    tcb: TcbPartsInput,
    chipId: Buffer,
    change: Partial<AttestationReport> = {},
  ): Buffer {
    const raw = composeTcb(tcb, product);
    const base = blankReport(version, PRODUCT_CPUID[product]);
    const r: AttestationReport = {
      ...base,
      policy: { ...base.policy, abiMajor: 1, abiMinor: 55, smt: true },
      reportData: crypto.createHash('sha512').update('nonce').digest(),
      hostData: crypto.createHash('sha256').update('policy').digest(),
      currentTcb: raw,
      reportedTcb: raw,
      committedTcb: raw,
      launchTcb: raw,
      chipId,
      ...change,
    };
    return signReport(serializeReport(r), keys.vcek.privateKey);
  }

  const milanTcb = { blSpl: 9, teeSpl: 0, snpSpl: 23, ucodeSpl: 210 };
  const turinTcb = { fmcSpl: 2, blSpl: 4, teeSpl: 1, snpSpl: 5, ucodeSpl: 210 };

  it('decodes the fake VCEK: ucodeSPL 210 (not 0) and the Turin fmcSPL', () => {
    const chipId = Buffer.concat([crypto.randomBytes(8), Buffer.alloc(56)]);
    const { vcek } = chain('Turin', vcekExtensions('Turin', turinTcb, chipId.subarray(0, 8)));
    expect(decodeKdsExtensions(vcek)).toMatchObject({
      ucodeSpl: 210,
      fmcSpl: 2,
      blSpl: 4,
      productName: 'Turin-B0',
      hwId: chipId.subarray(0, 8),
    });
    expect(vcek.checkIssued(fakeAsk('Turin', fakeArk('Turin')))).toBe(true);
  });

  it.each([
    ['Milan', 3],
    ['Genoa', 3],
    ['Turin', 5],
  ] as const)(
    'a %s version %s report signed with the fake VCEK verifies end to end under its own pinned ARK',
    (product, version) => {
      const tcb = product === 'Turin' ? turinTcb : milanTcb;
      const chipId =
        product === 'Turin'
          ? Buffer.concat([crypto.randomBytes(8), Buffer.alloc(56)])
          : crypto.randomBytes(64);
      const hwId = product === 'Turin' ? chipId.subarray(0, 8) : chipId;
      const c = chain(product, vcekExtensions(product, tcb, hwId));
      const bytes = report(product, version, tcb, chipId);
      const result = verifyAttestation({ report: bytes, ...c }, { now, trustedArk: c.ark });
      expect(result.product).toBe(product);
      expect(result.reportedTcb).toMatchObject({ ...tcb, fmcSpl: product === 'Turin' ? 2 : undefined });
      expect(result.report.cpuid).toEqual(PRODUCT_CPUID[product]);
      expect(serializeReport(result.report).equals(bytes)).toBe(true);
      // The same chain is refused when AMD's real root is pinned (the default).
      expectKind(() => verifyAttestation({ report: bytes, ...c }, { now }), SnpVerifyError, 'untrusted-root');
    },
  );

  describe('the real report re-signed by a fake VCEK', () => {
    const resigned = (): Buffer => signReport(realReport, keys.vcek.privateKey);
    const realTcb = { blSpl: 3, teeSpl: 0, snpSpl: 8, ucodeSpl: 115 };

    it('verifies when the VCEK names its chip and TCB (the positive control)', () => {
      const c = chain('Milan', vcekExtensions('Milan', realTcb, realParsed.chipId));
      expect(
        verifyAttestation({ report: resigned(), ...c }, { now, trustedArk: c.ark }).reportedTcb.ucodeSpl,
      ).toBe(115);
      // The real VCEK no longer matches the re-signed report.
      expectKind(
        () => verifyReportSignature(resigned(), realChain.vcek),
        SnpVerifyError,
        'signature-invalid',
      );
    });

    it('rejects a VCEK for another chip id', () => {
      const c = chain('Milan', vcekExtensions('Milan', realTcb, crypto.randomBytes(64)));
      expectKind(
        () => verifyAttestation({ report: resigned(), ...c }, { now, trustedArk: c.ark }),
        SnpVerifyError,
        'chip-id-mismatch',
      );
    });

    it.each([
      ['ucodeSpl', 210],
      ['blSpl', 4],
      ['teeSpl', 1],
      ['snpSpl', 7],
      ['spl5', 1],
    ])('rejects a VCEK for another TCB (%s %s)', (field, value) => {
      const ext = { ...vcekExtensions('Milan', realTcb, realParsed.chipId), [field]: value };
      const c = chain('Milan', ext);
      expectKind(
        () => verifyAttestation({ report: resigned(), ...c }, { now, trustedArk: c.ark }),
        SnpVerifyError,
        'tcb-mismatch',
      );
    });

    it('rejects a VCEK without a TCB extension or hwID', () => {
      const { ucodeSpl: _u, ...noUcode } = vcekExtensions('Milan', realTcb, realParsed.chipId);
      const c1 = chain('Milan', noUcode);
      expectKind(
        () => verifyAttestation({ report: resigned(), ...c1 }, { now, trustedArk: c1.ark }),
        SnpVerifyError,
        'tcb-mismatch',
      );
      const { hwId: _h, ...noHwId } = vcekExtensions('Milan', realTcb, realParsed.chipId);
      const c2 = chain('Milan', noHwId);
      expectKind(
        () => verifyAttestation({ report: resigned(), ...c2 }, { now, trustedArk: c2.ark }),
        SnpVerifyError,
        'chip-id-mismatch',
      );
    });

    it('refuses the self-made ARK when the real one is pinned, even with the real ASK or VCEK around it', () => {
      const c = chain('Milan', vcekExtensions('Milan', realTcb, realParsed.chipId));
      expectKind(
        () => verifyAttestation({ report: resigned(), ...c }, { now }),
        SnpVerifyError,
        'untrusted-root',
      );
      // A self-made ASK under the real ARK: the pin passes, but its key identifier names another issuer...
      expectKind(
        () => verifyAttestation({ report: resigned(), ...c, ark: realChain.ark }, { now }),
        SnpVerifyError,
        'subject-mismatch',
      );
      // ...and without one, its signature does not verify with the real ARK's key.
      const ask = fakeAsk('Milan', realChain.ark, { authorityKeyIdentifier: undefined });
      const vcek = fakeVcek(ask, vcekExtensions('Milan', realTcb, realParsed.chipId));
      expectKind(
        () => verifyAttestation({ report: resigned(), vcek, ask, ark: realChain.ark }, { now }),
        SnpVerifyError,
        'chain-signature-invalid',
      );
      // The real VCEK and ASK with a self-made ARK.
      expectKind(
        () => verifyAttestation({ ...realEvidence, ark: c.ark }, { now }),
        SnpVerifyError,
        'untrusted-root',
      );
    });
  });

  it('pins by public key when the presented ARK is a re-issue of the pinned one', () => {
    const tcb = milanTcb;
    const chipId = crypto.randomBytes(64);
    const c = chain('Milan', vcekExtensions('Milan', tcb, chipId));
    const reissued = fakeArk('Milan', { serial: 7 });
    const result = verifyAttestation(
      { report: report('Milan', 3, tcb, chipId), ...c },
      { now, trustedArk: reissued },
    );
    expect(result.chain.rootMatchedBy).toBe('public-key');
  });

  describe('chain defects', () => {
    const chipId = crypto.randomBytes(64);
    const ext = (): KdsExtensions => vcekExtensions('Milan', milanTcb, chipId);
    const evidence = (c: { ark: X509Certificate; ask: X509Certificate; vcek: X509Certificate }) => ({
      report: report('Milan', 3, milanTcb, chipId),
      ...c,
    });

    it('an ARK whose self-signature is wrong is refused even when pinned byte for byte', () => {
      const ark = fakeArk('Milan', { signingKey: keys.ask.privateKey });
      const ask = fakeAsk('Milan', ark);
      const vcek = fakeVcek(ask, ext());
      expectKind(
        () => verifyAttestation(evidence({ ark, ask, vcek }), { now, trustedArk: ark }),
        SnpVerifyError,
        'chain-signature-invalid',
      );
    });

    it('a VCEK signed by the wrong key', () => {
      const c = chain('Milan', ext(), { signingKey: keys.ark.privateKey });
      expectKind(
        () => verifyAttestation(evidence(c), { now, trustedArk: c.ark }),
        SnpVerifyError,
        'chain-signature-invalid',
      );
    });

    it('a link signed with another algorithm or salt', () => {
      const sha256 = chain('Milan', ext(), { signatureAlgorithm: 'sha256-rsa' });
      expectKind(
        () => verifyAttestation(evidence(sha256), { now, trustedArk: sha256.ark }),
        SnpVerifyError,
        'unsupported-algorithm',
      );

      // RSA-PSS SHA-384 with a 32-byte salt: OpenSSL accepts it, AMD never signs that way.
      const c = chain('Milan', ext());
      const f = certificateFields(c.vcek);
      const salt48 = Buffer.from('a203020130', 'hex');
      const salt32 = Buffer.from('a203020120', 'hex');
      const tbs = Buffer.from(f.tbs);
      tbs.set(salt32, tbs.indexOf(salt48));
      const alg = Buffer.from(f.signatureAlgorithm.raw);
      alg.set(salt32, alg.indexOf(salt48));
      const signature = crypto.sign('sha384', tbs, {
        key: keys.ask.privateKey,
        padding: crypto.constants.RSA_PKCS1_PSS_PADDING,
        saltLength: 32,
      });
      const vcek = new X509Certificate(sequence(tbs, alg, bitString(signature)));
      expect(vcek.verify(c.ask.publicKey)).toBe(true);
      expectKind(
        () => verifyAttestation(evidence({ ...c, vcek }), { now, trustedArk: c.ark }),
        SnpVerifyError,
        'unsupported-algorithm',
      );
    });

    it('a VCEK key that is not P-384', () => {
      const p256 = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const c = chain('Milan', ext(), { publicKey: p256.publicKey });
      expectKind(() => verifyAttestation(evidence(c), { now, trustedArk: c.ark }), SnpVerifyError, 'bad-key');
    });

    it('subjects with other attributes', () => {
      const ark = fakeArk('Milan');
      const oddAsk = fakeAsk('Milan', ark, {
        subject: amdName('SEV-Milan').map((a) =>
          a.type === 'O' ? { ...a, value: 'Advanced Micro Devices Inc' } : a,
        ),
      });
      const vcek1 = fakeVcek(oddAsk, ext());
      expectKind(
        () => verifyAttestation(evidence({ ark, ask: oddAsk, vcek: vcek1 }), { now, trustedArk: ark }),
        SnpVerifyError,
        'subject-mismatch',
      );
      const twoOu = fakeVcek(fakeAsk('Milan', ark), ext(), {
        subject: [{ type: 'OU', value: 'Engineering' }, ...amdName('SEV-VCEK')],
      });
      expectKind(
        () =>
          verifyAttestation(evidence({ ark, ask: fakeAsk('Milan', ark), vcek: twoOu }), {
            now,
            trustedArk: ark,
          }),
        SnpVerifyError,
        'subject-mismatch',
      );
    });

    it('a VCEK issued under another name than the ASK subject', () => {
      const ark = fakeArk('Milan');
      const ask = fakeAsk('Milan', ark);
      const vcek = fakeVcek(ask, ext(), { issuer: amdName('SEV-Genoa') });
      expectKind(
        () => verifyAttestation(evidence({ ark, ask, vcek }), { now, trustedArk: ark }),
        SnpVerifyError,
        'subject-mismatch',
      );
    });

    it('products that disagree: VCEK productName, ASK vs ARK, CPUID vs chain', () => {
      const genoaName = chain('Milan', { ...ext(), productName: 'Genoa-B1' });
      expectKind(
        () => verifyAttestation(evidence(genoaName), { now, trustedArk: genoaName.ark }),
        SnpVerifyError,
        'product-mismatch',
      );

      const ark = fakeArk('Milan');
      const genoaAsk = fakeAsk('Genoa', ark);
      const vcek = fakeVcek(genoaAsk, ext());
      expectKind(
        () => verifyAttestation(evidence({ ark, ask: genoaAsk, vcek }), { now, trustedArk: ark }),
        SnpVerifyError,
        'product-mismatch',
      );

      const c = chain('Milan', ext());
      const turinCpuid = report('Milan', 3, milanTcb, chipId, { cpuid: PRODUCT_CPUID.Turin });
      expectKind(
        () => verifyAttestation({ report: turinCpuid, ...c }, { now, trustedArk: c.ark }),
        SnpVerifyError,
        'product-mismatch',
      );
    });

    it('an expired fake VCEK', () => {
      const c = chain('Milan', ext());
      expectKind(
        () => verifyAttestation(evidence(c), { now: new Date('2031-01-02T00:00:00Z'), trustedArk: c.ark }),
        SnpVerifyError,
        'expired',
      );
    });

    it('an ARK that is not RSA-4096', () => {
      const small = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
      const ark = new X509Certificate(
        buildCertificate({
          serial: 1,
          subject: amdName('ARK-Milan'),
          issuer: amdName('ARK-Milan'),
          notBefore: new Date('2020-01-01T00:00:00Z'),
          notAfter: new Date('2045-01-01T00:00:00Z'),
          publicKey: small.publicKey,
          signingKey: small.privateKey,
          signatureAlgorithm: 'rsa-pss-sha384',
          basicConstraints: { ca: true },
          keyUsage: ['keyCertSign'],
        }),
      );
      const ask = fakeAsk('Milan', ark, {
        signingKey: small.privateKey,
        authorityKeyIdentifier: undefined,
      });
      const vcek = fakeVcek(ask, ext());
      expectKind(
        () => verifyAttestation(evidence({ ark, ask, vcek }), { now, trustedArk: ark }),
        SnpVerifyError,
        'bad-key',
      );
      expect(subjectNameDer(ark).equals(subjectNameDer(fakeArk('Milan')))).toBe(true);

      // An RSA-2048 ASK under a proper ARK.
      const goodArk = fakeArk('Milan');
      const smallAsk = fakeAsk('Milan', goodArk, { publicKey: small.publicKey });
      const vcek2 = fakeVcek(smallAsk, ext(), { signingKey: small.privateKey });
      expectKind(
        () =>
          verifyAttestation(evidence({ ark: goodArk, ask: smallAsk, vcek: vcek2 }), {
            now,
            trustedArk: goodArk,
          }),
        SnpVerifyError,
        'bad-key',
      );
    });
  });

  describe('report contents the chain cannot vouch for', () => {
    const chipId = crypto.randomBytes(64);
    const c = () => chain('Milan', vcekExtensions('Milan', milanTcb, chipId));

    it('a report that says a VLEK signed it', () => {
      const chainNow = c();
      const bytes = report('Milan', 3, milanTcb, chipId, {
        signerInfo: { authorKeyEnabled: false, maskChipKey: false, signingKey: 'vlek' },
      });
      expectKind(
        () => verifyAttestation({ report: bytes, ...chainNow }, { now, trustedArk: chainNow.ark }),
        SnpVerifyError,
        'unsupported-signing-key',
      );
    });

    it('a validly signed report with SIGNATURE_ALGO 2, version 6 or a masked chip id', () => {
      const chainNow = c();
      const opts = { now, trustedArk: chainNow.ark };
      const algo2 = report('Milan', 3, milanTcb, chipId, { signatureAlgo: 2 });
      expectKind(
        () => verifyAttestation({ report: algo2, ...chainNow }, opts),
        SnpFormatError,
        'bad-signature-algo',
      );
      const v6 = Buffer.from(report('Milan', 3, milanTcb, chipId));
      v6.writeUInt32LE(6, OFFSET.VERSION);
      expectKind(
        () => verifyAttestation({ report: signReport(v6, keys.vcek.privateKey), ...chainNow }, opts),
        SnpFormatError,
        'unsupported-version',
      );
      const masked = report('Milan', 3, milanTcb, Buffer.alloc(64));
      const err = expectKind(
        () => verifyAttestation({ report: masked, ...chainNow }, opts),
        SnpVerifyError,
        'chip-id-mismatch',
      );
      expect(err.hint).toContain('MASK_CHIP_ID');
    });

    it('a Turin CHIP_ID with bytes past the 8-byte hwID', () => {
      const turinChip = Buffer.concat([crypto.randomBytes(8), Buffer.alloc(56)]);
      const t = chain('Turin', vcekExtensions('Turin', turinTcb, turinChip.subarray(0, 8)));
      const dirty = Buffer.from(turinChip);
      dirty[40] = 1;
      expectKind(
        () =>
          verifyAttestation(
            { report: report('Turin', 5, turinTcb, dirty), ...t },
            { now, trustedArk: t.ark },
          ),
        SnpVerifyError,
        'chip-id-mismatch',
      );
      const wrongFmc = chain('Turin', {
        ...vcekExtensions('Turin', turinTcb, turinChip.subarray(0, 8)),
        fmcSpl: 3,
      });
      expectKind(
        () =>
          verifyAttestation(
            { report: report('Turin', 5, turinTcb, turinChip), ...wrongFmc },
            { now, trustedArk: wrongFmc.ark },
          ),
        SnpVerifyError,
        'tcb-mismatch',
      );
    });
  });

  it('realExt is the real VCEK (sanity for the re-signing tests)', () => {
    expect(realExt.hwId!.equals(realParsed.chipId)).toBe(true);
  });
});
