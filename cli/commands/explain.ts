import { parseArgs } from 'node:util';
import {
  SCHEMA_DEFAULTS,
  type DigestStatus,
  type PolicyScheme,
  type SecureKey,
  type StatusProposalsItem,
} from '../../core/api/securekey.generated.ts';
import { deploymentModeOf } from '../../core/api/mode.ts';
import {
  checkApprovals,
  judgeApprovals,
  NODE_CONTAINERS_SCHEME,
  type Approver,
} from '../../core/approval/index.ts';
import { durationMs } from '../../core/duration.ts';
import {
  admitNodePod,
  approvalModeOf,
  containerDigest,
  DEFAULT_POD_ADMISSION,
  NodeAdmissionError,
  notSelectedBecause,
  podPolicy,
  podRefusal,
  policySchemeOf,
  trimPod,
  type ApprovalMode,
  type ObservedPod,
  type PodAdmission,
  type PodRefusal,
} from '../../core/workload/index.ts';
import { KubeApiError } from '../../edge/kube/errors.ts';
import { KubeHttp, type KubeResponse, type RequestOptions } from '../../edge/kube/kube-http.ts';
import { defaultKubeAccess, kubeAccessFromFile } from '../../edge/kube/kubeconfig.ts';
import { allSecureKeysPath } from '../../edge/kube/secure-keys.ts';
import { table, UsageError, type Io } from '../io.ts';

export const usage = `securekey explain pod/<name> -n <namespace> [--kubeconfig <file>] [--context <name>]
  [--allowed-runtime-classes <a,b>] [--allow-no-runtime-class] [-o text|json]

Tells why a pod gets, or would get, a key or not: for each SecureKey of its namespace, whether it
selects the pod, the pod's policy digest under its scheme, the pod checks the operator makes (judged
here with the default runtime classes unless the flags say otherwise; the operator's configured set may
differ, and a policy patched after the pod started is only known to the operator), the approval
(signed, listed in allowedDigests, or not needed under approval Observed), whether the digest is in
the vault policy as last written and how long its retention lasts, and whether it is proposed. Ends
with a verdict per SecureKey. For a node-mode SecureKey it answers as the node agent would: selection,
the pod checks, the digest of the pod's containers and its approval, and whether the kubelet runs what
the spec says. Exits 0 when every SecureKey the pod asks for would release its key to it,
1 otherwise.`;

/** What explain needs of the Kubernetes API: KubeHttp, or a stand-in in specs. */
export interface KubeReader {
  request<T = unknown>(method: string, path: string, o?: RequestOptions): Promise<KubeResponse<T>>;
  close(): void;
}

export type Connect = (o: { kubeconfig: string | undefined; context: string | undefined }) => KubeReader;

const connectKube: Connect = ({ kubeconfig, context }) =>
  new KubeHttp(
    kubeconfig === undefined
      ? defaultKubeAccess(process.env, context)
      : kubeAccessFromFile(kubeconfig, context),
  );

export interface VaultPolicyEntry extends DigestStatus {
  /** Retention left (lastSeen + digestRetention − now), in seconds; negative once it has run out. */
  retentionLeftSeconds?: number;
  /** Still admitted as far as status tells: carried by a pod, or retained, and the approval not ended. */
  live: boolean;
}

export interface SecureKeyExplanation {
  name: string;
  /** The pod names this SecureKey in a securekey.io/key-<alias> annotation. */
  askedFor: boolean;
  /** The pod asks for it, but the namespace holds no SecureKey of that name. */
  missing?: true;
  /** Node: the node agent of the pod's node serves the key (ADR 39); the digest is the container digest. */
  mode?: 'Pod' | 'Node';
  approvalMode?: ApprovalMode;
  scheme?: PolicyScheme | typeof NODE_CONTAINERS_SCHEME;
  selected?: boolean;
  notSelectedBecause?: string;
  digest?: string;
  policyProblem?: string;
  podRefusal?: PodRefusal;
  approval?: {
    admitted: boolean;
    /** observed: approval Observed; allowed: in allowedDigests; signed: a valid approval signature. */
    how?: 'observed' | 'allowed' | 'signed';
    approver?: string;
    expiresAt?: string;
    reason?: string;
    message: string;
  };
  vaultPolicy?: VaultPolicyEntry;
  proposal?: StatusProposalsItem;
  released: boolean;
  verdict: string;
}

