/**
 * Name resolution for simulated Azure endpoints: RFC 6761 §6.3 asks resolvers to answer `localhost` and
 * every name under `.localhost` with the loopback address, but many (glibc without systemd-resolved,
 * musl) do not. Clients of the simulators resolve those names here; every other name goes to the
 * system resolver unchanged, so a production client using this lookup behaves exactly as before.
 */
import dns from 'node:dns';
import type { LookupAddress, LookupOptions } from 'node:dns';

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** True for `localhost` and any name under `.localhost` (case-insensitive, an absolute trailing dot allowed). */
export function isLoopbackName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost');
}

const V4: LookupAddress = { address: '127.0.0.1', family: 4 };
const V6: LookupAddress = { address: '::1', family: 6 };

/** The loopback answers for a lookup with the given family (0/undefined: both, IPv4 first). */
function loopbackAnswers(family: LookupOptions['family']): LookupAddress[] {
  if (family === 4 || family === 'IPv4') return [V4];
  if (family === 6 || family === 'IPv6') return [V6];
  return [V4, V6];
}

/**
 * A `lookup` for `net`/`tls`/`https.Agent`: `.localhost` names → 127.0.0.1 / ::1, anything else →
 * `dns.lookup`. Supports `all: true`, which Node's happy-eyeballs connect (`autoSelectFamily`) uses.
 */
export function loopbackLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  if (!isLoopbackName(hostname)) {
    dns.lookup(hostname, { ...options, all: options.all === true }, callback as never);
    return;
  }
  const answers = loopbackAnswers(options.family);
  const first = answers[0] as LookupAddress;
  process.nextTick(() => {
    if (options.all === true) callback(null, answers);
    else callback(null, first.address, first.family);
  });
}
