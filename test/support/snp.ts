/** Shared by the SNP tests: the real vectors and error assertions. Not part of the module API. */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { testdata } from './paths.ts';
import type { SecureKeyError } from '../../core/errors.ts';
import { parsePemCertificates } from '../../core/x509/index.ts';

export const realReport: Buffer = readFileSync(testdata('snp-real/report.bin'));

export const thim = JSON.parse(readFileSync(testdata('snp-real/thim-certs.json'), 'utf8')) as {
  vcekCert: string;
  tcbm: string;
  certificateChain: string;
};

const [realAsk, realArk] = parsePemCertificates(thim.certificateChain) as [X509Certificate, X509Certificate];
export const realChain = { vcek: new X509Certificate(thim.vcekCert), ask: realAsk, ark: realArk };

/** Runs `fn`, expects a `ctor` error of `kind`, returns it. */
export function expectKind<E extends SecureKeyError>(
  fn: () => unknown,
  ctor: abstract new (...args: never[]) => E,
  kind: E['kind'],
): E {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, `expected ${ctor.name} ${kind}`).toBeInstanceOf(ctor);
  expect((thrown as E).kind, String(thrown)).toBe(kind);
  return thrown as E;
}

/** A copy of `bytes` with bit `bit` of byte `offset` flipped. */
export function flipBit(bytes: Uint8Array, offset: number, bit = 0): Buffer {
  const copy = Buffer.from(bytes);
  copy[offset]! ^= 1 << bit;
  return copy;
}
