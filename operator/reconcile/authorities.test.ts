import { describe, expect, it } from 'vitest';
import { AZURE_ATTESTATION_SUFFIXES, checkAuthorities } from './authorities.ts';

describe('checkAuthorities', () => {
  it('admits Microsoft’s shared providers in every cloud by default, and the exact hosts or suffixes it is given', () => {
    expect(() =>
      checkAuthorities(
        [
          'https://sharedeus.eus.attest.azure.net',
          'https://sharedweu.weu.attest.azure.net/',
          'https://sharedugv.ugv.attest.azure.us',
        ],
        AZURE_ATTESTATION_SUFFIXES,
      ),
    ).not.toThrow();
    expect(() =>
      checkAuthorities(['https://contoso.eus.attest.azure.net'], ['contoso.eus.attest.azure.net']),
    ).not.toThrow();
    expect(() =>
      checkAuthorities(['https://sims.ns.svc.cluster.local:8444'], ['sims.ns.svc.cluster.local']),
    ).not.toThrow();
  });

  it('refuses a simulator, a look-alike, plain http and non-URLs, naming the entry', () => {
    const refused = (authority: string, entries = AZURE_ATTESTATION_SUFFIXES) => {
      try {
        checkAuthorities(['https://sharedeus.eus.attest.azure.net', authority], entries);
      } catch (err) {
        return (err as Error).message;
      }
      return 'accepted';
    };
    expect(refused('https://sandbox.attest.localhost:8444')).toMatch(
      /^spec\.attestation\.authorities\[1\] https:\/\/sandbox\.attest\.localhost:8444 is not an attestation service this operator may trust \(allowed: azure-shared\)/,
    );
    expect(refused('https://attest.azure.net.evil.example')).toMatch(/may trust/);
    expect(refused('https://evilattest.azure.net')).toMatch(/may trust/);
    // Anyone can create a custom provider under .attest.azure.net and write its policy: not by default.
    expect(refused('https://contoso.eus.attest.azure.net')).toMatch(/may trust/);
    expect(refused('https://sharedeus.weu.attest.azure.net')).toMatch(/may trust/); // region must repeat
    expect(() => checkAuthorities(['https://x.attest.example'], ['.attest.example'])).not.toThrow();
    expect(refused('http://x.eus.attest.azure.net')).toMatch(/authorities\[1\] .* is not an https URL/);
    expect(refused('not a url')).toMatch(/is not an https URL/);
    // An exact host entry admits that host only, not hosts under it.
    expect(refused('https://a.sims.ns.svc', ['sims.ns.svc'])).toMatch(/may trust/);
  });
});
