import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { DEPLOYMENT_MODES, SCHEMA_DEFAULTS, type SecureKey } from '../../core/api/securekey.generated.ts';
import {
  INJECT_LABEL,
  INJECT_LABEL_VALUE,
  injectAgent,
  InjectError,
  keyRequests,
  type ResolvedKey,
} from '../../core/inject/index.ts';
import { podMetadataProblem, podSpecProblem } from '../../core/workload/pod-shape.ts';
import { mapPodTemplates } from '../../core/workload/pod-templates.ts';
import { certificatesOnlyProblem } from '../../core/x509/index.ts';
import { agentSettings } from '../../core/inject/index.ts';
import { loadManifests, ManifestError } from '../manifests.ts';
import { UsageError, type Io } from '../io.ts';

export const usage = `securekey inject -f <file|dir|-> [-f …] --agent-image <image> [--tenant-id <id>]
  [--client-id <id>] [--authority-host <url>] [--evidence <backend>] [--agent-env NAME=VALUE …] [-o yaml|json]
  [--node-agent-url <url> --node-agent-ca-configmap <name>] [--psp-url <url> --simulators-ca <file>]

Adds the SecureKey agent to every pod template that asks for keys (securekey.io/key-<alias>
annotations): the same mutation the webhook makes. Run it BEFORE generating the confidential-containers
policy (az confcom katapolicygen), so the policy measures the agent and its arguments; the webhook then
leaves these pods alone. SecureKeys named by the annotations must be among the manifests given. Prints
all documents, changed or not.

--agent-env adds a variable to the agent's environment (repeat it), measured with the pod like the
rest: for example SECUREKEY_THIM_URL on a virtual node, or SECUREKEY_MANAGED_IDENTITY.

Node mode: a pod asking for keys of a SecureKey with spec.mode Node gets the node client, which fetches
them from the node agent; --node-agent-url (its node-local Service URL) and --node-agent-ca-configmap
(the ConfigMap whose ca.crt its certificate chains to) say where, as the webhook's configuration does.

SIMULATORS ONLY: --psp-url and --simulators-ca (the chart's securekey-simulators-ca Secret, ca.crt) make
the agent attest through the mock PSP and trust the simulators' CA, as the webhook does when the chart
installs the simulators.`;

type Obj = Record<string, unknown>;

/**
 * The vault, key and authority a SecureKey manifest names. The manifest is not checked by an API
 * server here, so a missing or mistyped field is reported rather than read as undefined.
 */
function secureKeyTarget(
  sk: SecureKey,
  source: string,
): Pick<ResolvedKey, 'vaultUrl' | 'keyName' | 'authority' | 'mode' | 'rotation'> {
  const at = (path: string[]): unknown =>
    path.reduce<unknown>(
      (node, p) => (typeof node === 'object' && node !== null ? (node as Obj)[p] : undefined),
      sk,
    );
  const text = (path: string[]): string => {
    const v = at(path);
    if (typeof v !== 'string' || v === '') {
      throw new ManifestError(
        'bad-manifest',
        `${source} SecureKey/${sk.metadata?.name}: ${path.join('.')} is ${v === undefined ? 'missing' : `${JSON.stringify(v)}, not a non-empty string`}`,
      );
    }
    return v;
  };
  const mode = at(['spec', 'mode']) ?? SCHEMA_DEFAULTS['spec.mode'];
  if (!(DEPLOYMENT_MODES as readonly unknown[]).includes(mode)) {
    throw new ManifestError(
      'bad-manifest',
      `${source} SecureKey/${sk.metadata?.name}: spec.mode is ${JSON.stringify(mode)}, not one of ${DEPLOYMENT_MODES.join(', ')}`,
    );
  }
  return {
    mode: mode as ResolvedKey['mode'],
    vaultUrl: text(['spec', 'vault', 'url']),
    keyName: text(['spec', 'key', 'name']),
    // As the webhook: a SecureKey that names no attestation authority gives the agent none to ask.
    authority: text(['spec', 'attestation', 'authorities', '0']),
    ...(at(['spec', 'rotation']) === undefined ? {} : { rotation: text(['spec', 'rotation', 'interval']) }),
  };
}

