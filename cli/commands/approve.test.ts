import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli as run, scratch } from '../../test/support/cli.ts';
import { parseAllDocuments } from 'yaml';
import {
  APPROVAL_ANNOTATION,
  checkApprovals,
  judgeApprovals,
  parseApprovals,
  verifySignature,
  NODE_CONTAINERS_SCHEME,
  type ApprovalContext,
  type Approver,
} from '../../core/approval/index.ts';
import { containerDigest } from '../../core/workload/index.ts';
import { policyDigest } from '../../core/digest/index.ts';
import { repoRoot } from '../../scripts/cluster/paths.ts';
import { approveCommand } from './approve.ts';

const { dir, file } = scratch('sk-approve-');

function signer(name: string): { file: string; approver: Approver; d: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const priv = privateKey.export({ format: 'jwk' }) as Record<string, unknown>;
  return {
    file: file(`${name}.jwk`, JSON.stringify(priv)),
    approver: { name, publicKey: publicKey.export({ format: 'jwk' }) as Record<string, unknown> },
    d: priv['d'] as string,
  };
}

const ci = signer('ci');
const release = signer('release');
const POLICY = Buffer.from('package agent_policy\ndefault CreateContainerRequest := true\n').toString(
  'base64',
);
const OTHER_POLICY = Buffer.from('package agent_policy\ndefault ExecProcessRequest := true\n').toString(
  'base64',
);
const digestOf = (policy: string) =>
  policyDigest('kata-agent-policy', { 'io.katacontainers.config.agent.policy': policy }).digest;

const MANIFESTS = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata:
      labels: {app: web, securekey.io/inject: 'true'}
      annotations:
        securekey.io/key-tls: tls-key
        securekey.io/key-db: db-key
        io.katacontainers.config.agent.policy: ${POLICY}
    spec:
      runtimeClassName: kata-cc
      initContainers: [{name: securekey-agent, image: agent:1}]
      containers: [{name: app, image: app:1}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
data: {a: b}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: backup}
spec:
  jobTemplate:
    spec:
      template:
        metadata:
          annotations:
            securekey.io/key-db: db-key
            io.katacontainers.config.agent.policy: ${OTHER_POLICY}
        spec:
          initContainers: [{name: securekey-agent, image: agent:1}]
          containers: [{name: app, image: app:1}]
