/**
 * Kubernetes Events for what the operator did and what went wrong, as `kubectl describe` shows them.
 * Repeats of the same event on the same object within ten minutes bump `count` on one Event instead of
 * creating new ones, and each object gets at most a burst of 25 then one per five minutes (client-go's
 * spam filter), so a hot loop cannot flood etcd. Recording never blocks or fails a reconcile.
 */
import { safeMessage } from '../reconcile/conditions.ts';
import type { KubeHttp } from '../../edge/kube/kube-http.ts';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid: string;
}

export type EventType = 'Normal' | 'Warning';

interface Sent {
  name: string;
  count: number;
  firstTimestamp: string;
  at: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

const AGGREGATE_MS = 600_000;
const BURST = 25;
const REFILL_MS = 300_000;
const MAX_MESSAGE = 1024;

export interface EventRecorderOptions {
  http: KubeHttp;
  component: string;
  instance: string;
  now?: () => number;
  onError?: (err: unknown) => void;
}

export class EventRecorder {
  private readonly o: EventRecorderOptions;
  private readonly now: () => number;
  private readonly sent = new Map<string, Sent>();
  private readonly buckets = new Map<string, Bucket>();
  private pending = new Set<Promise<void>>();

  constructor(o: EventRecorderOptions) {
    this.o = o;
    this.now = o.now ?? Date.now;
  }

  /** Records in the background; `flush()` waits for what is in flight (tests, shutdown). */
  record(target: EventTarget, type: EventType, reason: string, message: string): void {
    if (!this.allow(target.uid)) return;
    const p = this.write(target, type, reason, safeMessage(message).slice(0, MAX_MESSAGE))
      .catch((err: unknown) => this.o.onError?.(err))
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  private allow(uid: string): boolean {
    const now = this.now();
    const b = this.buckets.get(uid) ?? { tokens: BURST, at: now };
    b.tokens = Math.min(BURST, b.tokens + (now - b.at) / REFILL_MS);
    b.at = now;
    this.buckets.set(uid, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  private async write(target: EventTarget, type: EventType, reason: string, message: string): Promise<void> {
    const now = this.now();
    const iso = new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const key = `${target.uid}\u0000${type}\u0000${reason}\u0000${message}`;
    this.prune(now);
    const path = `/api/v1/namespaces/${encodeURIComponent(target.namespace)}/events`;
    const prior = this.sent.get(key);
    if (prior) {
      prior.count += 1;
      prior.at = now;
      const res = await this.o.http.request('PATCH', `${path}/${prior.name}`, {
        body: { count: prior.count, lastTimestamp: iso },
        contentType: 'application/merge-patch+json',
      });
      if (res.status === 200) return;
      this.sent.delete(key); // expired or deleted by the API server: start a new one
    }
    const created = await this.o.http.expect<{ metadata: { name: string } }>('POST', path, [201], {
      body: {
        metadata: { generateName: `${target.name}.`, namespace: target.namespace },
        involvedObject: target,
        type,
        reason,
        message,
        count: 1,
        firstTimestamp: iso,
        lastTimestamp: iso,
        source: { component: this.o.component },
        reportingComponent: this.o.component,
        reportingInstance: this.o.instance,
      },
    });
    this.sent.set(key, { name: created.metadata.name, count: 1, firstTimestamp: iso, at: now });
  }

  private prune(now: number): void {
    for (const [k, s] of this.sent) if (now - s.at > AGGREGATE_MS) this.sent.delete(k);
    for (const [k, b] of this.buckets) if (now - b.at > REFILL_MS * BURST) this.buckets.delete(k);
  }
}
