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
import { decodeKdsExtensions } from './kds.ts';
import { REPORT_SIZE } from './layout.ts';
import { parseReport } from './report.ts';
import { realChain, realReport } from './testing/test-helpers.ts';
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
