import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fuzzParams } from '../../test/support/fuzz.ts';
import { decodeStdBase64, type Base64Problem } from './base64.ts';

type Skip = 'newlines' | 'whitespace';

/** The character-by-character decoder this one replaced: the oracle for which problem comes first. */
function reference(text: string, skip: Skip): { bytes: Buffer } | { problem: Base64Problem } {
  const ignorable = skip === 'newlines' ? /[\r\n]/ : /\s/;
  let clean = '';
  let padAt = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charAt(i);
    if (ignorable.test(c)) continue;
    if (c === '=') {
      if (padAt < 0) padAt = i;
    } else if (!/[A-Za-z0-9+/]/.test(c)) {
      return { problem: { kind: 'bad-character', offset: i, char: c } };
    } else if (padAt >= 0) {
      return { problem: { kind: 'bad-padding', offset: padAt } };
    }
    clean += c;
  }
  if (clean.length === 0) return { problem: { kind: 'empty' } };
  const pads = clean.length - clean.replace(/=+$/, '').length;
  if (clean.length % 4 !== 0) return { problem: { kind: 'bad-length', length: clean.length } };
  if (pads > 2) return { problem: { kind: 'bad-padding', offset: padAt } };
  return { bytes: Buffer.from(clean, 'base64') };
}

const skips = fc.constantFrom<Skip>('newlines', 'whitespace');
/** Base64-ish text: the alphabet, padding, line breaks, other white space and a few strangers. */
const nearBase64 = fc
  .array(fc.constantFrom(...'AZaz09+/===\r\n\n \t_-.\u00a0é'.split(''), 'QUJD', 'YQ=='), { maxLength: 40 })
  .map((parts) => parts.join(''));

describe('decodeStdBase64', () => {
  it("decodes Buffer's own base64 of random bytes to those bytes, line breaks anywhere", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 300 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.constantFrom('\n', '\r\n'),
        skips,
        (raw, cuts, br, skip) => {
          let text = Buffer.from(raw).toString('base64');
          for (const cut of cuts) {
            const at = cut % (text.length + 1);
            text = text.slice(0, at) + br + text.slice(at);
          }
          const r = decodeStdBase64(text, skip);
          expect('bytes' in r && r.bytes.equals(Buffer.from(raw))).toBe(true);
        },
      ),
      fuzzParams(),
    );
  });

  it('agrees with the character-by-character decoder on any text, problem and offset included', () => {
    fc.assert(
      fc.property(fc.oneof(nearBase64, fc.string({ maxLength: 40 })), skips, (text, skip) => {
        expect(decodeStdBase64(text, skip)).toEqual(reference(text, skip));
      }),
      fuzzParams(1000),
    );
  });

  it('accepts non-zero trailing bits as Go StdEncoding does', () => {
    expect(decodeStdBase64('YR==', 'newlines')).toEqual({ bytes: Buffer.from('a') });
  });

  it('decodes a 256 KiB annotation in about the time it takes to hash it, not per character', () => {
    const text = Buffer.alloc(192 * 1024, 'policy text ').toString('base64');
    const best = (fn: () => unknown): number => {
      let min = Infinity;
      for (let i = 0; i < 9; i++) {
        const t0 = performance.now();
        fn();
        min = Math.min(min, performance.now() - t0);
      }
      return min;
    };
    const hashMs = best(() => createHash('sha256').update(text).digest());
    const decodeMs = best(() => decodeStdBase64(text, 'newlines'));
    // A loop over characters in JavaScript takes ~70× the hash; Buffer's decode about 1–2×.
    expect(decodeMs).toBeLessThan(15 * hashMs);
  });
});
