/**
 * Standard base64 (RFC 4648 §4, padded), decoded as strictly as the consumers of policy annotations
 * do: Kata's Go runtime uses `base64.StdEncoding` (which skips CR and LF, nothing else), Kata's Rust
 * runtime strips all white space first. `Buffer.from(s, 'base64')` silently skips bad characters; a
 * digest computed from a value the runtime refuses would admit a pod that can never start.
 *
 * Annotations run to 256 KiB and anyone who can create a pod chooses them, so the checks are whole-string
 * regular expressions and the decode is Buffer's, never a loop over characters in JavaScript.
 */
export type Base64Problem =
  | { kind: 'empty' }
  | { kind: 'bad-character'; offset: number; char: string }
  | { kind: 'bad-length'; length: number }
  | { kind: 'bad-padding'; offset: number };

type Skip = 'newlines' | 'whitespace';

const IGNORED: Record<Skip, RegExp> = { newlines: /[\r\n]+/g, whitespace: /\s+/g };
const FOREIGN: Record<Skip, RegExp> = { newlines: /[^A-Za-z0-9+/=\r\n]/, whitespace: /[^A-Za-z0-9+/=\s]/ };
const CANONICAL = /^[A-Za-z0-9+/]*={0,2}$/;

/** `skip` says which characters the consumer ignores: CR/LF (Go) or any white space (Rust). */
export function decodeStdBase64(text: string, skip: Skip): { bytes: Buffer } | { problem: Base64Problem } {
  const clean = text.replace(IGNORED[skip], '');
  if (clean.length === 0) return { problem: { kind: 'empty' } };
  const bytes = Buffer.from(clean, 'base64');
  // Buffer's encoding is canonical padded base64, so a value it re-encodes to is valid (the common
  // case, at memcmp speed); the regular expression settles the rest (e.g. non-zero trailing bits).
  if (bytes.toString('base64') === clean) return { bytes };
  if (clean.length % 4 === 0 && CANONICAL.test(clean)) return { bytes };
  return { problem: problemOf(text, clean, skip) };
}

/** The first problem a left-to-right reader meets in `text` (`clean` is `text` without ignored characters). */
function problemOf(text: string, clean: string, skip: Skip): Base64Problem {
  const bad = text.search(FOREIGN[skip]);
  const padAt = text.indexOf('=');
  let afterPad = -1;
  if (padAt >= 0) {
    const symbol = /[A-Za-z0-9+/]/g;
    symbol.lastIndex = padAt;
    afterPad = symbol.exec(text)?.index ?? -1;
  }
  if (bad >= 0 && (afterPad < 0 || bad < afterPad)) {
    return { kind: 'bad-character', offset: bad, char: text.charAt(bad) };
  }
  if (afterPad >= 0) return { kind: 'bad-padding', offset: padAt };
  if (clean.length % 4 !== 0) return { kind: 'bad-length', length: clean.length };
  return { kind: 'bad-padding', offset: padAt }; // only symbols, then three or more '='
}
export function describeBase64Problem(p: Base64Problem): string {
  switch (p.kind) {
    case 'empty':
      return 'the value is empty';
    case 'bad-character':
      return `character ${JSON.stringify(p.char)} at offset ${p.offset} is not standard base64`;
    case 'bad-length':
      return `${p.length} base64 characters is not a multiple of 4 (standard base64 is padded with '=')`;
    case 'bad-padding':
      return `'=' padding at offset ${p.offset} is misplaced`;
  }
}
