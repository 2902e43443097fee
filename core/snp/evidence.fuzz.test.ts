/**
 * Fuzz tier for the SNP evidence boundary (see test/support/fuzz.ts for the seed): report bytes,
 * certificate tables and VCEK chains whose DER is mutated return or throw our typed errors, never a
 * TypeError, RangeError or a raw OpenSSL message.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { fuzzParams, mutatedBytes, typedOrOk } from '../../test/support/fuzz.ts';
import { parseCertTable } from './cert-table.ts';
import { toCertificate } from './chain.ts';
import { decodeKdsExtensions, type KdsExtensions } from './kds.ts';
import { REPORT_SIZE } from './layout.ts';
import { parseReport } from './report.ts';
import { signReport } from './signature.ts';
import { buildArk, buildAsk, buildVcek, fixtureAmdKeys } from '../../sim/amd/hierarchy.ts';
import { realChain, realReport } from '../../test/support/snp.ts';
import { verifyAttestation, verifyReportSignature } from './verify.ts';
import { verifyVcekChain } from './verify-chain.ts';

const NOW = { now: new Date('2029-11-29T01:55:56Z') };
const vcekDer = Buffer.from(realChain.vcek.raw);
const askDer = Buffer.from(realChain.ask.raw);
const arkDer = Buffer.from(realChain.ark.raw);
/** Where the VCEK's SubjectPublicKeyInfo sits in its DER, so edits can aim at the key. */
const spkiDer = realChain.vcek.publicKey.export({ type: 'spki', format: 'der' });
const spkiAt = vcekDer.indexOf(spkiDer);

/** The VCEK with bytes of its SubjectPublicKeyInfo (algorithm, curve, point) overwritten. */
const vcekWithMutatedKey = fc
  .array(fc.tuple(fc.nat(spkiDer.length - 1), fc.integer({ min: 0, max: 255 })), {
    minLength: 1,
    maxLength: 4,
  })
  .map((edits) => {
    const b = Buffer.from(vcekDer);
    for (const [i, v] of edits) b[spkiAt + i] = v;
    return b;
  });

describe('parseReport (fuzz)', () => {
  it('random bytes of any length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2 * REPORT_SIZE }), (bytes) =>
        typedOrOk(() => parseReport(bytes)),
      ),
      fuzzParams(),
    );
  });

  it('the real report with bytes overwritten, truncated or extended', () => {
    fc.assert(
      fc.property(mutatedBytes(realReport), fc.boolean(), (bytes, allowTrailingBytes) =>
        typedOrOk(() => parseReport(bytes, { allowTrailingBytes })),
      ),
      fuzzParams(),
    );
  });

  it('a random 0x4A0-byte report with a valid version and algorithm', () => {
    const report = fc.uint8Array({ minLength: REPORT_SIZE, maxLength: REPORT_SIZE }).chain((b) =>
      fc.integer({ min: 2, max: 5 }).map((version) => {
        const r = Buffer.from(b);
        r.writeUInt32LE(version, 0);
        r.writeUInt32LE(1, 0x34);
        return r;
      }),
    );
    fc.assert(
      fc.property(report, (bytes) => typedOrOk(() => parseReport(bytes))),
      fuzzParams(),
    );
  });
});

describe('parseCertTable (fuzz)', () => {
  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => typedOrOk(() => parseCertTable(bytes))),
      fuzzParams(),
    );
  });
});

describe('VCEK chain (fuzz)', () => {
  it('a mutated VCEK, ASK or ARK', () => {
    const slot = fc.constantFrom('vcek', 'ask', 'ark');
    const chain = slot.chain((s) =>
      mutatedBytes(s === 'vcek' ? vcekDer : s === 'ask' ? askDer : arkDer).map((der) => ({
        ...realChain,
        [s]: der,
      })),
    );
    fc.assert(
      fc.property(chain, (c) => typedOrOk(() => verifyAttestation({ report: realReport, ...c }, NOW))),
      fuzzParams(200),
    );
  });

  it('a VCEK whose SubjectPublicKeyInfo is malformed', () => {
    fc.assert(
      fc.property(vcekWithMutatedKey, (vcek) => {
        typedOrOk(() => verifyVcekChain({ ...realChain, vcek }, NOW));
        typedOrOk(() => verifyAttestation({ report: realReport, ...realChain, vcek }, NOW));
        typedOrOk(() => verifyReportSignature(realReport, toCertificate(vcek, 'VCEK')));
      }),
      fuzzParams(200),
    );
  });

  it('the KDS extensions of a mutated VCEK', () => {
    fc.assert(
      fc.property(mutatedBytes(vcekDer), (der) => typedOrOk(() => decodeKdsExtensions(der))),
      fuzzParams(),
    );
  });
});

describe('evidence signed by a fake AMD chain (fuzz)', () => {
  // Signed with keys we hold, so changed bytes get past the signatures to the checks behind them.
  const keys = fixtureAmdKeys();
  const ark = buildArk('Milan', keys.ark);
  const ask = buildAsk('Milan', keys.ask, { cert: ark, privateKey: keys.ark.privateKey });
  const realExt = decodeKdsExtensions(realChain.vcek);
  const vcek = (kds: Partial<KdsExtensions>) =>
    buildVcek(
      {
        extensions: realExt,
        publicKey: keys.vcek.publicKey,
        ask: { cert: ask, privateKey: keys.ask.privateKey },
        notBefore: new Date('2024-01-01T00:00:00Z'),
        notAfter: new Date('2031-01-01T00:00:00Z'),
      },
      { kds },
    );
  const genuineVcek = vcek({});
  const options = { now: new Date('2025-06-01T00:00:00Z'), trustedArk: ark };

  it('the real report with signed bytes changed, re-signed', () => {
    const report = mutatedBytes(realReport.subarray(0, 0x2a0)).map((signed) => {
      const bytes = Buffer.alloc(REPORT_SIZE);
      signed.copy(bytes, 0, 0, Math.min(signed.length, 0x2a0));
      return signReport(bytes, keys.vcek.privateKey);
    });
    fc.assert(
      fc.property(report, (bytes) =>
        typedOrOk(() => verifyAttestation({ report: bytes, vcek: genuineVcek, ask, ark }, options)),
      ),
      fuzzParams(300),
    );
  });

  it('a VCEK with random KDS extension values', () => {
    const spl = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constant(undefined));
    const kds = fc.record(
      {
        structVersion: fc.oneof(fc.nat(), fc.constant(undefined)),
        productName: fc.oneof(
          fc.constantFrom('Milan-B0', 'Genoa', 'Milan'),
          fc.string(),
          fc.constant(undefined),
        ),
        blSpl: spl,
        teeSpl: spl,
        snpSpl: spl,
        ucodeSpl: spl,
        spl4: spl,
        fmcSpl: spl,
        hwId: fc.oneof(
          fc.constant(realExt.hwId),
          fc.uint8Array({ minLength: 8, maxLength: 8 }).map((b) => Buffer.from(b)),
          fc.constant(undefined),
        ),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(kds, (k) =>
        typedOrOk(() =>
          verifyAttestation(
            { report: signReport(realReport, keys.vcek.privateKey), vcek: vcek(k), ask, ark },
            options,
          ),
        ),
      ),
      fuzzParams(100),
    );
  });
});
