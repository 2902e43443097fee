import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import {
  APPROVAL_ANNOTATION,
  APPROVAL_SCHEMES,
  ApprovalError,
  approverKeyId,
  MAX_APPROVALS_PER_POD,
  NODE_CONTAINERS_SCHEME,
  parseApprovals,
  signApproval,
  type ApprovalClaims,
  type ApprovalScheme,
} from '../../core/approval/index.ts';
import { DigestError, detectPolicyScheme, policyDigest } from '../../core/digest/index.ts';
import { durationMs } from '../../core/duration.ts';
import { AGENT_CONTAINER, InjectError, keyRequests } from '../../core/inject/index.ts';
import { AGENT_MODE_ANNOTATION } from '../../core/inject/annotations.ts';
import { containerDigest, WorkloadError } from '../../core/workload/index.ts';
import { mapPodTemplates } from '../../core/workload/pod-templates.ts';
import { loadManifests, ManifestError } from '../manifests.ts';
import { UsageError, type Io } from '../io.ts';

export const usage = `securekey approve -f <file|dir|-> [-f …] --key <private.jwk> [--namespace <ns>]
  [--expires <duration|RFC 3339 time>] [--scheme <scheme>] [-o <file>|-]

Signs the policy digest of every pod template that asks for keys (securekey.io/key-<alias>
annotations) with an approver key (securekey approver-key), for the namespace and the SecureKeys the
template names, and writes the signature into the template's ${APPROVAL_ANNOTATION} annotation. Other
approvers' signatures stay; this key's earlier one is replaced. Run it last, after securekey inject and
the policy generation (az confcom katapolicygen): the signature covers the policy as it is now.

The namespace is the manifest's metadata.namespace, else --namespace. --expires bounds the approval
(e.g. 720h, or 2027-01-31T00:00:00Z); without it the approval does not expire. The scheme is detected
from the annotations unless --scheme (${APPROVAL_SCHEMES.join(' | ')}) is given. Prints all documents,
changed or not, to -o (default -, standard output).

Node mode (the node client securekey inject adds for spec.mode Node SecureKeys, ${AGENT_MODE_ANNOTATION}:
node, or --scheme ${NODE_CONTAINERS_SCHEME}): the node agent serves the pod, so what is signed is the
container digest — every container's name, image, command and args —
and every image must be pinned by digest (registry/app@sha256:…).`;

type Obj = Record<string, unknown>;

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/** Seconds since the epoch at which an approval made `now` ends, from --expires. */
export function expiryOf(text: string, now: Date): number {
  const d = durationMs(text);
  const ms = 'ms' in d ? now.getTime() + d.ms : RFC3339.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) {
    throw new UsageError(
      `--expires ${JSON.stringify(text)} is neither a duration (720h) nor an RFC 3339 time`,
    );
  }
  if (ms <= now.getTime()) throw new UsageError(`--expires ${text} is not in the future`);
  return Math.floor(ms / 1000);
}

/**
 * The private JWK in `file`. Its text is never quoted back: a JSON parser's message would show part
 * of it, and that part may be the private key.
 */