export interface Explanation {
  pod: Pick<ObservedPod, 'namespace' | 'name' | 'node' | 'runtimeClass' | 'agent' | 'mirror' | 'secureKeys'>;
  admission: PodAdmission;
  secureKeys: SecureKeyExplanation[];
  /** Every SecureKey the pod asks for would release its key to it (and it asks for at least one). */
  released: boolean;
}

/** "3h12m", "45m", "20s": a span for a person. */
export function span(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  const [d, h, m] = [Math.floor(s / 86_400), Math.floor((s % 86_400) / 3600), Math.floor((s % 3600) / 60)];
  const text =
    d > 0 ? `${d}d${h}h` : h > 0 ? `${h}h${m}m` : m > 0 ? `${m}m${s % 60 > 0 ? `${s % 60}s` : ''}` : `${s}s`;
  return text;
}

function vaultEntry(sk: SecureKey, digest: string, now: Date): VaultPolicyEntry | undefined {
  const entry = sk.status?.policy?.digests?.find((d) => d.digest === digest);
  if (entry === undefined) return undefined;
  const out: VaultPolicyEntry = { ...entry, live: true };
  if (entry.lastSeen !== undefined) {
    const retention = durationMs(sk.spec.digestRetention ?? SCHEMA_DEFAULTS['spec.digestRetention']);
    const left = 'ms' in retention ? Date.parse(entry.lastSeen) + retention.ms - now.getTime() : NaN;
    if (!Number.isNaN(left)) {
      out.retentionLeftSeconds = Math.floor(left / 1000);
      if (left <= 0) out.live = false;
    }
  }
  if (entry.approvalExpires !== undefined && Date.parse(entry.approvalExpires) <= now.getTime())
    out.live = false;
  return out;
}

/** The explanation for one pod against the SecureKeys of its namespace. Pure but for the approval check. */
export async function explainPod(
  podObject: unknown,
  secureKeys: readonly SecureKey[],
  admission: PodAdmission,
  now: Date,
): Promise<Explanation> {
  const pod = trimPod(podObject);
  const byName = new Map(secureKeys.map((sk) => [sk.metadata?.name ?? '', sk]));
  const names = [...new Set([...byName.keys(), ...pod.secureKeys])].filter((n) => n !== '').sort();
  const out: SecureKeyExplanation[] = [];
  for (const name of names) {
    const askedFor = pod.secureKeys.includes(name);
    const sk = byName.get(name);
    if (sk === undefined) {
      out.push({
        name,
        askedFor,
        missing: true,
        released: false,
        verdict: `refused: namespace ${pod.namespace} has no SecureKey ${name}`,
      });
      continue;
    }
    out.push(
      deploymentModeOf(sk) === 'Node'
        ? await explainNodeMode(pod, podObject, sk, askedFor, admission, now)
        : await explainOne(pod, sk, askedFor, admission, now),
    );
  }
  const asked = out.filter((e) => e.askedFor);
  return {
    pod: {
      namespace: pod.namespace,
      name: pod.name,
      node: pod.node,
      runtimeClass: pod.runtimeClass,
      agent: pod.agent,
      mirror: pod.mirror,
      secureKeys: pod.secureKeys,
    },
    admission,
    secureKeys: out,
    released: asked.length > 0 && asked.every((e) => e.released),
  };
}

/** The explanation's start, in either mode: the SecureKey, its selection of the pod and the pod checks. */
function judged(
  pod: ObservedPod,
  sk: SecureKey,
  askedFor: boolean,
  admission: PodAdmission,
  deployment: 'Pod' | 'Node',
  scheme: PolicyScheme | typeof NODE_CONTAINERS_SCHEME,
) {
  const name = sk.metadata?.name ?? '';
  const mode = approvalModeOf(sk);
  const e: SecureKeyExplanation = {
    name,
    askedFor,
    mode: deployment,
    approvalMode: mode,
    scheme,
    released: false,
    verdict: '',
  };
  const notSelected = notSelectedBecause(sk, pod);
  e.selected = notSelected === undefined;
  if (notSelected !== undefined) e.notSelectedBecause = notSelected;
  const refusal = podRefusal(pod, name, admission);
  if (refusal !== undefined) e.podRefusal = refusal;
  return { e, name, mode, notSelected, refusal };
}

