/**
 * The last line of defence for text that leaves a process — log lines, condition messages, events, probe
 * reasons: whatever put it together should have left key material out, but a PEM block or a run of key
 * bytes that slipped in is redacted here anyway.
 */

const PEM_BLOCK = /-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(-----END [A-Z0-9 ]+-----|$)/g;
/**
 * Long mixed-case base64/base64url runs look like key bytes ('/' included, so standard base64 is not
 * let through in slices); digests, key versions and key paths are lowercase.
 */
const KEY_LIKE = /[A-Za-z0-9+/_-]{40,}={0,2}/g;

/**
 * Mixed case marks key bytes. A run with '/' may also be a path (an Azure resource id is mostly lower
 * case with a few capitals), so it must look random: at least a quarter upper and a quarter lower case.
 */
function keyLike(run: string): boolean {
  const upper = (run.match(/[A-Z]/g) ?? []).length;
  const lower = (run.match(/[a-z]/g) ?? []).length;
  if (upper === 0 || lower === 0) return false;
  return !run.includes('/') || (upper >= run.length / 4 && lower >= run.length / 4);
}

/** `text` with PEM blocks and key-like base64 runs replaced by `[redacted]`. */
export function redactKeyMaterial(text: string): string {
  return text
    .replace(PEM_BLOCK, '[redacted]')
    .replace(KEY_LIKE, (run) => (keyLike(run) ? '[redacted]' : run));
}
