/**
 * A list-then-watch cache of one resource, trimmed on arrival, that does not silently stop
 * (client-node's informer stops on any non-410 error: docs/adr/0010-own-informer-over-raw-json.md):
 *
 * - paginated list (pages sized by bytes when asked: `pageBytes`), then watch from its resourceVersion
 *   with bookmarks;
 * - 410 Gone → relist; any other failure → retry with backoff (1 s → 30 s) from the last resourceVersion;
 * - a full relist every `relistIntervalMs` (jittered), diffed against the cache, so a missed event
 *   costs at most one interval;
 * - a watchdog: `health()` fails when nothing was heard (event, bookmark or list) for `staleAfterMs`,
 *   and the stream is torn down and restarted.
 *
 * Handlers get trimmed objects only; updates whose trimmed form did not change are not delivered.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeApiError } from './errors.ts';
import type { KubeHttp, WatchEvent } from './kube-http.ts';

export type InformerEvent = 'add' | 'update' | 'delete';

export interface InformerOptions<T> {
  http: KubeHttp;
  /** Collection path, e.g. /api/v1/pods (all namespaces) or /apis/securekey.io/v1alpha1/securekeys. */
  path: string;
  /** Name for logs and metrics. */
  name: string;
  labelSelector?: string;
  trim: (obj: Record<string, unknown>) => T;
  /** Equal trimmed objects produce no update event. Default: JSON equality. */
  equal?: (a: T, b: T) => boolean;
  /** A secondary index (e.g. namespace) for `byIndex`. */
  indexOf?: (t: T) => string;
  onEvent: (type: InformerEvent, obj: T, old: T | undefined) => void;
  /** A trim that throws skips the object (reported here) instead of killing the informer. */
  onSkip?: (key: string, err: unknown) => void;
  onError?: (err: unknown, attempt: number) => void;
  onRelist?: (count: number, ms: number) => void;
  /** The most objects a list page asks for (default 500). */
  pageSize?: number;
  /**
   * Aim list pages at about this many bytes: each page asks for as many objects as fit, judged by the
   * annotations of the page before (where objects carry their bulk, up to the API server's 256 KiB), the
   * first page for MIN_PAGE_SIZE. A page is held as bytes, text and objects at once while it is parsed.
   */
  pageBytes?: number;
  relistIntervalMs?: number;
  staleAfterMs?: number;
  /** Server-side watch timeout, randomised between this and twice it (as client-go does). */
  watchTimeoutSeconds?: number;
  now?: () => number;
}

interface Entry<T> {
  obj: T;
  rv: string;
}

function metaOf(obj: Record<string, unknown>): { key: string; rv: string } {
  const m = (obj['metadata'] ?? {}) as { namespace?: string; name?: string; resourceVersion?: string };
  return {
    key: m.namespace ? `${m.namespace}/${m.name ?? ''}` : (m.name ?? ''),
    rv: m.resourceVersion ?? '',
  };
}

/** The first page when aiming at `pageBytes`, and the fewest objects any page asks for. */
export const MIN_PAGE_SIZE = 5;

/** What an object weighs in a list page, roughly: its annotations (policies live there) and 1 KiB more. */
function estimatedBytes(obj: Record<string, unknown>): number {
  const annotations = (obj['metadata'] as { annotations?: Record<string, unknown> } | undefined)?.annotations;
  let n = 1024;
  for (const [k, v] of Object.entries(annotations ?? {}))
    n += k.length + (typeof v === 'string' ? v.length : 0);
  return n;
}

function jsonEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export class Informer<T> {
  private readonly o: InformerOptions<T>;
  private readonly store = new Map<string, Entry<T>>();
  private readonly index = new Map<string, Map<string, T>>();
  private readonly now: () => number;
  private abort = new AbortController();
  private streamAbort: AbortController | undefined;
  private running: Promise<void> | undefined;
  private synced = false;
  private resourceVersion = '';
  private lastHeard = 0;
  private lastRelist = 0;
  private watchdog: NodeJS.Timeout | undefined;

  constructor(options: InformerOptions<T>) {
    this.o = options;
    this.now = options.now ?? Date.now;
  }

  start(): void {
    if (this.running) return;
    this.abort = new AbortController();
    this.lastHeard = this.now();
    this.running = this.loop();
    const stale = this.o.staleAfterMs ?? 600_000;
    this.watchdog = setInterval(
      () => {
        // A stream that hears nothing (not even a bookmark) for this long is restarted.
        if (this.now() - this.lastHeard > stale) this.streamAbort?.abort();
      },
      Math.min(stale, 30_000),
    );
    this.watchdog.unref();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.streamAbort?.abort();
    clearInterval(this.watchdog);
    await this.running;
    this.running = undefined;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** For /readyz: synced once, and heard from the API server recently. */
  health(): true | string {
    if (!this.synced) return `${this.o.name} informer has not listed yet`;
    const silent = this.now() - this.lastHeard;
    const stale = this.o.staleAfterMs ?? 600_000;
    return silent > stale ? `${this.o.name} informer heard nothing for ${Math.round(silent / 1000)} s` : true;
  }

  get size(): number {
    return this.store.size;
  }

  get(key: string): T | undefined {
    return this.store.get(key)?.obj;
  }

  list(): T[] {
    return [...this.store.values()].map((e) => e.obj);
  }

  byIndex(value: string): T[] {
    return [...(this.index.get(value)?.values() ?? [])];
  }

  /** Forces a relist now (tests): the watch stream is aborted and the loop relists. */
  relistNow(): void {
    this.lastRelist = 0;
    this.streamAbort?.abort();
  }

  private async loop(): Promise<void> {
    let attempt = 0;
    const relistEvery = this.o.relistIntervalMs ?? 600_000;
    let nextRelistIn = jitter(relistEvery);
    while (!this.abort.signal.aborted) {
      try {
        if (this.resourceVersion === '' || this.now() - this.lastRelist >= nextRelistIn) {
          await this.relist();
          nextRelistIn = jitter(relistEvery);
        }
        attempt = 0;
        await this.watchOnce(nextRelistIn - (this.now() - this.lastRelist));
      } catch (err) {
        if (this.abort.signal.aborted) break;
        if (err instanceof KubeApiError && err.kind === 'gone') {
          this.resourceVersion = '';
          continue;
        }
        attempt += 1;
        this.o.onError?.(err, attempt);
        const delay = Math.min(30_000, 1000 * 2 ** Math.min(attempt - 1, 5));
        await sleep(delay * (0.8 + 0.4 * Math.random()), undefined, { signal: this.abort.signal }).catch(
          () => {},
        );
      }
    }
  }

  private async relist(): Promise<void> {
    const started = this.now();
    const seen = new Map<string, Entry<T>>();
    let cont: string | undefined;
    let rv = '';
    const most = this.o.pageSize ?? 500;
    let limit = this.o.pageBytes === undefined ? most : Math.min(MIN_PAGE_SIZE, most);
    do {
      const page = await this.o.http.expect<{
        metadata?: { resourceVersion?: string; continue?: string };
        items?: Record<string, unknown>[];
      }>('GET', this.o.path, [200], {
        query: {
          labelSelector: this.o.labelSelector,
          limit,
          continue: cont,
        },
        signal: this.abort.signal,
        timeoutMs: 60_000,
      });
      for (const item of page.items ?? []) {
        const entry = this.trim(item);
        if (entry) seen.set(entry.key, { obj: entry.obj, rv: entry.rv });
      }
      if (this.o.pageBytes !== undefined && (page.items?.length ?? 0) > 0) {
        const items = page.items ?? [];
        const each = items.reduce((n, item) => n + estimatedBytes(item), 0) / items.length;
        limit = Math.max(MIN_PAGE_SIZE, Math.min(most, Math.floor(this.o.pageBytes / each)));
      }
      rv = page.metadata?.resourceVersion ?? rv;
      cont = page.metadata?.continue || undefined;
      this.lastHeard = this.now();
    } while (cont !== undefined);

    for (const [key, entry] of seen) this.put(key, entry);
    for (const key of [...this.store.keys()]) if (!seen.has(key)) this.remove(key);
    this.resourceVersion = rv;
    this.lastRelist = this.now();
    this.synced = true;
    this.o.onRelist?.(seen.size, this.now() - started);
  }

  private async watchOnce(untilRelistMs: number): Promise<void> {
    const stream = new AbortController();
    this.streamAbort = stream;
    const onStop = () => stream.abort();
    this.abort.signal.addEventListener('abort', onStop, { once: true });
    // End the stream when the next relist is due; the loop then relists.
    const relistTimer = setTimeout(() => stream.abort(), Math.max(1000, untilRelistMs));
    const base = this.o.watchTimeoutSeconds ?? 240;
    try {
      await this.o.http.watch(this.o.path, {
        query: {
          labelSelector: this.o.labelSelector,
          resourceVersion: this.resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: Math.round(base * (1 + Math.random())),
        },
        signal: stream.signal,
        onEvent: (event) => this.apply(event),
        onOpen: () => (this.lastHeard = this.now()),
      });
      // A stream the server ended (its timeout) was alive to the end.
      if (!stream.signal.aborted) this.lastHeard = this.now();
    } finally {
      clearTimeout(relistTimer);
      this.abort.signal.removeEventListener('abort', onStop);
    }
  }

  private apply(event: WatchEvent): void {
    this.lastHeard = this.now();
    const { key, rv } = metaOf(event.object);
    if (rv !== '') this.resourceVersion = rv;
    if (event.type === 'BOOKMARK') return;
    if (event.type === 'DELETED') {
      this.remove(key);
      return;
    }
    const entry = this.trim(event.object);
    if (entry) this.put(entry.key, { obj: entry.obj, rv: entry.rv });
  }

  private trim(obj: Record<string, unknown>): { key: string; rv: string; obj: T } | undefined {
    const { key, rv } = metaOf(obj);
    try {
      return { key, rv, obj: this.o.trim(obj) };
    } catch (err) {
      this.o.onSkip?.(key, err);
      return undefined;
    }
  }

  private put(key: string, entry: Entry<T>): void {
    const old = this.store.get(key);
    if (old && old.rv === entry.rv) return;
    this.store.set(key, entry);
    this.indexPut(key, old?.obj, entry.obj);
    if (!old) this.o.onEvent('add', entry.obj, undefined);
    else if (!(this.o.equal ?? jsonEqual)(old.obj, entry.obj)) this.o.onEvent('update', entry.obj, old.obj);
  }

  private remove(key: string): void {
    const old = this.store.get(key);
    if (!old) return;
    this.store.delete(key);
    this.indexPut(key, old.obj, undefined);
    this.o.onEvent('delete', old.obj, undefined);
  }

  private indexPut(key: string, old: T | undefined, next: T | undefined): void {
    const indexOf = this.o.indexOf;
    if (!indexOf) return;
    if (old !== undefined) {
      const value = indexOf(old);
      const bucket = this.index.get(value);
      bucket?.delete(key);
      if (bucket?.size === 0) this.index.delete(value); // namespaces come and go: keep no empty buckets
    }
    if (next !== undefined) {
      const value = indexOf(next);
      let bucket = this.index.get(value);
      if (!bucket) this.index.set(value, (bucket = new Map()));
      bucket.set(key, next);
    }
  }
}

function jitter(ms: number): number {
  return ms * (0.9 + 0.2 * Math.random());
}