async function explainOne(
  pod: ObservedPod,
  sk: SecureKey,
  askedFor: boolean,
  admission: PodAdmission,
  now: Date,
): Promise<SecureKeyExplanation> {
  const scheme = policySchemeOf(sk);
  const { e, mode, notSelected, refusal } = judged(pod, sk, askedFor, admission, 'Pod', scheme);
  const policy = podPolicy(pod, scheme);
  if ('problem' in policy) {
    e.policyProblem = policy.problem.message;
    e.verdict = `refused: the pod has no ${scheme} digest (${policy.problem.message})`;
    return e;
  }
  const digest = policy.digest;
  e.digest = digest;
  e.approval = await approvalOf(pod, sk, mode, scheme, digest, now);
  const entry = vaultEntry(sk, digest, now);
  if (entry !== undefined) e.vaultPolicy = entry;
  const proposal = sk.status?.proposals?.find((p) => p.digest === digest);
  if (proposal !== undefined) e.proposal = proposal;

  const why =
    notSelected !== undefined
      ? `not selected: ${notSelected}`
      : refusal !== undefined
        ? refusal.message
        : !e.approval.admitted
          ? `not approved: ${e.approval.message}`
          : undefined;
  e.released = true;
  if (e.approval.how === 'allowed') {
    e.verdict = 'would be released (the digest is in spec.workloads.allowedDigests)';
  } else if (why === undefined) {
    e.verdict =
      entry === undefined
        ? 'would be released once the operator writes the vault policy (the digest is not in status.policy.digests yet)'
        : 'would be released';
  } else if (entry?.live === true) {
    const held =
      entry.lastSeen === undefined
        ? `carried by pod ${entry.pod ?? 'another pod'}`
        : `retained for ${span((entry.retentionLeftSeconds ?? 0) * 1000)}`;
    e.verdict = `would be released: the digest is in the vault policy (${held}), though this pod would not admit it (${why})`;
  } else {
    e.released = false;
    e.verdict = `refused: ${why}`;
  }
  return e;
}

/**
 * A node-mode SecureKey: the node agent of the pod's node decides, by core/workload's admitNodePod (the
 * very rule it runs); the rows show what it reads — selection, the pod checks, the container digest and
 * its approval.
 */
async function explainNodeMode(
  pod: ObservedPod,
  podObject: unknown,
  sk: SecureKey,
  askedFor: boolean,
  admission: PodAdmission,
  now: Date,
): Promise<SecureKeyExplanation> {
  // As admitNodePod judges them: no runtime class is the node's runtime.
  admission = { ...admission, noRuntimeClass: true };
  const { e, name, mode } = judged(pod, sk, askedFor, admission, 'Node', NODE_CONTAINERS_SCHEME);
  const raw = podObject as { spec?: unknown; status?: unknown };
  try {
    e.digest = containerDigest(raw.spec).digest;
    e.approval = await approvalOf(pod, sk, mode, NODE_CONTAINERS_SCHEME, e.digest, now);
  } catch (err) {
    e.policyProblem = (err as Error).message;
  }
  try {
    const grant = await admitNodePod(
      sk,
      name,
      { observed: pod, spec: raw.spec, status: raw.status },
      {
        admission,
        now,
      },
    );
    e.released = true;
    e.verdict = `would be served by the node agent of node ${pod.node ?? '(none yet)'} (key version ${grant.version})`;
  } catch (err) {
    if (!(err instanceof NodeAdmissionError)) throw err;
    e.verdict = `refused by the node agent: ${err.message}`;
  }
  return e;
}

