/**
 * Authorities are attestation issuers. The vault picks the policy entries whose `authority` matches the
 * token's `iss`. MAA's `iss` has no trailing slash, the importkey tool writes none, but the CVM policy
 * Microsoft publishes writes one and is used in production, so the vault evidently ignores one trailing
 * slash; we compare the same way.
 */

/** Removes one trailing `/`, no more. */
export function trimTrailingSlash(authority: string): string {
  return authority.endsWith('/') ? authority.slice(0, -1) : authority;
}

/** Whether a policy authority selects tokens with this issuer. */
export function sameAuthority(authority: string, issuer: string): boolean {
  return trimTrailingSlash(authority) === trimTrailingSlash(issuer);
}

/** Why `text` is not an absolute http(s) URL an issuer could have, or undefined when it is one. */
export function authorityProblem(text: string, schemes: readonly string[]): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'is not an absolute URL';
  }
  if (!schemes.includes(url.protocol)) return `uses ${url.protocol} (expected ${schemes.join(' or ')})`;
  if (url.username !== '' || url.password !== '') return 'carries credentials';
  if (url.search !== '' || url.hash !== '') return 'has a query or fragment';
  return undefined;
}

/**
 * The form we write: an https URL without a trailing slash, exactly as the issuer prints its `iss`
 * (lowercase host, no default port). Returns the normalised authority or a problem with a hint.
 */
export function normaliseAuthority(text: string): { authority: string } | { problem: string; hint?: string } {
  const problem = authorityProblem(text, ['https:']);
  if (problem !== undefined) return { problem };
  const authority = trimTrailingSlash(text);
  const normal = trimTrailingSlash(new URL(authority).href);
  if (authority !== normal) {
    return {
      problem: authority.endsWith('/') ? 'ends with more than one slash' : 'is not in normal form',
      hint: `write it as ${normal}, the way the attestation service prints its iss claim`,
    };
  }
  return { authority };
}
