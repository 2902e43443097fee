/**
 * The attack the approval model closes (issue: anyone who can create or annotate a pod in a SecureKey's
 * namespace got the key): a pod creator writes a permissive policy, the operator must never put its
 * digest in the vault policy, and a guest launched with it must be refused by the vault. Real API
 * server, the operator's controller, the simulated Managed HSM, and the agent as a process against it.
 */
import crypto from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SecureKey } from '../../../core/api/securekey.generated.ts';
import { signApproval, type ApprovalClaims } from '../../../core/approval/index.ts';
import { POLICY_ANNOTATIONS } from '../../../core/digest/index.ts';
import { digestsOf, parsePolicyJson } from '../../../core/policy/index.ts';
import { MIRROR_POD_ANNOTATION } from '../../../core/workload/index.ts';
import { runAgentProcess } from '../../support/agent/world.ts';
import { policy } from '../../support/reconcile.ts';
import { eventually, startHarness, type Harness } from './harness.ts';

const ANNOTATION = POLICY_ANNOTATIONS['kata-agent-policy'];
const NS = 'op-approval';
const KEY = 'vault-key';
/** What an attacker would write: a Kata agent policy that lets anyone exec into the guest. */
const PERMISSIVE =
  'package agent_policy\ndefault ExecProcessRequest := true\ndefault ReadStreamRequest := true\n';

const jwk = (k: crypto.KeyObject) => k.export({ format: 'jwk' }) as Record<string, unknown>;
const ci = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const stranger = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });

let h: Harness;
let stop: () => Promise<void>;
let dir: string;

beforeAll(async () => {
  h = await startHarness(NS);
  stop = h.lead();
  dir = mkdtempSync(path.join(tmpdir(), 'securekey-approval-'));
  await h.createSecureKey(KEY, {
    // The sandbox's own issuer, so a refusal below is about the digest and nothing else.
    attestation: { authorities: [h.sandbox.maa.issuer] },
    workloads: {
      approval: 'Signed',
      podSelector: { matchLabels: { app: KEY } },
      approvers: [{ name: 'ci', publicKey: jwk(ci.publicKey) }],
    },
  });
  await eventually(async () => (await h.getSecureKey(KEY))?.status?.key?.version, 10_000, 'key created');
}, 60_000);