async function approvalOf(
  pod: ObservedPod,
  sk: SecureKey,
  mode: ApprovalMode,
  scheme: PolicyScheme | typeof NODE_CONTAINERS_SCHEME,
  digest: string,
  now: Date,
): Promise<NonNullable<SecureKeyExplanation['approval']>> {
  if (sk.spec.workloads.allowedDigests?.includes(digest)) {
    return { admitted: true, how: 'allowed', message: 'listed in spec.workloads.allowedDigests' };
  }
  if (mode === 'Observed') {
    return {
      admitted: true,
      how: 'observed',
      message: `not needed (approval Observed): the digest is admitted without approval, so every pod creator of namespace ${pod.namespace} can get the key`,
    };
  }
  const approvers: Approver[] = (sk.spec.workloads.approvers ?? []).map((a) => ({
    name: a.name,
    publicKey: { ...a.publicKey },
  }));
  const checked = await checkApprovals(pod.approval, approvers);
  const verdict = judgeApprovals(checked, {
    namespace: pod.namespace,
    secureKey: sk.metadata?.name ?? '',
    scheme,
    digest,
    now,
  });
  if (!verdict.approved) {
    return { admitted: false, reason: verdict.reason, message: verdict.message };
  }
  const expires = verdict.expiresAt?.toISOString();
  return {
    admitted: true,
    how: 'signed',
    approver: verdict.approver,
    ...(expires === undefined ? {} : { expiresAt: expires }),
    message: `approved by ${verdict.approver}${expires === undefined ? ', no expiry' : `, until ${expires}`}`,
  };
}