---
apiVersion: v1
kind: Pod
metadata: {name: unrelated, namespace: shop}
spec: {containers: [{name: app, image: app:1}]}
`;

const WEB = file('web.yaml', MANIFESTS.split('---\n')[0]!);
/** approve with the ci key on a manifest written from `text`. */
const approveText = (name: string, text: string, ...more: string[]) =>
  run('approve', '-f', file(name, text), '--key', ci.file, ...more);

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const docs = (text: string): Doc[] => parseAllDocuments(text).map((d) => d.toJS() as Doc);
const approvalOf = (template: Doc): string | undefined =>
  template['metadata']?.annotations?.[APPROVAL_ANNOTATION];

async function verdict(annotation: string | undefined, o: { secureKey: string; digest: string; now?: Date }) {
  return judgeApprovals(await checkApprovals(annotation, [ci.approver, release.approver]), {
    namespace: 'shop',
    scheme: 'kata-agent-policy',
    now: new Date(),
    ...o,
  });
}

describe('securekey approve', () => {
  it('signs every pod template that asks for keys, for its namespace, SecureKeys and digest', async () => {
    const r = await run('approve', '-f', file('m.yaml', MANIFESTS), '--key', ci.file, '--namespace', 'shop');
    expect(r.code).toBe(0);
    const [web, settings, backup, unrelated] = docs(r.out);
    const webApproval = approvalOf(web!['spec'].template);
    for (const secureKey of ['db-key', 'tls-key']) {
      expect(await verdict(webApproval, { secureKey, digest: digestOf(POLICY) })).toEqual({
        approved: true,
        approver: 'ci',
      });
    }
    // The signature is for this digest only: another pod's policy is not approved by it.
    expect(await verdict(webApproval, { secureKey: 'db-key', digest: digestOf(OTHER_POLICY) })).toMatchObject(
      {
        approved: false,
        reason: 'other-digest',
      },
    );
    // The CronJob has no namespace of its own; --namespace gives it one.
    const backupApproval = approvalOf(backup!['spec'].jobTemplate.spec.template);
    expect(
      await verdict(backupApproval, { secureKey: 'db-key', digest: digestOf(OTHER_POLICY) }),
    ).toMatchObject({
      approved: true,
    });
    expect(
      await verdict(backupApproval, { secureKey: 'tls-key', digest: digestOf(OTHER_POLICY) }),
    ).toMatchObject({
      reason: 'other-securekey',
    });
    // Everything else is as it was.
    expect(settings).toEqual(docs(MANIFESTS)[1]);
    expect(unrelated).toEqual(docs(MANIFESTS)[3]);
    expect(web!['spec'].template.metadata.annotations['securekey.io/key-db']).toBe('db-key');
    expect(r.err).toMatch(
      /m\.yaml Deployment\/web: approved kata-agent-policy digest [0-9a-f]{64} for shop\/db-key,tls-key/,
    );
    expect(r.err).not.toContain(ci.d);
  });

  it('keeps other approvers’ signatures and replaces its own', async () => {
    const input = file('one.yaml', MANIFESTS.split('---\n')[0]!);
    const first = await run('approve', '-f', input, '--key', ci.file, '-o', path.join(dir, 'a.yaml'));
    expect(first.code).toBe(0);
    expect(first.out).toBe('');
    await run(
      'approve',
      '-f',
      path.join(dir, 'a.yaml'),
      '--key',
      release.file,
      '-o',
      path.join(dir, 'b.yaml'),
    );
    const again = await run('approve', '-f', path.join(dir, 'b.yaml'), '--key', ci.file, '--expires', '1h');
    const annotation = approvalOf(docs(again.out)[0]!['spec'].template)!;
    const parsed = parseApprovals(annotation);
    expect(parsed).toHaveLength(2);
    const claims = await Promise.all(
      parsed.map(
        async (p) =>
          (await verifySignature(p, ci.approver.publicKey)) ??
          (await verifySignature(p, release.approver.publicKey)),
      ),
    );
    // release's signature first, untouched; ci's replaced by the one with an expiry.
    expect(parsed[0]!.jws).toBe(
      approvalOf(docs(readFileSync(path.join(dir, 'b.yaml'), 'utf8'))[0]!['spec'].template)!.split(',')[1],
    );
    expect(claims[0]!.exp).toBeUndefined();
    expect(claims[1]!.exp! - claims[1]!.iat).toBe(3600);
  });

  it('bounds the approval with --expires, as a duration or a time', async () => {
    const input = WEB;
    const at = new Date('2026-12-07T10:00:00Z');
    let out = '';
    const io = { out: (t: string) => void (out += t), err: () => {} };
    expect(await approveCommand(['-f', input, '--key', ci.file, '--expires', '720h'], io, () => at)).toBe(0);
    const annotation = approvalOf(docs(out)[0]!['spec'].template);
    const digest = digestOf(POLICY);
    const day = (n: number) => new Date(at.getTime() + n * 86_400_000);
    expect(await verdict(annotation, { secureKey: 'db-key', digest, now: day(29) })).toMatchObject({
      approved: true,
      expiresAt: day(30),
    });
    expect(await verdict(annotation, { secureKey: 'db-key', digest, now: day(30) })).toMatchObject({
      reason: 'expired',
    });

    out = '';
    expect(
      await approveCommand(
        ['-f', input, '--key', ci.file, '--expires', '2027-01-31T00:00:00Z'],
        io,
        () => at,
      ),
    ).toBe(0);
    expect(
      await verdict(approvalOf(docs(out)[0]!['spec'].template), { secureKey: 'db-key', digest, now: day(1) }),
    ).toMatchObject({ expiresAt: new Date('2027-01-31T00:00:00Z') });

    const past = await run('approve', '-f', input, '--key', ci.file, '--expires', '2020-01-01T00:00:00Z');
    expect(past.err).toMatch(/--expires 2020-01-01T00:00:00Z is not in the future/);
    const junk = await run('approve', '-f', input, '--key', ci.file, '--expires', 'tomorrow');
    expect(junk.code).toBe(2);
    expect(junk.err).toMatch(/neither a duration \(720h\) nor an RFC 3339 time/);
  });

  it('names the template it cannot approve, and why', async () => {
    const noNamespace = await approveText('cron.yaml', MANIFESTS.split('---\n')[2]!);
    expect(noNamespace.code).toBe(1);
    expect(noNamespace.err).toMatch(
      /cron\.yaml CronJob\/backup: no namespace \(set metadata\.namespace or pass --namespace\)/,
    );

    const other = await run('approve', '-f', WEB, '--key', ci.file, '-n', 'prod');
    expect(other.err).toMatch(/web\.yaml Deployment\/web: the manifest is in namespace shop, not prod/);

    const r = await approveText(
      'nopolicy.yaml',
      'kind: Pod\nmetadata: {name: p, namespace: shop, annotations: {securekey.io/key-db: db-key}}\n',
    );
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/nopolicy\.yaml Pod\/p: no policy annotation; generate the policy first/);
    expect(r.out).toBe('');

    const bad = await approveText(
      'bad.yaml',
      `kind: Pod\nmetadata: {name: p, namespace: shop, annotations: {securekey.io/key-db: db-key, io.katacontainers.config.agent.policy: "not base64!"}}\n`,
    );
    expect(bad.err).toMatch(
      /bad\.yaml Pod\/p: annotation io\.katacontainers\.config\.agent\.policy: not valid/,
    );

    const none = await approveText('none.yaml', MANIFESTS.split('---\n')[1]!);
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/no pod template asks for keys/);

    const garbled = file(
      'garbled.yaml',
      `kind: Pod\nmetadata: {name: p, namespace: shop, annotations: {securekey.io/key-db: db-key, securekey.io/approval: nonsense, io.katacontainers.config.agent.policy: ${POLICY}}}\n`,
    );
    expect((await run('approve', '-f', garbled, '--key', ci.file)).err).toMatch(
      /garbled\.yaml Pod\/p: securekey\.io\/approval signature 1 is not a compact JWS; remove the annotation/,
    );
  });

  it('warns when the template lacks the agent', async () => {
    const r = await run(
      'approve',
      '-f',
      path.join(repoRoot, 'examples/pod.yaml'),
      '--key',
      ci.file,
      '-n',
      'prod',
    );
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/Pod\/db: carries no securekey-agent container/);
  });

  it('signs a node-mode template’s container digest, and refuses unpinned images', async () => {
    const A = `sha256:${'a'.repeat(64)}`;
    const B = `sha256:${'b'.repeat(64)}`;
    const node = (
      app: string,
      mode = '\n        securekey.io/agent-mode: node',
      agent = 'node',
    ) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata:
      labels: {app: web, securekey.io/inject: 'true'}
      annotations:
        securekey.io/key-db: db-key${mode}
    spec:
      initContainers: [{name: securekey-agent, image: 'reg/agent@${A}', args: [${agent}, --key=db=db-key]}]
      containers: [{name: app, image: '${app}', command: [/app]}]
`;
    const r = await approveText('node.yaml', node(`reg/app@${B}`));
    expect(r.code).toBe(0);
    const template = docs(r.out)[0]!['spec'].template;
    const digest = containerDigest(template.spec).digest;
    const judge = async (scheme: ApprovalContext['scheme']) =>
      judgeApprovals(await checkApprovals(approvalOf(template), [ci.approver]), {
        namespace: 'shop',
        secureKey: 'db-key',
        scheme,
        digest,
        now: new Date(),
      });
    expect(await judge(NODE_CONTAINERS_SCHEME)).toMatchObject({ approved: true, approver: 'ci' });
    expect(await judge('kata-agent-policy')).toMatchObject({ reason: 'other-digest' });
    expect(r.err).toContain(`approved node-containers digest ${digest} for shop/db-key`);
    // Without the annotation, the node client securekey inject added says it (a node-mode SecureKey's pods).
    const injected = await approveText('node2.yaml', node(`reg/app@${B}`, ''));
    expect(injected.err).toContain(`approved node-containers digest ${digest}`);
    // Neither: a template with no policy annotation is refused, unless --scheme says node mode.
    const neither = node(`reg/app@${B}`, '', 'init');
    expect((await approveText('node4.yaml', neither)).err).toMatch(/no policy annotation/);
    const forced = await approveText('node5.yaml', neither, '--scheme', 'node-containers');
    expect(forced.err).toMatch(/approved node-containers digest [0-9a-f]{64}/);

    const unpinned = await approveText('node3.yaml', node('reg/app:1'));
    expect(unpinned.code).not.toBe(0);
    expect(unpinned.err).toMatch(
      /node3\.yaml Deployment\/web: container app runs image "reg\/app:1", which is not pinned by digest/,
    );
  });

  it('refuses a public key, and never quotes the key file', async () => {
    const pub = file('ci.pub.jwk', JSON.stringify(ci.approver.publicKey));
    const r = await run('approve', '-f', WEB, '--key', pub);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/ci\.pub\.jwk holds a public key only; approve signs with the private JWK/);

    const broken = file('broken.jwk', `{"kty":"EC","d":"${ci.d}",`);
    const b = await run('approve', '-f', WEB, '--key', broken);
    expect(b.err).toMatch(/broken\.jwk is not a JSON Web Key \(not JSON\)/);
    expect(b.err).not.toContain(ci.d);

    const oct = file('oct.jwk', JSON.stringify({ kty: 'oct', k: 'AAAA', d: 'x' }));
    const o = await run('approve', '-f', WEB, '--key', oct);
    expect(o.err).toMatch(/oct\.jwk: approver keys are EC, OKP or RSA JWKs, not "oct"/);
  });

  it('explains usage mistakes', async () => {
    expect((await run('approve', '--key', ci.file)).err).toMatch(/at least one -f/);
    expect((await run('approve', '-f', 'x.yaml')).err).toMatch(/needs --key/);
    expect((await run('approve', '-f', 'x.yaml', '--key', ci.file, '--scheme', 'tdx')).code).toBe(2);
  });
});
