/**
 * Leader election on a coordination.k8s.io/v1 Lease, with client-go's semantics:
 *
 * - a lease is free when absent, released (empty holder) or not renewed for its duration — measured on
 *   OUR clock from when we last saw the record change (robust to clock skew between replicas);
 * - every write carries the resourceVersion read, so of two candidates only one wins (409 for the other);
 * - the leader renews every retry period; if it cannot renew within the renew deadline it stops acting
 *   first (aborts the leading signal) and only then gives up — never two leaders acting at once; it
 *   stops at once when the Lease turns out to name someone else;
 * - on shutdown it stops leading, waits for in-flight work, and releases the Lease (holder cleared,
 *   duration 1 s) so a standby takes over at once (ReleaseOnCancel).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeApiError } from './errors.ts';
import type { KubeHttp } from './kube-http.ts';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: LeaseSpec;
}

export interface LeaderElectionOptions {
  http: KubeHttp;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Runs while leading; `signal` aborts when leadership ends. Its promise is awaited before release. */
  onStartedLeading: (signal: AbortSignal) => void | Promise<void>;
  onStoppedLeading?: () => void;
  onNewLeader?: (identity: string) => void;
  log?: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
  now?: () => number;
}

/** metav1.MicroTime: RFC 3339 with microseconds. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class LeaderElector {
  private readonly o: Required<
    Pick<LeaderElectionOptions, 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'>
  > &
    LeaderElectionOptions;
  private readonly now: () => number;
  private observed: { spec: LeaseSpec; at: number } | undefined;
  private leading = false;
  private lastLeader: string | undefined;

  constructor(o: LeaderElectionOptions) {
    this.o = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, ...o };
    if (this.o.renewDeadlineMs >= this.o.leaseDurationMs) {
      throw new Error('leader election: renewDeadline must be shorter than leaseDuration');
    }
    this.now = o.now ?? Date.now;
  }

  isLeader(): boolean {
    return this.leading;
  }

  leader(): string | undefined {
    return this.lastLeader;
  }

  private get path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.o.namespace)}/leases`;
  }

  /** Campaigns until `signal` aborts; leads while it can. Resolves after release on abort. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (!(await this.acquire(signal))) return;
      const leadership = new AbortController();
      const onStop = () => leadership.abort();
      signal.addEventListener('abort', onStop, { once: true });
      this.leading = true;
      this.o.log?.('info', 'became leader', { lease: this.o.name, identity: this.o.identity });
      const work = Promise.resolve()
        .then(() => this.o.onStartedLeading(leadership.signal))
        .catch((err: unknown) => this.o.log?.('error', 'leading callback failed', { error: err }));
      await this.renewUntilLost(leadership, signal);
      leadership.abort();
      signal.removeEventListener('abort', onStop);
      await work;
      this.leading = false;
      if (signal.aborted) await this.release();
      this.o.onStoppedLeading?.();
      if (!signal.aborted) this.o.log?.('warn', 'lost leadership', { lease: this.o.name });
    }
  }

  private async acquire(signal: AbortSignal): Promise<boolean> {
    while (!signal.aborted) {
      if ((await this.tryAcquireOrRenew()) === true) return true;
      await sleep(this.o.retryPeriodMs * (1 + Math.random() * 0.2), undefined, { signal }).catch(() => {});
    }
    return false;
  }

  private async renewUntilLost(leadership: AbortController, signal: AbortSignal): Promise<void> {
    let lastRenew = this.now();
    while (!signal.aborted) {
      await sleep(this.o.retryPeriodMs, undefined, { signal }).catch(() => {});
      if (signal.aborted) return;
      const left = this.o.renewDeadlineMs - (this.now() - lastRenew);
      const renewed = await Promise.race([
        this.tryAcquireOrRenew(),
        sleep(Math.max(0, left)).then(() => false as const),
      ]);
      if (renewed === true) lastRenew = this.now();
      else if (renewed === 'held-by-other') {
        // Someone else holds the Lease (it was taken or replaced): stop acting now, not at the deadline.
        this.o.log?.('warn', 'lease taken by another holder', {
          lease: this.o.name,
          holder: this.lastLeader,
        });
        leadership.abort();
        return;
      } else if (this.now() - lastRenew >= this.o.renewDeadlineMs) {
        leadership.abort(); // stop acting before anyone else can take over
        return;
      }
    }
  }

  /** true: we hold it now; false: not now (retry); 'held-by-other': a live Lease names someone else. */
  private async tryAcquireOrRenew(): Promise<boolean | 'held-by-other'> {
    const now = this.now();
    const mine: LeaseSpec = {
      holderIdentity: this.o.identity,
      leaseDurationSeconds: Math.ceil(this.o.leaseDurationMs / 1000),
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: 0,
    };
    try {
      const res = await this.o.http.request<Lease>('GET', `${this.path}/${encodeURIComponent(this.o.name)}`, {
        timeoutMs: this.o.renewDeadlineMs,
      });
      if (res.status === 404) {
        await this.o.http.expect('POST', this.path, [201], {
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name: this.o.name },
            spec: mine,
          },
          timeoutMs: this.o.renewDeadlineMs,
        });
        this.see(mine, now);
        return true;
      }
      if (res.status !== 200) throw KubeApiError.fromResponse('GET', this.path, res.status, res.body);
      const lease = res.body;
      const spec = lease.spec ?? {};
      if (
        this.observed === undefined ||
        this.observed.spec.holderIdentity !== spec.holderIdentity ||
        this.observed.spec.renewTime !== spec.renewTime
      ) {
        this.see(spec, now);
      }
      const holder = spec.holderIdentity ?? '';
      const durationMs = (spec.leaseDurationSeconds ?? 0) * 1000;
      const isMine = holder === this.o.identity;
      if (holder !== '' && !isMine && this.observed!.at + durationMs > now) return 'held-by-other';
      const next: LeaseSpec = {
        ...mine,
        acquireTime: isMine && spec.acquireTime ? spec.acquireTime : mine.acquireTime,
        leaseTransitions: (spec.leaseTransitions ?? 0) + (isMine ? 0 : 1),
      };
      await this.o.http.expect('PUT', `${this.path}/${encodeURIComponent(this.o.name)}`, [200], {
        body: { ...lease, spec: next },
        timeoutMs: this.o.renewDeadlineMs,
      });
      this.see(next, now);
      return true;
    } catch (err) {
      if (!(err instanceof KubeApiError && err.kind === 'conflict')) {
        this.o.log?.('warn', 'lease update failed', { lease: this.o.name, error: err });
      }
      return false;
    }
  }

  private see(spec: LeaseSpec, at: number): void {
    this.observed = { spec, at };
    const holder = spec.holderIdentity ?? '';
    if (holder !== '' && holder !== this.lastLeader) {
      this.lastLeader = holder;
      this.o.onNewLeader?.(holder);
    }
  }

  /** Hands the Lease back so a standby need not wait for it to expire. */
  private async release(): Promise<void> {
    try {
      const lease = await this.o.http.expect<Lease>(
        'GET',
        `${this.path}/${encodeURIComponent(this.o.name)}`,
        [200],
      );
      if (lease.spec?.holderIdentity !== this.o.identity) return;
      await this.o.http.expect('PUT', `${this.path}/${encodeURIComponent(this.o.name)}`, [200], {
        body: {
          ...lease,
          spec: {
            ...lease.spec,
            holderIdentity: '',
            leaseDurationSeconds: 1,
            renewTime: microTime(this.now()),
          },
        },
      });
    } catch (err) {
      this.o.log?.('warn', 'lease release failed; it expires on its own', { lease: this.o.name, error: err });
    }
  }
}
