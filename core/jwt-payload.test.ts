import { describe, expect, it } from 'vitest';
import { unverifiedJwtPayload } from './jwt-payload.ts';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('unverifiedJwtPayload', () => {
  it('reads the payload of a three-part JWT', () => {
    expect(unverifiedJwtPayload(`${b64({ alg: 'RS256' })}.${b64({ exp: 5 })}.sig`)).toEqual({ exp: 5 });
  });

  it('is undefined for anything else: other part counts, non-JSON, a JSON that is not an object', () => {
    for (const jwt of [
      '',
      'a.b',
      `h.${b64({ exp: 5 })}`,
      'h.%%%.s',
      `h.${b64([1])}.s`,
      `h.${b64(7)}.s`,
      `h.${b64(null)}.s`,
    ]) {
      expect(unverifiedJwtPayload(jwt)).toBeUndefined();
    }
  });
});
