/**
 * The AMD root keys an instance trusts, per product. Nothing is built in: the sandbox passes its fake
 * ARK, a deployment that should accept real hardware passes `amdArks()` (AMD's published roots from
 * the core). Each ARK names its product in its CN (`ARK-Milan`), so a flat list is enough.
 */
import type { X509Certificate } from 'node:crypto';
import {
  amdRoots,
  identifyAmdCertificate,
  SNP_PRODUCTS,
  toCertificate,
  type CertificateSource,
  type SnpProduct,
} from '../../core/snp/index.ts';
import { MaaError } from './errors.ts';

export type TrustedArks = ReadonlyMap<SnpProduct, readonly X509Certificate[]>;

/** AMD's published ARKs for Milan, Genoa and Turin. */
export function amdArks(): X509Certificate[] {
  return SNP_PRODUCTS.map((p) => amdRoots(p).ark);
}

/** Groups ARKs by the product their CN names; anything that is not an ARK is a configuration error. */
export function trustedArks(sources: readonly CertificateSource[]): TrustedArks {
  const byProduct = new Map<SnpProduct, X509Certificate[]>();
  sources.forEach((source, i) => {
    let cert: X509Certificate;
    try {
      cert = toCertificate(source, `trusted ARK ${i}`);
    } catch (cause) {
      throw new MaaError('InvalidParameter', 'bad-configuration', `trusted ARK ${i} is not one certificate`, {
        cause,
      });
    }
    const { role, product, commonName } = identifyAmdCertificate(cert);
    if (role !== 'ark' || product === undefined) {
      throw new MaaError(
        'InvalidParameter',
        'bad-configuration',
        `trusted ARK ${i} has CN ${commonName ?? '(none)'}, not ARK-<Milan|Genoa|Turin>`,
        { hint: 'pass the root (ARK) certificate, not the ASK or a bundle' },
      );
    }
    byProduct.set(product, [...(byProduct.get(product) ?? []), cert]);
  });
  return byProduct;
}

const spki = (c: X509Certificate): Buffer => c.publicKey.export({ type: 'spki', format: 'der' });

/**
 * The trusted ARK to verify a presented ARK against: the one that equals it (DER or public key, as the
 * core's pin accepts), else the product's first, so the core reports the mismatch.
 */
export function pickTrustedArk(
  trusted: TrustedArks,
  product: SnpProduct,
  presented: X509Certificate,
): X509Certificate | undefined {
  const candidates = trusted.get(product) ?? [];
  const key = spki(presented);
  return candidates.find((c) => c.raw.equals(presented.raw) || spki(c).equals(key)) ?? candidates[0];
}