function podName(arg: string | undefined): string {
  if (arg === undefined) throw new UsageError('explain needs the pod: pod/<name>');
  const m = /^(?:(?:pods?|po)\/)?([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(arg);
  if (!m) throw new UsageError(`explain takes a pod as pod/<name>, not ${JSON.stringify(arg)}`);
  return m[1]!;
}

export async function explainCommand(
  argv: string[],
  io: Io,
  connect: Connect = connectKube,
  now: () => Date = () => new Date(),
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      namespace: { type: 'string', short: 'n' },
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
      'allowed-runtime-classes': { type: 'string' },
      'allow-no-runtime-class': { type: 'boolean', default: false },
      output: { type: 'string', short: 'o', default: 'text' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 1) throw new UsageError('explain takes one pod');
  const name = podName(positionals[0]);
  const namespace = values.namespace;
  if (!namespace) throw new UsageError('explain needs -n <namespace>');
  if (values.output !== 'text' && values.output !== 'json') throw new UsageError('-o must be text or json');
  const classes = values['allowed-runtime-classes'];
  const admission: PodAdmission = {
    runtimeClasses:
      classes === undefined
        ? DEFAULT_POD_ADMISSION.runtimeClasses
        : classes
            .split(',')
            .map((c) => c.trim())
            .filter((c) => c !== ''),
    noRuntimeClass: values['allow-no-runtime-class'] || DEFAULT_POD_ADMISSION.noRuntimeClass,
  };

  const kube = connect({ kubeconfig: values.kubeconfig, context: values.context });
  let podObject: unknown;
  let secureKeys: SecureKey[];
  try {
    const podPath = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`;
    const pod = await kube.request('GET', podPath);
    if (pod.status === 404) {
      io.err(`securekey explain: no pod ${name} in namespace ${namespace}\n`);
      return 1;
    }
    if (pod.status !== 200) throw KubeApiError.fromResponse('GET', podPath, pod.status, pod.body);
    podObject = pod.body;
    const listPath = allSecureKeysPath(namespace);
    const list = await kube.request<{ items?: SecureKey[] }>('GET', listPath);
    if (list.status !== 200) throw KubeApiError.fromResponse('GET', listPath, list.status, list.body);
    secureKeys = list.body.items ?? [];
  } finally {
    kube.close();
  }
  const at = now();
  const x = await explainPod(podObject, secureKeys, admission, at);
  if (values.output === 'json') io.out(`${JSON.stringify(x, null, 2)}\n`);
  else io.out(render(x, at));
  return x.released ? 0 : 1;
}

function render(x: Explanation, now: Date): string {
  const p = x.pod;
  const lines: string[] = [
    `Pod ${p.namespace}/${p.name}: node ${p.node ?? '(none)'}, runtime class ${p.runtimeClass ?? '(none)'}, ` +
      `agent ${p.agent ? 'yes' : 'no'}${p.mirror ? ', mirror pod' : ''}, asks for ${p.secureKeys.length > 0 ? `SecureKey ${p.secureKeys.join(', ')}` : 'no key'}`,
    `Pod checks judged with runtime classes ${[...x.admission.runtimeClasses, ...(x.admission.noRuntimeClass ? ['none'] : [])].join(', ') || 'none'}; the operator's configured set may differ.`,
  ];
  if (x.secureKeys.length === 0) lines.push('', `Namespace ${p.namespace} holds no SecureKey.`);
  for (const e of x.secureKeys) {
    lines.push('');
    if (e.missing) {
      lines.push(`SecureKey ${e.name} (asked for): not found in namespace ${p.namespace}`);
      continue;
    }
    lines.push(
      `SecureKey ${e.name} (${e.askedFor ? 'asked for' : 'not asked for'}; approval ${e.approvalMode}; ${e.mode === 'Node' ? 'node mode: the node agent decides' : `scheme ${e.scheme}`})`,
    );
    const rows: string[][] = [];
    rows.push([
      'selection',
      e.selected ? 'selects the pod' : `does not select the pod: ${e.notSelectedBecause}`,
    ]);
    rows.push([e.mode === 'Node' ? 'container digest' : 'digest', e.digest ?? `none: ${e.policyProblem}`]);
    rows.push([
      'pod checks',
      e.podRefusal ? `refused (${e.podRefusal.reason}): ${e.podRefusal.message}` : 'pass',
    ]);
    if (e.approval) {
      rows.push([
        'approval',
        e.approval.admitted
          ? e.approval.message
          : `not approved (${e.approval.reason}): ${e.approval.message}`,
      ]);
    }
    if (e.digest !== undefined && e.mode !== 'Node')
      rows.push(['vault policy', vaultLine(e.vaultPolicy, now)]);
    const v = e.vaultPolicy;
    if (v?.lastSeen !== undefined && v.retentionLeftSeconds !== undefined) {
      const left = v.retentionLeftSeconds * 1000;
      rows.push([
        'retention',
        left > 0
          ? `last pod gone at ${v.lastSeen}; ${span(left)} left`
          : `last pod gone at ${v.lastSeen}; ran out ${span(left)} ago (the operator drops it)`,
      ]);
    }
    if (e.proposal) {
      rows.push([
        'proposal',
        `proposed since ${e.proposal.since} (${e.proposal.reason}${e.proposal.message ? `: ${e.proposal.message}` : ''}); approve it with securekey approve or list it in spec.workloads.allowedDigests`,
      ]);
    }
    lines.push(indented(rows));
  }
  lines.push('', 'Verdicts:');
  lines.push(
    indented(x.secureKeys.map((e) => [e.name, e.askedFor ? 'asked for' : 'not asked for', e.verdict])),
  );
  if (p.secureKeys.length === 0)
    lines.push('The pod asks for no key (no securekey.io/key-<alias> annotation).');
  return `${lines.join('\n')}\n`;
}

/** Rows aligned as a table without a header, indented under their heading. */
function indented(rows: string[][]): string {
  if (rows.length === 0) return '';
  const text = table(rows[0]!, rows.slice(1));
  return text
    .slice(0, -1)
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}

function vaultLine(v: VaultPolicyEntry | undefined, now: Date): string {
  if (v === undefined) return 'not in status.policy.digests (the release policy as last written)';
  const parts = [`in status.policy.digests since ${v.firstSeen} (${v.source}`];
  if (v.pod !== undefined) parts.push(`pod ${v.pod}`);
  if (v.approvedBy !== undefined) parts.push(`approved by ${v.approvedBy}`);
  if (v.approvalExpires !== undefined) {
    const left = Date.parse(v.approvalExpires) - now.getTime();
    parts.push(
      left > 0
        ? `approval expires ${v.approvalExpires}, in ${span(left)}`
        : `approval expired ${v.approvalExpires}`,
    );
  }
  return `${parts.join(', ')})`;
}