afterAll(async () => {
  await stop?.();
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

function vaultDigests(): string[] {
  const v = h.sandbox.vault.service.snapshot().keys[KEY]?.versions.at(-1);
  if (!v?.releasePolicy) return [];
  return digestsOf(parsePolicyJson(Buffer.from(v.releasePolicy.data, 'base64url').toString('utf8'))).digests;
}

const approval = (digest: string, over: Partial<ApprovalClaims> = {}, key = ci.privateKey) =>
  signApproval(
    {
      namespace: NS,
      secureKeys: [KEY],
      scheme: 'kata-agent-policy',
      digest,
      iat: Math.floor(Date.now() / 1000) - 60,
      ...over,
    },
    jwk(key),
  );

async function statusWhere(ok: (sk: SecureKey) => boolean, what: string): Promise<SecureKey> {
  return eventually(
    async () => {
      const sk = await h.getSecureKey(KEY);
      return sk !== undefined && ok(sk) ? sk : undefined;
    },
    15_000,
    what,
  );
}

const proposal = (sk: SecureKey, digest: string) => sk.status?.proposals?.find((p) => p.digest === digest);

/** Runs the agent as a guest launched with `policyText` would: its evidence carries that digest. */
async function guestRelease(name: string, policyText: string) {
  const token = `pod-token-${name}-${crypto.randomBytes(8).toString('hex')}`;
  h.sandbox.pods.addPod(
    {
      namespace: NS,
      podName: name,
      podUid: crypto.randomUUID(),
      annotations: { [ANNOTATION]: policy(policyText).annotation },
    },
    token,
  );
  const tokenFile = path.join(dir, `${name}.token`);
  writeFileSync(tokenFile, token, { mode: 0o600 });
  return runAgentProcess({
    PATH: process.env['PATH'] ?? '',
    ...h.sandbox.env('agent'),
    SECUREKEY_EVIDENCE: 'psp',
    SECUREKEY_PSP_TOKEN_FILE: tokenFile,
    SECUREKEY_RELEASE_TRUST_ROOTS: h.sandbox.caFile,
    SECUREKEY_OUTPUT_DIR: path.join(dir, `out-${name}`),
    SECUREKEY_ALLOW_DISK_OUTPUT: 'true',
    SECUREKEY_KEYS: `k=${KEY}`,
    SECUREKEY_TIMEOUT: '30s',
  });
}

describe('approval Signed against the pod-metadata attack', () => {
  it('never admits an unapproved permissive policy, proposes it, and the vault refuses a guest with it', async () => {
    const attack = policy(PERMISSIVE);
    await h.createPod('attacker', { [ANNOTATION]: attack.annotation }, { app: KEY });
    const sk = await statusWhere((s) => proposal(s, attack.digest) !== undefined, 'the digest proposed');
    expect(proposal(sk, attack.digest)).toMatchObject({ pod: `${NS}/attacker`, reason: 'no-approval' });
    expect(sk.status?.conditions?.find((c) => c.type === 'DigestsApproved')).toMatchObject({
      status: 'False',
      reason: 'ApprovalPending',
    });
    expect(vaultDigests()).not.toContain(attack.digest);

    const guest = await guestRelease('attacker-guest', PERMISSIVE);
    expect(guest.code).not.toBe(0);
    expect(guest.error).toMatchObject({ step: 'release', kind: 'digest-not-admitted' });
    expect(String(guest.error?.['message'])).toContain(attack.digest);
    expect(String(guest.error?.['message'])).not.toMatch(/issuer/);
  }, 60_000);

  it('admits the same kind of pod once an approver signed its digest, and the guest gets the key', async () => {
    const text = 'package agent_policy\ndefault ExecProcessRequest := false\n# approved build 1\n';
    const p = policy(text);
    await h.createPod(
      'approved',
      { [ANNOTATION]: p.annotation, 'securekey.io/approval': await approval(p.digest) },
      {
        app: KEY,
      },
    );
    const sk = await statusWhere(
      (s) => (s.status?.policy?.digests ?? []).some((d) => d.digest === p.digest),
      'the approved digest admitted',
    );
    expect(sk.status?.policy?.digests?.find((d) => d.digest === p.digest)).toMatchObject({
      approvedBy: 'ci',
    });
    await eventually(
      async () => vaultDigests().includes(p.digest) || undefined,
      15_000,
      'in the vault policy',
    );
    const guest = await guestRelease('approved-guest', text);
    expect(guest.error, guest.stderr).toBeUndefined();
    expect(guest.code).toBe(0);
  }, 60_000);

  it.each<[string, (digest: string) => Promise<string>, string]>([
    ['another namespace', (d) => approval(d, { namespace: 'elsewhere' }), 'other-namespace'],
    ['another SecureKey', (d) => approval(d, { secureKeys: ['other-key'] }), 'other-securekey'],
    ['expired', (d) => approval(d, { exp: Math.floor(Date.now() / 1000) - 1 }), 'expired'],
    ['signed by an unknown key', (d) => approval(d, {}, stranger.privateKey), 'unknown-signer'],
  ])(
    'refuses an approval for %s',
    async (what, sign, reason) => {
      const p = policy(`${PERMISSIVE}# ${what}\n`);
      const name = `bad-${reason}`;
      await h.createPod(
        name,
        { [ANNOTATION]: p.annotation, 'securekey.io/approval': await sign(p.digest) },
        {
          app: KEY,
        },
      );
      const sk = await statusWhere((s) => proposal(s, p.digest) !== undefined, `${what} proposed`);
      expect(proposal(sk, p.digest)).toMatchObject({ pod: `${NS}/${name}`, reason });
      expect(vaultDigests()).not.toContain(p.digest);
    },
    30_000,
  );

  it('does not admit a policy annotated onto a running pod, even with a valid approval for it', async () => {
    const first = policy('package agent_policy\n# first\n');
    await h.createPod(
      'patched',
      { [ANNOTATION]: first.annotation, 'securekey.io/approval': await approval(first.digest) },
      {
        app: KEY,
      },
    );
    await eventually(
      async () => vaultDigests().includes(first.digest) || undefined,
      15_000,
      'first admitted',
    );
    const later = policy(`${PERMISSIVE}# patched in\n`);
    await h.http.expect('PATCH', `/api/v1/namespaces/${NS}/pods/patched`, [200], {
      contentType: 'application/merge-patch+json',
      body: {
        metadata: {
          annotations: {
            [ANNOTATION]: later.annotation,
            'securekey.io/approval': await approval(later.digest),
          },
        },
      },
    });
    const sk = await statusWhere(
      (s) =>
        (s.status?.conditions?.find((c) => c.type === 'PodsAdmitted')?.message ?? '').includes(
          `${NS}/patched`,
        ),
      'the patched pod refused',
    );
    expect(sk.status?.conditions?.find((c) => c.type === 'PodsAdmitted')?.message).toMatch(
      /policy annotation changed/,
    );
    expect(vaultDigests()).not.toContain(later.digest);
  }, 30_000);

  it('does not admit an unrelated pod relabelled into the selector, nor a mirror pod with a valid approval', async () => {
    const relabelled = policy(`${PERMISSIVE}# relabelled\n`);
    await h.createPod(
      'unrelated',
      { [ANNOTATION]: relabelled.annotation, 'securekey.io/key-key': KEY },
      { app: 'something-else' },
    );
    await h.http.expect('PATCH', `/api/v1/namespaces/${NS}/pods/unrelated`, [200], {
      contentType: 'application/merge-patch+json',
      body: { metadata: { labels: { app: KEY } } },
    });
    const mirrored = policy(`${PERMISSIVE}# mirror\n`);
    await h.createPod(
      'mirror',
      {
        [ANNOTATION]: mirrored.annotation,
        [MIRROR_POD_ANNOTATION]: 'hash',
        'securekey.io/approval': await approval(mirrored.digest),
      },
      { app: KEY },
    );
    const sk = await statusWhere(
      (s) =>
        proposal(s, relabelled.digest) !== undefined &&
        (s.status?.conditions?.find((c) => c.type === 'PodsAdmitted')?.message ?? '').includes(
          `${NS}/mirror`,
        ),
      'relabelled proposed and mirror refused',
    );
    expect(proposal(sk, relabelled.digest)?.reason).toBe('no-approval');
    expect(vaultDigests()).not.toContain(relabelled.digest);
    expect(vaultDigests()).not.toContain(mirrored.digest);
  }, 30_000);
});
