/**
 * Whether the pod fields the injector reads have their Kubernetes types. The API server guarantees it
 * for the pods the webhook sees; hand-written manifests (`securekey inject`) and other clients do not,
 * and a list holding `null` or an annotation that YAML read as a number would otherwise surface as a
 * TypeError inside the injector. Each function returns the first problem, naming the field, or undefined.
 */
type Obj = Record<string, unknown>;

export const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** "a number", "a list", "null": for messages about a value of the wrong type. */
export function describeType(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** metadata: an object whose namespace is a string and whose labels and annotations map to strings. */
export function podMetadataProblem(pod: Obj): string | undefined {
  const metadata = pod['metadata'];
  if (metadata === undefined || metadata === null) return undefined;
  if (!isObject(metadata)) return `metadata is ${describeType(metadata)}, not an object`;
  if (metadata['namespace'] !== undefined && typeof metadata['namespace'] !== 'string') {
    return `metadata.namespace is ${describeType(metadata['namespace'])}, not a string`;
  }
  for (const field of ['labels', 'annotations'] as const) {
    const map = metadata[field];
    if (map === undefined || map === null) continue;
    if (!isObject(map)) return `metadata.${field} is ${describeType(map)}, not a map`;
    const bad = Object.entries(map).find(([, v]) => typeof v !== 'string');
    if (bad) return `metadata.${field}[${JSON.stringify(bad[0])}] is ${describeType(bad[1])}, not a string`;
  }
  return undefined;
}

/** spec: containers and init containers with a name and a list of volume mounts, a list of volumes. */
export function podSpecProblem(pod: Obj): string | undefined {
  const spec = pod['spec'];
  if (spec === undefined || spec === null) return undefined;
  if (!isObject(spec)) return `spec is ${describeType(spec)}, not an object`;
  for (const field of ['containers', 'initContainers', 'volumes'] as const) {
    const problem = listOfObjectsProblem(spec[field], `spec.${field}`);
    if (problem !== undefined) return problem;
    if (field === 'volumes') continue;
    for (const [i, c] of ((spec[field] ?? []) as Obj[]).entries()) {
      if (typeof c['name'] !== 'string') {
        return `spec.${field}[${i}].name is ${describeType(c['name'])}, not a string`;
      }
      const mounts = listOfObjectsProblem(c['volumeMounts'], `spec.${field}[${i}].volumeMounts`);
      if (mounts !== undefined) return mounts;
    }
  }
  return undefined;
}

function listOfObjectsProblem(items: unknown, path: string): string | undefined {
  if (items === undefined || items === null) return undefined;
  if (!Array.isArray(items)) return `${path} is ${describeType(items)}, not a list`;
  const i = items.findIndex((item) => !isObject(item));
  return i < 0 ? undefined : `${path}[${i}] is ${describeType(items[i])}, not an object`;
}
