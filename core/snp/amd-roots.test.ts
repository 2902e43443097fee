import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { testdata } from '../../test/support/paths.ts';
import { AMD_ASK_ARK_PEMS, amdRoots, identifyAmdCertificate, SNP_PRODUCTS } from './index.ts';
import { realChain } from '../../test/support/snp.ts';

describe('pinned AMD roots', () => {
  it.each(SNP_PRODUCTS)('%s constant is byte-identical to testdata/amd-roots', (product) => {
    const file = readFileSync(testdata(`amd-roots/${product.toLowerCase()}-ask-ark.pem`));
    expect(Buffer.from(AMD_ASK_ARK_PEMS[product], 'utf8').equals(file)).toBe(true);
  });

  it.each(SNP_PRODUCTS)('%s parses to the ASK and the self-signed ARK of that product', (product) => {
    const { ask, ark } = amdRoots(product);
    expect(identifyAmdCertificate(ask)).toEqual({ commonName: `SEV-${product}`, role: 'ask', product });
    expect(identifyAmdCertificate(ark)).toEqual({ commonName: `ARK-${product}`, role: 'ark', product });
    expect(ark.verify(ark.publicKey)).toBe(true);
    expect(ask.verify(ark.publicKey)).toBe(true);
  });

  it('the real THIM chain carries the pinned Milan certificates', () => {
    expect(realChain.ark.raw.equals(amdRoots('Milan').ark.raw)).toBe(true);
    expect(realChain.ask.raw.equals(amdRoots('Milan').ask.raw)).toBe(true);
    expect(realChain.ark.raw.equals(amdRoots('Genoa').ark.raw)).toBe(false);
    expect(identifyAmdCertificate(realChain.vcek)).toEqual({
      commonName: 'SEV-VCEK',
      role: 'vcek',
      product: undefined,
    });
  });
});
