/**
 * The operator as users run it — `node operator/main.ts` processes — against the real API server and a
 * sandbox the test owns: two replicas elect one leader, a stopped leader hands over, and an operator
 * killed in the middle of creating a key converges after restart without a second key version.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { SecureKey } from '../../../core/api/securekey.generated.ts';
import { KubeHttp } from '../../../edge/kube/kube-http.ts';
import { SecureKeyApi } from '../../../operator/kube/secure-key-api.ts';
import { secureKeyPath } from '../../../edge/kube/secure-keys.ts';
import { startSandbox, type Sandbox } from '../../../sim/sandbox/sandbox.ts';
import { eventually } from '../../../scripts/cluster/eventually.ts';
import { repoRoot } from '../../../scripts/cluster/paths.ts';
import { MAA, secureKeyBody } from './harness.ts';

const NS = 'op-process';

interface Operator {
  name: string;
  child: ChildProcess;
  logs: Array<Record<string, unknown>>;
  opsUrl: Promise<string>;
  exited: Promise<number | null>;
}

describe('operator processes', () => {
  let http: KubeHttp;
  let api: SecureKeyApi;
  let sandbox: Sandbox;
  let dir: string;
  const running: Operator[] = [];

  function startOperator(name: string): Operator {
    const child = spawn(process.execPath, [path.join(repoRoot, 'operator/main.ts')], {
      env: {
        PATH: process.env['PATH'] ?? '',
        KUBECONFIG: inject('kubeconfig'),
        ...sandbox.env('operator'),
        SECUREKEY_NAMESPACE: NS,
        SECUREKEY_LEASE_NAMESPACE: NS,
        SECUREKEY_LEASE_DURATION: '3s',
        SECUREKEY_METRICS_ADDR: '127.0.0.1:0',
        SECUREKEY_LOG_LEVEL: 'debug',
        POD_NAME: name,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const logs: Array<Record<string, unknown>> = [];
    let resolveUrl: (u: string) => void = () => {};
    const opsUrl = new Promise<string>((r) => (resolveUrl = r));
    let buffer = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          logs.push(entry);
          if (entry['msg'] === 'operator started') resolveUrl(String(entry['ops']));
        } catch {
          logs.push({ raw: line });
        }
      }
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const op = { name, child, logs, opsUrl, exited };
    running.push(op);
    return op;
  }

  async function leaderMetric(op: Operator): Promise<number> {
    const text = await (await fetch(`${await op.opsUrl}/metrics`)).text();
    return Number(/^securekey_leader (\d)/m.exec(text)?.[1] ?? NaN);
  }

  async function holder(): Promise<string | undefined> {
    const res = await http.request<{ spec?: { holderIdentity?: string } }>(
      'GET',
      `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/securekey-operator`,
    );
    return res.status === 200 ? res.body.spec?.holderIdentity || undefined : undefined;
  }

  async function ready(name: string): Promise<SecureKey> {
    return eventually(
      async () => {
        const sk = await api.get(NS, name);
        return sk?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? sk : undefined;
      },
      20_000,
      `${name} Ready`,
    );
  }

  async function create(name: string): Promise<void> {
    const body = secureKeyBody(NS, name, {
      vault: { url: sandbox.vault.url, type: 'ManagedHSM' },
      attestation: { authorities: [MAA] },
    });
    await http.expect('POST', secureKeyPath(NS), [201], { body });
  }

  beforeAll(async () => {
    http = KubeHttp.fromFile(inject('kubeconfig'));
    api = new SecureKeyApi(http);
    await http.expect('POST', '/api/v1/namespaces', [201, 409], { body: { metadata: { name: NS } } });
    dir = mkdtempSync(path.join(tmpdir(), 'securekey-proc-'));
    sandbox = await startSandbox({ dir });
  });

  afterAll(async () => {
    for (const op of running) op.child.kill('SIGKILL');
    await Promise.all(running.map((op) => op.exited));
    await sandbox?.close();
    http?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('two replicas: exactly one leads and reconciles; a stopped leader hands over at once', async () => {
    const a = startOperator('replica-a');
    const b = startOperator('replica-b');
    await Promise.all([a.opsUrl, b.opsUrl]);
    const first = await eventually(holder, 10_000, 'a leader');
    const [leader, standby] = first === 'replica-a' ? [a, b] : [b, a];
    await eventually(async () => (await leaderMetric(leader)) === 1);
    expect(await leaderMetric(standby)).toBe(0);

    await create('two-replicas');
    await ready('two-replicas');
    const reconciledBy = (op: Operator) => op.logs.filter((l) => l['msg'] === 'key created').length;
    expect(reconciledBy(leader)).toBe(1);
    expect(reconciledBy(standby)).toBe(0);

    const stoppedAt = Date.now();
    leader.child.kill('SIGTERM');
    expect(await leader.exited).toBe(0);
    expect(leader.logs.map((l) => l['msg'])).toContain('stopped');
    await eventually(async () => (await holder()) === standby.name, 10_000, 'handover');
    // Released on shutdown: well under the 3 s lease duration.
    expect(Date.now() - stoppedAt).toBeLessThan(3000);
    await create('after-handover');
    await ready('after-handover');
    expect(reconciledBy(standby)).toBe(1);
    standby.child.kill('SIGTERM');
    expect(await standby.exited).toBe(0);
  });

  it('killed while a key is being created, then restarted: converges with exactly one key version', async () => {
    for (const old of running) old.child.kill('SIGKILL');
    await Promise.all(running.map((o) => o.exited));
    // The vault creates the key at once but holds its answer, so the kill lands after the create
    // happened and before the operator could record it.
    sandbox.vault.faults.plan = { match: /^POST \/keys\/crashy\/create/, answerDelayMs: 5000 };
    const op = startOperator('crashy-1');
    await op.opsUrl;
    await eventually(async () => (await holder()) === 'crashy-1', 10_000, 'leading');
    await create('crashy');
    // The operator sees the SecureKey within ~100 ms and its create then waits 1.5 s at the vault.
    await new Promise((r) => setTimeout(r, 700));
    op.child.kill('SIGKILL');
    await op.exited;
    // The vault finishes the create the dead operator sent; status never heard of it. That is the state
    // a crash leaves behind, and what the restarted operator must reconcile without a second version.
    await eventually(
      () => sandbox.vault.service.snapshot().keys['crashy'],
      5_000,
      'the in-flight create landing',
    );
    expect((await api.get(NS, 'crashy'))?.status?.key).toBeUndefined();
    sandbox.vault.faults.plan = {};

    const again = startOperator('crashy-2');
    await again.opsUrl;
    const sk = await ready('crashy');
    const stored = sandbox.vault.service.snapshot().keys['crashy'];
    expect(stored?.versions).toHaveLength(1);
    expect(sk.status?.key?.version).toBe(stored?.versions[0]?.version);
    expect(again.logs.filter((l) => l['msg'] === 'key created')).toHaveLength(0);
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  });
});