function readSigner(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--key: cannot read ${file} (${(err as NodeJS.ErrnoException).code})`);
  }
  let jwk: unknown;
  try {
    jwk = JSON.parse(text);
  } catch {
    throw new UsageError(`--key: ${file} is not a JSON Web Key (not JSON)`);
  }
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) {
    throw new UsageError(`--key: ${file} is not a JSON Web Key (not a JSON object)`);
  }
  const key = jwk as Record<string, unknown>;
  if (key['d'] === undefined) {
    throw new UsageError(
      `--key: ${file} holds a public key only; approve signs with the private JWK securekey approver-key wrote`,
    );
  }
  return key;
}

/** The signer's key id: the thumbprint of the public part, the `kid` its approvals carry. */
function signerKeyId(jwk: Readonly<Record<string, unknown>>, file: string): string {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicPart } = jwk;
  try {
    return approverKeyId(publicPart);
  } catch (err) {
    if (err instanceof ApprovalError) throw new UsageError(`--key: ${file}: ${err.message}`);
    throw err;
  }
}

interface Plan {
  /** `source owner`, for messages. */
  where: string;
  claims?: ApprovalClaims;
  /** Approvals of other signers the template already carries. */
  others: string[];
}

export async function approveCommand(
  argv: string[],
  io: Io,
  now: () => Date = () => new Date(),
): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      filename: { type: 'string', short: 'f', multiple: true },
      key: { type: 'string' },
      namespace: { type: 'string', short: 'n' },
      expires: { type: 'string' },
      scheme: { type: 'string' },
      output: { type: 'string', short: 'o', default: '-' },
    },
    strict: true,
  });
  const files = values.filename ?? [];
  if (files.length === 0) throw new UsageError('approve needs at least one -f <file>');
  if (!values.key)
    throw new UsageError('approve needs --key <private.jwk> (securekey approver-key makes one)');
  const forced = values.scheme;
  if (forced !== undefined && !(APPROVAL_SCHEMES as readonly string[]).includes(forced)) {
    throw new UsageError(`--scheme must be one of ${APPROVAL_SCHEMES.join(', ')}`);
  }
  const signer = readSigner(values.key);
  const kid = signerKeyId(signer, values.key);
  const at = now();
  const iat = Math.floor(at.getTime() / 1000);
  const exp = values.expires === undefined ? undefined : expiryOf(values.expires, at);

  const docs = loadManifests(files);
  const plans: Plan[] = [];
  for (const { doc, source } of docs) {
    mapPodTemplates(doc, (template, owner, manifestNamespace) => {
      const where = `${source} ${owner}`;
      const meta = (
        typeof template['metadata'] === 'object' && template['metadata'] !== null ? template['metadata'] : {}
      ) as { namespace?: unknown; annotations?: unknown };
      const annotations = Object.fromEntries(
        Object.entries((meta.annotations ?? {}) as Obj).filter(
          (e): e is [string, string] => typeof e[1] === 'string',
        ),
      );
      plans.push(planFor(where, template, annotations, manifestNamespace, meta.namespace));
      return template;
    });
  }

  function planFor(
    where: string,
    template: Obj,
    annotations: Record<string, string>,
    manifestNamespace: string | undefined,
    templateNamespace: unknown,
  ): Plan {
    let secureKeys: string[];
    try {
      secureKeys = [...new Set(keyRequests(annotations).map((r) => r.secureKey))].sort();
    } catch (err) {
      if (err instanceof InjectError) throw new ManifestError('bad-manifest', `${where}: ${err.message}`);
      throw err;
    }
    if (secureKeys.length === 0) return { where, others: [] };
    const others = otherApprovals(where, annotations[APPROVAL_ANNOTATION], kid);
    const namespace = namespaceOf(where, manifestNamespace, templateNamespace, values.namespace);
    const scheme: ApprovalScheme | undefined =
      (forced as ApprovalScheme | undefined) ??
      (servedByNodeAgent(template, annotations) ? NODE_CONTAINERS_SCHEME : detectPolicyScheme(annotations));
    if (scheme === undefined) {
      throw new ManifestError(
        'bad-manifest',
        `${where}: no policy annotation; generate the policy first (after securekey inject), or pass --scheme`,
      );
    }
    const digest = digestOf(where, scheme, template, annotations);
    if (!hasAgent(template)) {
      io.err(
        `${where}: carries no ${AGENT_CONTAINER} container; the operator counts no pod without it (run securekey inject before generating the policy)\n`,
      );
    }
    if (others.length + 1 > MAX_APPROVALS_PER_POD) {
      throw new ManifestError(
        'bad-manifest',
        `${where}: ${APPROVAL_ANNOTATION} already holds ${others.length} other signatures; at most ${MAX_APPROVALS_PER_POD} are read`,
      );
    }
    const claims: ApprovalClaims = { namespace, secureKeys, scheme, digest, iat };
    if (exp !== undefined) claims.exp = exp;
    return { where, claims, others };
  }

  const signatures = await Promise.all(
    plans.map(async (p) => (p.claims === undefined ? undefined : signApproval(p.claims, signer))),
  );
  if (signatures.every((s) => s === undefined)) {
    throw new ManifestError(
      'bad-manifest',
      'no pod template asks for keys (securekey.io/key-<alias> annotations): nothing to approve',
    );
  }
  let i = 0;
  const out = docs.map(({ doc }) =>
    mapPodTemplates(doc, (template) => {
      const p = plans[i]!;
      const jws = signatures[i++];
      if (jws === undefined) return template;
      const meta = (template['metadata'] ?? {}) as Obj;
      io.err(
        `${p.where}: approved ${p.claims!.scheme} digest ${p.claims!.digest} for ${p.claims!.namespace}/${p.claims!.secureKeys.join(',')}\n`,
      );
      return {
        ...template,
        metadata: {
          ...meta,
          annotations: {
            ...((meta['annotations'] ?? {}) as Obj),
            [APPROVAL_ANNOTATION]: [...p.others, jws].join(','),
          },
        },
      };
    }),
  );
  const text = out.map((d) => stringify(d, { lineWidth: 0 })).join('---\n');
  if (values.output === '-') io.out(text);
  else writeFileSync(values.output, text);
  return 0;
}

/** The template's digest under `scheme`: its policy digest, or (node mode) its container digest. */
function digestOf(
  where: string,
  scheme: ApprovalScheme,
  template: Obj,
  annotations: Record<string, string>,
): string {
  try {
    return scheme === NODE_CONTAINERS_SCHEME
      ? containerDigest(template['spec']).digest
      : policyDigest(scheme, annotations).digest;
  } catch (err) {
    if (err instanceof DigestError || err instanceof WorkloadError) {
      throw new ManifestError('bad-manifest', `${where}: ${err.message}`);
    }
    throw err;
  }
}

/** The template's namespace: the manifest's (or the template's own), else --namespace; they must agree. */
function namespaceOf(
  where: string,
  manifestNamespace: string | undefined,
  templateNamespace: unknown,
  flag: string | undefined,
): string {
  const own =
    manifestNamespace ??
    (typeof templateNamespace === 'string' && templateNamespace !== '' ? templateNamespace : undefined);
  if (own !== undefined && flag !== undefined && own !== flag) {
    throw new ManifestError(
      'bad-manifest',
      `${where}: the manifest is in namespace ${own}, not ${flag} (--namespace)`,
    );
  }
  const namespace = own ?? flag;
  if (namespace === undefined) {
    throw new ManifestError(
      'bad-manifest',
      `${where}: no namespace (set metadata.namespace or pass --namespace); an approval is for one namespace`,
    );
  }
  return namespace;
}

/** The approvals a template carries from signers other than `kid`, as they are. */
function otherApprovals(where: string, annotation: string | undefined, kid: string): string[] {
  if (annotation === undefined || annotation.trim() === '') return [];
  try {
    return parseApprovals(annotation)
      .filter((a) => a.kid !== kid)
      .map((a) => a.jws);
  } catch (err) {
    if (err instanceof ApprovalError) {
      throw new ManifestError(
        'bad-manifest',
        `${where}: ${err.message}; remove the annotation to approve afresh`,
      );
    }
    throw err;
  }
}

/** Node mode: the template says so, or carries the node client `securekey inject` gives node-mode keys. */
function servedByNodeAgent(template: Obj, annotations: Record<string, string>): boolean {
  if (annotations[AGENT_MODE_ANNOTATION] === 'node') return true;
  const spec = (template['spec'] ?? {}) as Obj;
  const init = Array.isArray(spec['initContainers']) ? (spec['initContainers'] as unknown[]) : [];
  return init.some((c) => {
    const { name, args } = (typeof c === 'object' && c !== null ? c : {}) as Obj;
    return name === AGENT_CONTAINER && Array.isArray(args) && args[0] === 'node';
  });
}

function hasAgent(template: Obj): boolean {
  const spec = (template['spec'] ?? {}) as Obj;
  return [spec['initContainers'], spec['containers']]
    .flatMap((l) => (Array.isArray(l) ? (l as unknown[]) : []))
    .some((c) => typeof c === 'object' && c !== null && (c as Obj)['name'] === AGENT_CONTAINER);
}
