/**
 * The EC curves a vault key can use, under the three names that meet here: OpenSSL's (what
 * `asymmetricKeyDetails.namedCurve` reports), the JWK registry's (our JWK output, RFC 7518/8812) and
 * the vault's (`P-256K` for secp256k1).
 */
export const EC_CURVES = [
  { openssl: 'prime256v1', jwk: 'P-256', vault: 'P-256' },
  { openssl: 'secp384r1', jwk: 'P-384', vault: 'P-384' },
  { openssl: 'secp521r1', jwk: 'P-521', vault: 'P-521' },
  { openssl: 'secp256k1', jwk: 'secp256k1', vault: 'P-256K' },
] as const;

export type EcCurve = (typeof EC_CURVES)[number];
export type JwkCurveName = EcCurve['jwk'];

export function curveByOpensslName(name: string | undefined): EcCurve | undefined {
  return EC_CURVES.find((c) => c.openssl === name);
}
