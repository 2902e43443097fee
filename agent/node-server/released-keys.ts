/**
 * The node agent's keys in memory: one release per key version per node. Every pod of the node that
 * may have a key gets the same released bytes; concurrent requests for a version not released yet
 * wait for the one release in flight (a burst of 50 pods is one vault call), and a new version (the
 * SecureKey's status.key.version after a rotation) is released once and replaces the old one, whose
 * bytes are wiped.
 *
 * A throttled or unavailable source is retried with exponential backoff and jitter, never sooner than
 * its Retry-After, within `retryBudgetMs`; past that the failure is remembered until the time the
 * service asked for, so pods asking meanwhile are answered "throttled" without another vault call.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { KeySourceError, keyRefName, type KeyRef, type KeySource, type ReleasedKey } from './key-source.ts';

export interface ReleasedKeysOptions {
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** In [0, 1): the jitter's source. */
  random?: () => number;
  /** How long one release may spend on retries before the callers are told to come back. Default 20 s. */
  retryBudgetMs?: number;
  /** First backoff; doubles per attempt up to `maxBackoffMs`. Default 500 ms. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Each call to the source, for metrics and logs. */
  onRelease?: (ref: KeyRef, outcome: 'ok' | KeySourceError['kind'] | 'error', ms: number) => void;
}

type VersionedRef = KeyRef & { version: string };

interface Entry {
  version: string;
  pending?: Promise<ReleasedKey>;
  key?: ReleasedKey;
  /** Epoch ms before which a throttled release is not retried. */
  notBefore?: number;
}

export class ReleasedKeys {
  private readonly source: KeySource;
  private readonly entries = new Map<string, Entry[]>();
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly o: ReleasedKeysOptions;
  private readonly stopping = new AbortController();

  constructor(source: KeySource, o: ReleasedKeysOptions = {}) {
    this.source = source;
    this.o = o;
    this.now = o.now ?? Date.now;
    this.sleep = o.sleep ?? ((ms) => delay(ms, undefined, { signal: this.stopping.signal }));
    this.random = o.random ?? Math.random;
  }

  /** The key at `ref.version`: from memory, from the release in flight, or released now. */
  get(ref: VersionedRef): Promise<ReleasedKey> {
    const id = `${ref.vaultUrl}\n${ref.keyName}`;
    const versions = this.entries.get(id) ?? [];
    let entry = versions.find((e) => e.version === ref.version);
    if (entry?.key) return Promise.resolve(entry.key);
    if (entry?.pending) return entry.pending;
    if (entry?.notBefore !== undefined && this.now() < entry.notBefore) {
      return Promise.reject(this.throttled(ref, entry.notBefore));
    }
    if (!entry) {
      entry = { version: ref.version };
      this.entries.set(id, [...versions, entry]);
    }
    const e = entry;
    delete e.notBefore;
    e.pending = this.releaseWithRetry(ref, e).then(
      (key) => {
        delete e.pending;
        e.key = key;
        // Only the version just released stays; older ones are wiped and dropped.
        for (const old of this.entries.get(id) ?? []) if (old !== e) old.key?.plaintext.fill(0);
        this.entries.set(id, [e]);
        return key;
      },
      (err: unknown) => {
        delete e.pending;
        if (e.notBefore === undefined) this.drop(id, e);
        throw err;
      },
    );
    return e.pending;
  }

  /** Key versions held in memory. */
  get size(): number {
    let n = 0;
    for (const versions of this.entries.values()) n += versions.filter((e) => e.key).length;
    return n;
  }

  /** Wipes every key and stops retries in progress. */
  clear(): void {
    this.stopping.abort();
    for (const versions of this.entries.values()) for (const e of versions) e.key?.plaintext.fill(0);
    this.entries.clear();
  }

  private drop(id: string, e: Entry): void {
    const rest = (this.entries.get(id) ?? []).filter((x) => x !== e);
    if (rest.length === 0) this.entries.delete(id);
    else this.entries.set(id, rest);
  }

  private async releaseWithRetry(ref: VersionedRef, e: Entry): Promise<ReleasedKey> {
    const budgetEnds = this.now() + (this.o.retryBudgetMs ?? 20_000);
    const base = this.o.backoffMs ?? 500;
    const cap = this.o.maxBackoffMs ?? 10_000;
    for (let attempt = 1; ; attempt++) {
      const started = this.now();
      try {
        const key = await this.source.release(ref, { signal: this.stopping.signal });
        this.o.onRelease?.(ref, 'ok', this.now() - started);
        return key;
      } catch (err) {
        const kind = err instanceof KeySourceError ? err.kind : 'error';
        this.o.onRelease?.(ref, kind, this.now() - started);
        if (!(err instanceof KeySourceError) || (kind !== 'throttled' && kind !== 'unavailable')) throw err;
        const asked = err.retryAt === undefined ? 0 : Math.max(0, err.retryAt.getTime() - this.now());
        const backoff = Math.min(cap, base * 2 ** (attempt - 1));
        // Never before the service's Retry-After; spread so the nodes of a pool do not retry in step.
        const wait = Math.max(asked, backoff) * (1 + 0.25 * this.random());
        if (this.now() + wait > budgetEnds || this.stopping.signal.aborted) {
          if (kind === 'throttled') {
            e.notBefore = this.now() + Math.max(asked, backoff);
            throw this.throttled(ref, e.notBefore, err);
          }
          throw err;
        }
        await this.sleep(wait);
      }
    }
  }

  private throttled(ref: KeyRef, notBefore: number, cause?: unknown): KeySourceError {
    return new KeySourceError('throttled', `the release of ${keyRefName(ref)} is throttled`, {
      retryAt: new Date(notBefore),
      ...(cause === undefined ? {} : { cause }),
    });
  }
}
