/**
 * `release_policy.data` is documented as base64url, but the sidecar's CI sends standard base64 with
 * padding and the vault takes it. We read either alphabet, padded or not — strictly:
 * Buffer's own decoder skips characters it does not know, which would turn a corrupted policy into
 * silently different bytes.
 */

/** The decoded bytes, or what is wrong with the text. */
export function decodeAnyBase64(text: string): { bytes: Buffer } | { problem: string } {
  const body = text.replace(/={1,2}$/, '');
  if (body.length === 0) return { problem: 'it is empty' };
  const bad = [...body].findIndex((c) => !/[A-Za-z0-9+/_-]/.test(c));
  if (bad >= 0) {
    return { problem: `character ${JSON.stringify(body.charAt(bad))} at offset ${bad} is not base64` };
  }
  if (/[-_]/.test(body) && /[+/]/.test(body)) {
    return { problem: 'it mixes the standard (+/) and URL-safe (-_) alphabets' };
  }
  if (body.length % 4 === 1) return { problem: `${body.length} base64 characters cannot encode whole bytes` };
  if (body.length !== text.length && text.length % 4 !== 0) {
    return { problem: "'=' padding does not make the length a multiple of 4" };
  }
  // Node's base64 decoder reads both alphabets.
  const bytes = Buffer.from(body, 'base64');
  // Re-encoding must give the same text back; otherwise the last character had stray low bits set.
  if (bytes.toString('base64url') !== body.replace(/\+/g, '-').replace(/\//g, '_')) {
    return { problem: 'the last character carries bits beyond the encoded bytes' };
  }
  return { bytes };
}
