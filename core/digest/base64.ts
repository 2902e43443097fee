/**
 * Standard base64 (RFC 4648 §4, padded), decoded as strictly as the consumers of policy annotations
 * do: Kata's Go runtime uses `base64.StdEncoding` (which skips CR and LF, nothing else), Kata's Rust
 * runtime strips all white space first. `Buffer.from(s, 'base64')` silently skips bad characters; a
 * digest computed from a value the runtime refuses would admit a pod that can never start.
 */
export type Base64Problem =
  | { kind: 'empty' }
  | { kind: 'bad-character'; offset: number; char: string }
  | { kind: 'bad-length'; length: number }
  | { kind: 'bad-padding'; offset: number };

const SYMBOL = /[A-Za-z0-9+/]/;

/** `skip` says which characters the consumer ignores: CR/LF (Go) or any white space (Rust). */
export function decodeStdBase64(
  text: string,
  skip: 'newlines' | 'whitespace',
): { bytes: Buffer } | { problem: Base64Problem } {
  const ignorable = skip === 'newlines' ? /[\r\n]/ : /\s/;
  let clean = '';
  let padAt = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charAt(i);
    if (ignorable.test(c)) continue;
    if (c === '=') {
      if (padAt < 0) padAt = i;
    } else if (!SYMBOL.test(c)) {
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
