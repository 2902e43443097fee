import { KeyWrapError } from './errors.ts';

const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

/**
 * Decodes base64url, with or without `=` padding, refusing anything else. Buffer's own decoder skips
 * characters it does not know, which would turn a corrupted field into silently shorter bytes.
 */
export function decodeBase64Url(text: string, field: string): Buffer {
  const body = text.replace(/=+$/, '');
  if (
    !BASE64URL.test(text) ||
    body.length % 4 === 1 ||
    (text.length !== body.length && text.length % 4 !== 0)
  ) {
    throw new KeyWrapError('bad-envelope', `${field} is not base64url`, {
      hint: 'the vault encodes key_hsm and its ciphertext as URL-safe base64 without padding',
    });
  }
  return Buffer.from(body, 'base64url');
}
