/**
 * Policy digests remembered by a hash of the raw annotation. The operator trims a pod again on each of
 * its status changes and at every relist, and Deployments give many pods one policy: without this each
 * of those would decode (and, for initdata, inflate) up to 256 KiB again. The key is a SHA-256 of the
 * annotation, so a pod cannot steer another value's entry, and the raw text is not kept.
 */
import { createHash } from 'node:crypto';
import type { PolicyScheme } from '../api/securekey.generated.ts';
import { POLICY_ANNOTATIONS } from './annotations.ts';
import { DigestError } from './errors.ts';
import { policyDigest, type PolicyDigest } from './policy-digest.ts';

export class PolicyDigestMemo {
  /** Least recently used first. A refusal is remembered like a digest: it is as costly to find. */
  private readonly entries = new Map<string, PolicyDigest | DigestError>();
  private readonly maxEntries: number;
  hits = 0;
  misses = 0;

  constructor(maxEntries = 16_384) {
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.entries.size;
  }

  /** `policyDigest(scheme, annotations)`, computed once per distinct annotation value. */
  digest(scheme: PolicyScheme, annotations: Readonly<Record<string, string>> | undefined): PolicyDigest {
    const value = annotations?.[POLICY_ANNOTATIONS[scheme]];
    // Missing or not a string: refused before any decoding, nothing worth remembering.
    if (typeof value !== 'string') return policyDigest(scheme, annotations);
    const key = `${scheme} ${createHash('sha256').update(value).digest('base64')}`;
    let found = this.entries.get(key);
    if (found === undefined) {
      this.misses += 1;
      try {
        found = policyDigest(scheme, annotations);
      } catch (err) {
        if (!(err instanceof DigestError)) throw err;
        found = err;
      }
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    } else {
      this.hits += 1;
      this.entries.delete(key);
    }
    this.entries.set(key, found);
    if (found instanceof DigestError) throw found;
    return found;
  }
}

/** The process's memo (the operator's pod informer): ~200 bytes an entry, so at most a few MiB. */
export const policyDigests = new PolicyDigestMemo();
