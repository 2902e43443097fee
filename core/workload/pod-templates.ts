/**
 * Finds the pod templates in Kubernetes manifests: the pod itself, or the template inside a workload
 * (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob). The same walk serves
 * `securekey digest` and `securekey inject`.
 */
export interface PodTemplateRef {
  /** Kind and name of the manifest, e.g. `Deployment/web`. */
  owner: string;
  namespace: string | undefined;
  /** JSON path of the template's metadata inside the manifest, e.g. `spec.template.metadata`. */
  path: string;
  annotations: Record<string, string>;
  labels: Record<string, string>;
}

type Obj = Record<string, unknown>;

const TEMPLATE_PATHS: Record<string, string[]> = {
  Pod: [],
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function strings(v: unknown): Record<string, string> {
  if (!isObj(v)) return {};
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/** The pod template of one manifest, or undefined when its kind has none. `List` items are walked. */
export function podTemplates(manifest: unknown): PodTemplateRef[] {
  if (!isObj(manifest)) return [];
  const kind = typeof manifest['kind'] === 'string' ? manifest['kind'] : '';
  if (kind === 'List' && Array.isArray(manifest['items'])) return manifest['items'].flatMap(podTemplates);
  const path = TEMPLATE_PATHS[kind];
  if (!path) return [];
  let node: unknown = manifest;
  for (const p of path) node = isObj(node) ? node[p] : undefined;
  const meta = isObj(manifest['metadata']) ? manifest['metadata'] : {};
  const tmeta = isObj(node) && isObj(node['metadata']) ? node['metadata'] : {};
  return [
    {
      owner: `${kind}/${typeof meta['name'] === 'string' ? meta['name'] : '<unnamed>'}`,
      namespace: typeof meta['namespace'] === 'string' ? meta['namespace'] : undefined,
      path: [...path, 'metadata'].join('.'),
      annotations: strings(tmeta['annotations']),
      labels: strings(tmeta['labels']),
    },
  ];
}

/**
 * The manifest with each pod template (the pod itself for a Pod) replaced by `fn(template, owner,
 * namespace)`; other documents come back unchanged. `List` items are walked. Pure: the input is not
 * modified.
 */
export function mapPodTemplates(
  manifest: unknown,
  fn: (template: Obj, owner: string, namespace: string | undefined) => Obj,
): unknown {
  if (!isObj(manifest)) return manifest;
  const kind = typeof manifest['kind'] === 'string' ? manifest['kind'] : '';
  if (kind === 'List' && Array.isArray(manifest['items'])) {
    return { ...manifest, items: manifest['items'].map((i: unknown) => mapPodTemplates(i, fn)) };
  }
  const path = TEMPLATE_PATHS[kind];
  if (!path) return manifest;
  const meta = isObj(manifest['metadata']) ? manifest['metadata'] : {};
  const owner = `${kind}/${typeof meta['name'] === 'string' ? meta['name'] : '<unnamed>'}`;
  const namespace = typeof meta['namespace'] === 'string' ? meta['namespace'] : undefined;
  const replaceAt = (node: unknown, rest: string[]): unknown => {
    if (!isObj(node)) return node;
    if (rest.length === 0) return fn(node, owner, namespace);
    const [head, ...tail] = rest as [string, ...string[]];
    return { ...node, [head]: replaceAt(node[head], tail) };
  };
  return replaceAt(manifest, path);
}