export function injectCommand(argv: string[], io: Io): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      filename: { type: 'string', short: 'f', multiple: true },
      'agent-image': { type: 'string' },
      'tenant-id': { type: 'string' },
      'client-id': { type: 'string' },
      'authority-host': { type: 'string' },
      evidence: { type: 'string' },
      'agent-env': { type: 'string', multiple: true },
      'node-agent-url': { type: 'string' },
      'node-agent-ca-configmap': { type: 'string' },
      'psp-url': { type: 'string' },
      'simulators-ca': { type: 'string' },
      output: { type: 'string', short: 'o', default: 'yaml' },
    },
    strict: true,
  });
  const files = values.filename ?? [];
  if (files.length === 0) throw new UsageError('inject needs at least one -f <file>');
  const image = values['agent-image'];
  if (!image) throw new UsageError('inject needs --agent-image (the securekey-agent image to run)');
  if (values.output !== 'yaml' && values.output !== 'json') throw new UsageError('-o must be yaml or json');
  const pspUrl = values['psp-url'];
  const simulatorsCa = values['simulators-ca'];
  if ((pspUrl === undefined) !== (simulatorsCa === undefined)) {
    throw new UsageError('--psp-url and --simulators-ca go together (simulators only)');
  }
  const nodeAgentUrl = values['node-agent-url'];
  const nodeAgentCaConfigMap = values['node-agent-ca-configmap'];
  if ((nodeAgentUrl === undefined) !== (nodeAgentCaConfigMap === undefined)) {
    throw new UsageError('--node-agent-url and --node-agent-ca-configmap go together (node mode)');
  }
  if (nodeAgentUrl !== undefined && !/^https:\/\/[^/\s]+/.test(nodeAgentUrl)) {
    throw new UsageError(`--node-agent-url: ${JSON.stringify(nodeAgentUrl)} is not an https URL`);
  }
  const extraEnv = (values['agent-env'] ?? []).map((pair) => {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(pair);
    if (!m) throw new UsageError(`--agent-env: ${JSON.stringify(pair)} is not NAME=VALUE`);
    return { name: m[1]!, value: m[2]! };
  });
  let caPem: string | undefined;
  if (simulatorsCa !== undefined) {
    try {
      caPem = readFileSync(simulatorsCa, 'utf8');
    } catch (err) {
      throw new UsageError(
        `--simulators-ca: cannot read ${simulatorsCa} (${(err as NodeJS.ErrnoException).code})`,
      );
    }
    const problem = certificatesOnlyProblem(caPem);
    if (problem) throw new UsageError(`--simulators-ca: ${simulatorsCa} ${problem}`);
  }
  const settings = agentSettings({
    image,
    ...(values['tenant-id'] ? { tenantId: values['tenant-id'] } : {}),
    ...(values['client-id'] ? { clientId: values['client-id'] } : {}),
    ...(values['authority-host'] ? { authorityHost: values['authority-host'] } : {}),
    ...(values.evidence ? { evidence: values.evidence } : {}),
    ...(extraEnv.length > 0 ? { extraEnv } : {}),
    ...(nodeAgentUrl && nodeAgentCaConfigMap ? { nodeAgentUrl, nodeAgentCaConfigMap } : {}),
    ...(pspUrl && caPem ? { simulators: { pspUrl, pspAudience: 'securekey-psp', caPem } } : {}),
  });
  const docs = loadManifests(files);
  const secureKeys = docs
    .map((d) => d.doc as SecureKey & { kind?: string })
    .filter((d) => d?.kind === 'SecureKey' && d.metadata?.name);

  let injected = 0;
  const out = docs.map(({ doc, source }) =>
    mapPodTemplates(doc, (template, owner, namespace) => {
      const meta = (template['metadata'] ?? {}) as {
        labels?: Record<string, string>;
        annotations?: Record<string, string>;
      };
      const malformed = podMetadataProblem(template) ?? podSpecProblem(template);
      if (malformed !== undefined)
        throw new ManifestError('bad-manifest', `${source} ${owner}: ${malformed}`);
      let requests;
      try {
        requests = keyRequests(meta.annotations);
      } catch (err) {
        if (err instanceof InjectError) {
          throw new ManifestError('cannot-inject', `${source} ${owner}: ${err.message}`, { cause: err });
        }
        throw err;
      }
      if (requests.length === 0) return template;
      const keys: ResolvedKey[] = requests.map((r) => {
        const sk = secureKeys.find(
          (s) =>
            s.metadata?.name === r.secureKey &&
            (namespace === undefined || (s.metadata?.namespace ?? namespace) === namespace),
        );
        if (!sk) {
          throw new ManifestError(
            'unknown-securekey',
            `${source} ${owner}: key ${r.alias} names SecureKey ${r.secureKey}, which is not among the manifests (add its file with -f)`,
          );
        }
        return { ...r, ...secureKeyTarget(sk, source) };
      });
      const labelled: Obj = {
        ...template,
        metadata: { ...meta, labels: { ...(meta.labels ?? {}), [INJECT_LABEL]: INJECT_LABEL_VALUE } },
      };
      if (meta.labels?.[INJECT_LABEL] !== INJECT_LABEL_VALUE) {
        io.err(
          `${owner}: added label ${INJECT_LABEL}=${INJECT_LABEL_VALUE} (the operator watches labelled pods only)\n`,
        );
      }
      try {
        const result = injectAgent(labelled, keys, settings);
        if (result.changed) injected += 1;
        return result.pod;
      } catch (err) {
        if (err instanceof InjectError) {
          const message = `${source} ${owner}: ${err.message}${err.hint ? ` (${err.hint})` : ''}`;
          throw new ManifestError('cannot-inject', message, { cause: err });
        }
        throw err;
      }
    }),
  );
  if (values.output === 'json')
    io.out(
      `${JSON.stringify(out.length === 1 ? out[0] : { apiVersion: 'v1', kind: 'List', items: out }, null, 2)}\n`,
    );
  else io.out(out.map((d) => stringify(d, { lineWidth: 0 })).join('---\n'));
  io.err(`injected the agent into ${injected} pod template(s)\n`);
  return 0;
}
