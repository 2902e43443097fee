/**
 * Node mode's measure of what a pod runs (ADR 39): on a confidential-VM node there is no per-pod TEE
 * and no policy digest, so what an approver vouches for is the pod's containers — each one's name, image
 * (pinned by digest, so the runtime runs exactly those bytes), command and args. `containerDigest` is
 * SHA-256 over their canonical JSON; `securekey approve --scheme node-containers` signs it, and the node
 * agent recomputes it from the pod the API server holds. `kubeletMismatch` then checks that what the
 * kubelet reports running (status imageIDs) is what the spec pins.
 *
 * Pure: the same pod object, a template or an API server's pod, gives the same digest.
 */
import crypto from 'node:crypto';
import { sortedJson } from '../keys/sorted-json.ts';
import { WorkloadError } from './errors.ts';

/** `…@sha256:<64 hex>`: the only image references a container digest accepts. */
const PINNED = /@(sha256:[0-9a-f]{64})$/;
/** The digest a kubelet's imageID carries (`repo@sha256:…`, `docker-pullable://…@sha256:…`, `sha256:…`). */
const IMAGE_ID_DIGEST = /(sha256:[0-9a-f]{64})$/;

/** The lists of a pod spec that run code, in the order they are digested. */
const LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;
type ContainerList = (typeof LISTS)[number];

export interface DigestedContainer {
  list: ContainerList;
  name: string;
  image: string;
  /** The pinned image digest, `sha256:<hex>`. */
  imageDigest: string;
}

export interface ContainerDigest {
  /** 64 lowercase hex. */
  digest: string;
  containers: DigestedContainer[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function stringList(v: unknown, where: string): string[] | null {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) {
    throw new WorkloadError('bad-pod', `${where} is not a list of strings`);
  }
  return v as string[];
}

/**
 * The container digest of a pod spec (`spec` of a pod or pod template). Every init, regular and
 * ephemeral container counts, in spec order: an ephemeral container added to a running pod (kubectl
 * debug) changes the digest, so such a pod is no longer what was approved. Throws WorkloadError
 * `unpinned-image` naming the first container whose image is not `…@sha256:<digest>`.
 */
export function containerDigest(spec: unknown): ContainerDigest {
  const s = isObj(spec) ? spec : {};
  const containers: DigestedContainer[] = [];
  const canonical: Record<ContainerList, unknown[]> = {
    initContainers: [],
    containers: [],
    ephemeralContainers: [],
  };
  for (const list of LISTS) {
    const items = s[list];
    if (items === undefined || items === null) continue;
    if (!Array.isArray(items)) throw new WorkloadError('bad-pod', `spec.${list} is not a list`);
    items.forEach((c: unknown, i) => {
      const where = `spec.${list}[${i}]`;
      if (!isObj(c) || typeof c['name'] !== 'string' || c['name'] === '') {
        throw new WorkloadError('bad-pod', `${where} has no name`);
      }
      const { name, image } = c as { name: string; image: unknown };
      const pinned = typeof image === 'string' ? PINNED.exec(image) : null;
      if (pinned === null) {
        throw new WorkloadError(
          'unpinned-image',
          `container ${name} runs image ${JSON.stringify(image ?? null)}, which is not pinned by digest (…@sha256:<digest>)`,
          { hint: 'approve and run images by digest, e.g. registry/app@sha256:…' },
        );
      }
      const command = stringList(c['command'], `${where}.command`);
      const args = stringList(c['args'], `${where}.args`);
      containers.push({ list, name, image: image as string, imageDigest: pinned[1]! });
      canonical[list].push({ name, image, command, args });
    });
  }
  const digest = crypto
    .createHash('sha256')
    .update(sortedJson({ scheme: 'node-containers', v: 1, ...canonical }), 'utf8')
    .digest('hex');
  return { digest, containers };
}

/**
 * What the kubelet reports running that the spec does not pin, in words; undefined when every
 * reported imageID is the pinned digest of its container. A container not started yet has no imageID
 * (an init container's node client asks before the app's images are pulled); the runtime itself
 * refuses content that does not match a pinned reference, so an empty imageID is not a mismatch.
 */
export function kubeletMismatch(spec: ContainerDigest, status: unknown): string | undefined {
  const st = isObj(status) ? status : {};
  const pinned = new Map(spec.containers.map((c) => [`${c.list}/${c.name}`, c]));
  const reported: Array<[ContainerList, string]> = [
    ['initContainers', 'initContainerStatuses'],
    ['containers', 'containerStatuses'],
    ['ephemeralContainers', 'ephemeralContainerStatuses'],
  ];
  for (const [list, field] of reported) {
    const items = st[field];
    if (!Array.isArray(items)) continue;
    for (const s of items as unknown[]) {
      if (!isObj(s)) continue;
      const name = String(s['name']);
      const imageID = typeof s['imageID'] === 'string' ? s['imageID'] : '';
      if (imageID === '') continue;
      const want = pinned.get(`${list}/${name}`);
      if (want === undefined)
        return `the kubelet reports container ${name}, which the pod spec does not have`;
      const got = IMAGE_ID_DIGEST.exec(imageID)?.[1];
      if (got !== want.imageDigest) {
        return `the kubelet reports container ${name} running ${imageID}, not ${want.imageDigest}`;
      }
    }
  }
  return undefined;
}
