/**
 * did:x509 (DIF did:x509 method, version 0): `did:x509:0:<hash>:<b64url CA fingerprint>::<policy>:<value>…`
 * names "a certificate chain in which some CA certificate has this fingerprint, and whose leaf meets
 * every policy". Resolving one against a presented chain is all a verifier of Microsoft's signed
 * artifacts needs: the UVM reference info's `iss` is
 * `did:x509:0:sha256:<fingerprint>::eku:1.3.6.1.4.1.311.76.59.1.2`.
 *
 * Policies resolved: `eku` (the leaf's extended key usage includes the OID) and `subject` (each
 * `key:value` pair equals one of the leaf subject's attributes, values percent-encoded). Others
 * (`san`, `fulcio-issuer`) are refused as unsupported rather than ignored.
 */
import crypto, { type X509Certificate } from 'node:crypto';
import { decodeExtKeyUsage, EXTENSION_OIDS, getExtension, subjectAttributes } from '../x509/index.ts';
import { UvmEndorsementError } from './errors.ts';

const HASHES = { sha256: 32, sha384: 48, sha512: 64 } as const;
type DidHash = keyof typeof HASHES;

export interface DidX509 {
  readonly hash: DidHash;
  /** The CA certificate's fingerprint (the hash of its DER). */
  readonly fingerprint: Buffer;
  readonly policies: readonly { readonly name: string; readonly value: string }[];
}

const MAX_DID_LENGTH = 2048;

export function parseDidX509(did: string): DidX509 {
  const bad = (why: string): never => {
    throw new UvmEndorsementError(
      'bad-did',
      `${JSON.stringify(did.slice(0, 200))} is not a did:x509 this verifier resolves: ${why}`,
    );
  };
  if (did.length > MAX_DID_LENGTH) bad(`longer than ${MAX_DID_LENGTH} characters`);
  const [head, ...policyParts] = did.split('::');
  const m = /^did:x509:0:(sha256|sha384|sha512):([A-Za-z0-9_-]+)$/.exec(head!);
  if (!m) return bad('expected did:x509:0:<sha256|sha384|sha512>:<base64url fingerprint>');
  const hash = m[1] as DidHash;
  const fingerprint = Buffer.from(m[2]!, 'base64url');
  if (fingerprint.length !== HASHES[hash] || fingerprint.toString('base64url') !== m[2]) {
    bad(`the fingerprint is not ${HASHES[hash]} bytes of unpadded base64url`);
  }
  if (policyParts.length === 0) bad('it names no policy');
  const policies = policyParts.map((p) => {
    const at = p.indexOf(':');
    if (at <= 0 || at === p.length - 1) return bad(`policy ${JSON.stringify(p)} is not <name>:<value>`);
    return { name: p.slice(0, at), value: p.slice(at + 1) };
  });
  return { hash, fingerprint, policies };
}

/**
 * Checks that `chain` (leaf first) resolves `did`; throws UvmEndorsementError. The chain's own
 * signatures are the caller's to check.
 */
export function resolveDidX509(did: string, chain: readonly X509Certificate[]): void {
  const parsed = parseDidX509(did);
  const leaf = chain[0];
  if (leaf === undefined) throw new UvmEndorsementError('did-mismatch', 'the certificate chain is empty');
  const cas = chain.slice(1);
  if (!cas.some((c) => crypto.createHash(parsed.hash).update(c.raw).digest().equals(parsed.fingerprint))) {
    throw new UvmEndorsementError(
      'did-mismatch',
      `no CA certificate in the chain has the ${parsed.hash} fingerprint ${parsed.fingerprint.toString('base64url')} the issuer names`,
    );
  }
  for (const { name, value } of parsed.policies) {
    if (name === 'eku') {
      const ext = getExtension(leaf, EXTENSION_OIDS.extKeyUsage);
      const purposes = ext === undefined ? [] : decodeExtKeyUsage(ext.value);
      if (!purposes.includes(value)) {
        throw new UvmEndorsementError(
          'did-mismatch',
          `the signing certificate's extended key usage (${purposes.join(', ') || 'none'}) lacks ${value}, which the issuer requires`,
        );
      }
    } else if (name === 'subject') {
      const pairs = value.split(':');
      if (pairs.length % 2 !== 0)
        throw new UvmEndorsementError(
          'bad-did',
          `subject policy ${JSON.stringify(value)} is not key:value pairs`,
        );
      const attrs = subjectAttributes(leaf);
      for (let i = 0; i < pairs.length; i += 2) {
        const key = pairs[i]!;
        const want = decodeURIComponent(pairs[i + 1]!);
        if (!attrs.some((a) => a.type === key && a.value === want)) {
          throw new UvmEndorsementError(
            'did-mismatch',
            `the signing certificate's subject has no ${key}=${want}`,
          );
        }
      }
    } else {
      throw new UvmEndorsementError('bad-did', `did:x509 policy ${JSON.stringify(name)} is not supported`);
    }
  }
}
