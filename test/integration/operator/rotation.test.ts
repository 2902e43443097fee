import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotateCommand } from '../../../cli/commands/rotate.ts';
import { POLICY_ANNOTATIONS } from '../../../core/digest/index.ts';
import { digestsOf, parsePolicyJson } from '../../../core/policy/index.ts';
import { policy } from '../../support/reconcile.ts';
import { eventually, startHarness, type Harness } from './harness.ts';

/** The operator's and the vault's clocks run `skewMs` ahead of real time; the test moves them together. */
let skewMs = 0;

describe('rotation on a real API server with the simulated Managed HSM', () => {
  let h: Harness;
  let stop: () => Promise<void>;
  beforeAll(async () => {
    h = await startHarness('op-rotation', { now: () => Date.now() + skewMs });
    stop = h.lead();
  });
  afterAll(async () => {
    await stop?.();
    await h?.close();
  });

  it('creates a new version when the interval has passed, with the current policy applied, and only one', async () => {
    await h.createSecureKey('rotating', { rotation: { interval: '1h' } });
    const p = policy('package rotating');
    await h.createPod(
      'rotating-a',
      { [POLICY_ANNOTATIONS['kata-agent-policy']]: p.annotation },
      { app: 'rotating' },
    );
    const first = await eventually(async () => {
      const sk = await h.getSecureKey('rotating');
      return sk?.status?.policy?.digestCount === 1 ? sk : undefined;
    });
    const v1 = first.status?.key?.version;
    expect(h.sandbox.vault.service.snapshot().keys['rotating']?.versions).toHaveLength(1);

    // 61 minutes later, a resync finds the version due.
    skewMs = 61 * 60_000;
    h.controller.queue.add(`${h.ns}/rotating`);
    const rotated = await eventually(async () => {
      const sk = await h.getSecureKey('rotating');
      return sk?.status?.key?.version !== v1 ? sk : undefined;
    });
    const versions = h.sandbox.vault.service.snapshot().keys['rotating']!.versions;
    expect(versions).toHaveLength(2);
    expect(rotated.status?.key?.version).toBe(versions[1]!.version);
    const json = Buffer.from(versions[1]!.releasePolicy!.data, 'base64url').toString('utf8');
    expect(digestsOf(parsePolicyJson(json)).digests).toEqual([p.digest]);

    // Further resyncs within the new interval change nothing.
    for (let i = 0; i < 5; i++) h.controller.queue.add(`${h.ns}/rotating`);
    await new Promise((r) => setTimeout(r, 500));
    expect(h.sandbox.vault.service.snapshot().keys['rotating']!.versions).toHaveLength(2);
    await h.events.flush();
    const events = await h.http.expect<{ items: Array<{ reason: string }> }>(
      'GET',
      `/api/v1/namespaces/${h.ns}/events`,
      [200],
      {
        query: { fieldSelector: 'involvedObject.name=rotating' },
      },
    );
    expect(events.items.map((e) => e.reason)).toContain('KeyRotated');
  });

  it('creates one new version on request (securekey rotate), and no more on later resyncs', async () => {
    await h.createSecureKey('on-request');
    const first = await eventually(async () => (await h.getSecureKey('on-request'))?.status?.key?.version);
    let out = '';
    const io = { out: (t: string) => (out += t), err: (t: string) => (out += t) };
    // Three seconds on: a version created within 2 s before a request already answers it.
    const now = () => new Date(Date.now() + skewMs + 3000);
    const argv = ['--securekey', `${h.ns}/on-request`, '--timeout', '30s'];
    expect(await rotateCommand(argv, io, { kube: h.http, now, pollMs: 100 })).toBe(0);
    const versions = () => h.sandbox.vault.service.snapshot().keys['on-request']!.versions;
    expect(versions()).toHaveLength(2);
    expect(out).toContain(`(current: ${first})`);
    expect(out).toContain(`rotated: version ${versions()[1]!.version}`);
    expect((await h.getSecureKey('on-request'))?.status?.key?.version).toBe(versions()[1]!.version);

    for (let i = 0; i < 5; i++) h.controller.queue.add(`${h.ns}/on-request`);
    await new Promise((r) => setTimeout(r, 500));
    expect(versions()).toHaveLength(2);

    // Asking again rotates again.
    expect(await rotateCommand(argv, io, { kube: h.http, now, pollMs: 100 })).toBe(0);
    expect(versions()).toHaveLength(3);
  });

  it('says so when the operator makes no new version in time', async () => {
    await h.createSecureKey('not-rotated', { rotation: { interval: '720h' } });
    await eventually(async () => (await h.getSecureKey('not-rotated'))?.status?.key?.version);
    const io = { out: () => undefined, err: () => undefined };
    // A request an hour ahead of the operator's clock is waited for, so nothing happens within the timeout.
    const later = () => new Date(Date.now() + skewMs + 3_600_000);
    await expect(
      rotateCommand(['--securekey', `${h.ns}/not-rotated`, '--timeout', '1s'], io, {
        kube: h.http,
        now: later,
        pollMs: 100,
      }),
    ).rejects.toThrow(/names no new version after 1s \(Ready=True/);
    await expect(rotateCommand(['--securekey', `${h.ns}/missing`], io, { kube: h.http })).rejects.toThrow(
      `SecureKey ${h.ns}/missing does not exist`,
    );
  });
});
