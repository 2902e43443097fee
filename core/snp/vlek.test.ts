/**
 * Reports signed by a VLEK (a key AMD's KDS issues to a cloud provider per TCB, not to a chip),
 * vouched for by VLEK ← ASVK ← ARK: the simulated platform's, and AMD's real ASVK and ARK
 * (testdata/go-sev-guest; no real VLEK or VLEK-signed report is published).
 */
import crypto, { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FakeAmd, ReportSigner, buildVlek, type VcekInput } from '../../sim/amd/index.ts';
import { testdata } from '../../test/support/paths.ts';
import { expectKind } from '../../test/support/snp.ts';
import { splitPemCertificates } from '../x509/index.ts';
import {
  amdRoots,
  decodeKdsExtensions,
  identifyAmdCertificate,
  parseReport,
  SnpVerifyError,
  verifyAttestation,
  verifyVcekChain,
} from './index.ts';

const now = new Date();
const reportData = crypto.randomBytes(64);

describe.each(['Milan', 'Genoa', 'Turin'] as const)('a %s report signed by a VLEK', (product) => {
  const amd = new FakeAmd({ product });
  const report = new ReportSigner(amd, {}, { signingKey: 'vlek' }).sign({ reportData });

  it('says so (SIGNING_KEY 1) and verifies with VLEK ← ASVK ← ARK', () => {
    expect(parseReport(report).signerInfo.signingKey).toBe('vlek');
    const verified = verifyAttestation(
      { report, ...amd.chain(undefined, 'vlek') },
      { now, trustedArk: amd.ark },
    );
    expect(verified.chain.signingKey).toBe('vlek');
    expect(verified.product).toBe(product);
    expect(verified.chain.extensions.cspId).toBe('SecureKey simulated CSP');
    expect(verified.chain.extensions.hwId).toBeUndefined();
  });

  it('is refused with the VCEK chain, naming the key it wants', () => {
    const err = expectKind(
      () => verifyAttestation({ report, ...amd.chain() }, { now, trustedArk: amd.ark }),
      SnpVerifyError,
      'unsupported-signing-key',
    );
    expect(err.message).toContain('VLEK');
  });

  it('is refused with one signed bit flipped', () => {
    const altered = Buffer.from(report);
    altered[0x90]! ^= 1;
    expectKind(
      () =>
        verifyAttestation({ report: altered, ...amd.chain(undefined, 'vlek') }, { now, trustedArk: amd.ark }),
      SnpVerifyError,
      'signature-invalid',
    );
  });

  it('is refused when the VLEK is for another TCB', () => {
    const older = amd.vlekFor(amd.tcb - 1n).cert;
    expectKind(
      () =>
        verifyAttestation({ report, vcek: older, ask: amd.asvk, ark: amd.ark }, { now, trustedArk: amd.ark }),
      SnpVerifyError,
      'signature-invalid',
    );
  });
});

describe('the VLEK chain is held to AMD’s shapes', () => {
  const amd = new FakeAmd();
  const vcekReport = new ReportSigner(amd).sign({ reportData });
  const vlekReport = new ReportSigner(amd, {}, { signingKey: 'vlek' }).sign({ reportData });
  const opts = { now, trustedArk: amd.ark };

  it('a VCEK report with the VLEK chain is refused', () => {
    expectKind(
      () => verifyAttestation({ report: vcekReport, ...amd.chain(undefined, 'vlek') }, opts),
      SnpVerifyError,
      'unsupported-signing-key',
    );
  });

  it('a VLEK under the ASK (not the ASVK) is refused', () => {
    expectKind(
      () =>
        verifyAttestation({ report: vlekReport, vcek: amd.vlekFor().cert, ask: amd.ask, ark: amd.ark }, opts),
      SnpVerifyError,
      'wrong-slot',
    );
  });

  it('a VLEK that carries a hwID is refused', () => {
    const withHwId = new FakeAmd({ overrides: { vlek: { kds: { hwId: amd.chipId, cspId: undefined } } } });
    const report = new ReportSigner(withHwId, {}, { signingKey: 'vlek' }).sign({ reportData });
    expectKind(
      () =>
        verifyAttestation(
          { report, ...withHwId.chain(undefined, 'vlek') },
          { now, trustedArk: withHwId.ark },
        ),
      SnpVerifyError,
      'chip-id-mismatch',
    );
  });

  it('a VLEK whose SPLs differ from REPORTED_TCB is refused', () => {
    const skewed = new FakeAmd({ overrides: { vlek: { kds: { snpSpl: 7 } } } });
    const report = new ReportSigner(skewed, {}, { signingKey: 'vlek' }).sign({ reportData });
    expectKind(
      () =>
        verifyAttestation({ report, ...skewed.chain(undefined, 'vlek') }, { now, trustedArk: skewed.ark }),
      SnpVerifyError,
      'tcb-mismatch',
    );
  });

  it('a report that says no key signed it is refused', () => {
    const unsigned = Buffer.from(vcekReport);
    unsigned.writeUInt32LE(7 << 2, 0x48);
    expectKind(
      () => verifyAttestation({ report: unsigned, ...amd.chain() }, opts),
      SnpVerifyError,
      'signature-invalid',
    );
  });
});

describe('AMD’s real VLEK chain (ASVK and ARK, testdata/go-sev-guest)', () => {
  for (const product of ['Milan', 'Genoa', 'Turin'] as const) {
    const pem = readFileSync(testdata('go-sev-guest', `ask_ark_${product.toLowerCase()}_vlek.pem`), 'utf8');
    const [asvkDer, arkDer] = splitPemCertificates(pem);
    const asvk = new X509Certificate(asvkDer!);
    const ark = new X509Certificate(arkDer!);
    // A VLEK named as AMD names it, under the real ASVK's name but signed by a key that is not AMD's:
    // every check of the real ASVK and ARK runs before the VLEK's own signature is checked.
    const sim = new FakeAmd({ product });
    const input: VcekInput = {
      extensions: { ...decodeKdsExtensions(sim.vlekFor().cert) },
      publicKey: sim.vlekFor().cert.publicKey,
      ask: { cert: asvk, privateKey: crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey },
      notBefore: new Date('2025-01-01T00:00:00Z'),
      notAfter: new Date('2032-01-01T00:00:00Z'),
    };
    const forged = buildVlek(input, { signatureAlgorithm: 'rsa-pss-sha384' });

    it(`${product}: the ASVK is AMD's SEV-VLEK-${product}, signed by the pinned ARK; only the forged VLEK fails`, () => {
      expect(identifyAmdCertificate(asvk)).toMatchObject({ role: 'asvk', product });
      expect(ark.raw.equals(amdRoots(product).ark.raw)).toBe(true);
      const err = expectKind(
        () => verifyVcekChain({ vcek: forged, ask: asvk, ark }, { now }),
        SnpVerifyError,
        'chain-signature-invalid',
      );
      expect(err.message).toMatch(/^VLEK signature/);
    });

    it(`${product}: a tampered ASVK fails at its own link`, () => {
      const der = Buffer.from(asvk.raw);
      der[der.length - 1]! ^= 1;
      const err = expectKind(
        () => verifyVcekChain({ vcek: forged, ask: new X509Certificate(der), ark }, { now }),
        SnpVerifyError,
        'chain-signature-invalid',
      );
      expect(err.message).toMatch(/^ASVK signature/);
    });
  }
});
