/**
 * Lease leader election against the real API server: one leader among two, release on shutdown and
 * immediate handover, and a leader that finds the Lease taken stops at once.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KubeHttp } from '../../../edge/kube/kube-http.ts';
import { LeaderElector } from '../../../edge/kube/leader-lease.ts';
import { eventually } from '../../../scripts/cluster/eventually.ts';

const NS = 'op-lease';
let http: KubeHttp;
let n = 0;

beforeAll(async () => {
  http = KubeHttp.fromFile(inject('kubeconfig'));
  await http.expect('POST', '/api/v1/namespaces', [201, 409], { body: { metadata: { name: NS } } });
});
afterAll(() => http?.close());

interface Candidate {
  elector: LeaderElector;
  stop: AbortController;
  run: Promise<void>;
  leadingSince?: number;
  lostAt?: number;
}

function candidate(name: string, identity: string): Candidate {
  const stop = new AbortController();
  const c = { stop } as Candidate;
  c.elector = new LeaderElector({
    http,
    namespace: NS,
    name,
    identity,
    leaseDurationMs: 2000,
    renewDeadlineMs: 1500,
    retryPeriodMs: 200,
    onStartedLeading: async (signal) => {
      c.leadingSince = Date.now();
      await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
      c.lostAt = Date.now();
    },
  });
  c.run = c.elector.run(stop.signal);
  return c;
}

async function lease(
  name: string,
): Promise<{ spec: { holderIdentity?: string; leaseTransitions?: number } } & Record<string, unknown>> {
  return http.expect('GET', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${name}`, [200]);
}

describe('LeaderElector on a real API server', () => {
  it('two candidates: exactly one leads; shutdown releases and the other takes over at once', async () => {
    const name = `lease-${++n}`;
    const a = candidate(name, 'a');
    const b = candidate(name, 'b');
    await eventually(() => a.elector.isLeader() || b.elector.isLeader(), 5000, 'a leader');
    for (let i = 0; i < 20; i++) {
      expect([a, b].filter((c) => c.elector.isLeader())).toHaveLength(1);
      await new Promise((r) => setTimeout(r, 50));
    }
    const [leader, standby] = a.elector.isLeader() ? [a, b] : [b, a];
    expect((await lease(name)).spec.holderIdentity).toBe(leader === a ? 'a' : 'b');
    const stoppedAt = Date.now();
    leader.stop.abort();
    await leader.run;
    await eventually(() => standby.elector.isLeader(), 5000, 'handover');
    expect(Date.now() - stoppedAt).toBeLessThan(1500); // released, not expired (2 s)
    expect((await lease(name)).spec.leaseTransitions).toBeGreaterThanOrEqual(1);
    standby.stop.abort();
    await standby.run;
    expect((await lease(name)).spec.holderIdentity).toBe('');
  });

  it('a leader that finds the Lease taken by someone else stops at once, before its renew deadline', async () => {
    const name = `lease-${++n}`;
    const a = candidate(name, 'a');
    await eventually(() => a.elector.isLeader(), 5000, 'leading');
    const current = await lease(name);
    const takenAt = Date.now();
    await http.expect('PUT', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${name}`, [200], {
      body: {
        ...current,
        spec: {
          ...current.spec,
          holderIdentity: 'intruder',
          renewTime: new Date().toISOString().replace('Z', '000Z'),
        },
      },
    });
    await eventually(() => a.lostAt, 3000, 'stepping down');
    expect(a.lostAt! - takenAt).toBeLessThan(1000);
    expect(a.elector.isLeader()).toBe(false);
    a.stop.abort();
    await a.run;
    expect((await lease(name)).spec.holderIdentity).toBe('intruder'); // never released what it does not hold
  });
});
