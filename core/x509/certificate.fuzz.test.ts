/**
 * Fuzz tier for our DER reading of certificates (see test/support/fuzz.ts for the seed): the real
 * VCEK and ARK with bytes changed, PEM text with characters changed, and random bytes are read or
 * refused with an X509Error, never an Asn1 internals error, TypeError or RangeError.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { realChain, thim } from '../../test/support/snp.ts';
import { fuzzParams, mutatedBytes, typedOrOk } from '../../test/support/fuzz.ts';
import { signatureAlgorithm } from './algorithms.ts';
import { certificateFields } from './certificate.ts';
import { issuerAttributes, subjectAttributes } from './names.ts';
import { certificatesFromBytes, certificatesOnlyProblem, parsePemCertificates } from './pem.ts';
import { decodeBasicConstraints, decodeKeyUsage } from './standard-extensions.ts';

const der = fc.oneof(
  mutatedBytes(realChain.vcek.raw),
  mutatedBytes(realChain.ark.raw),
  fc.uint8Array({ maxLength: 64 }),
);

/** Everything we read from a certificate's DER ourselves (node:crypto reads the rest). */
function readAll(bytes: Uint8Array): void {
  certificateFields(bytes);
  signatureAlgorithm(bytes);
  subjectAttributes(bytes);
  issuerAttributes(bytes);
}

describe('certificate DER (fuzz)', () => {
  it('mutated and random DER', () => {
    fc.assert(
      fc.property(der, (bytes) => typedOrOk(() => readAll(bytes))),
      fuzzParams(500),
    );
  });

  it('extension values', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 16 }), (bytes) => {
        typedOrOk(() => decodeBasicConstraints(bytes));
        typedOrOk(() => decodeKeyUsage(bytes));
      }),
      fuzzParams(),
    );
  });

  it('PEM text with characters changed', () => {
    const pem = fc
      .array(fc.tuple(fc.nat(thim.vcekCert.length - 1), fc.constantFrom('-', '=', ' ', '\n', 'A', '!')), {
        minLength: 1,
        maxLength: 4,
      })
      .map((edits) => edits.reduce((s, [i, c]) => s.slice(0, i) + c + s.slice(i + 1), thim.vcekCert));
    fc.assert(
      fc.property(pem, (text) => {
        typedOrOk(() => parsePemCertificates(text));
        typedOrOk(() => certificatesOnlyProblem(text));
        typedOrOk(() => certificatesFromBytes(Buffer.from(text)));
      }),
      fuzzParams(),
    );
  });
});
