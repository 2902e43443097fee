/**
 * How the app gets to read its key files without the agent holding CAP_CHOWN (ADR 21). The agent writes
 * the files as its own uid; the app reads them as the owner, or through the files' group:
 *
 * 1. Every target container runs as the agent's uid → 0400 (the agent runs as the pod's runAsUser when
 *    the pod sets one, else as its image's user).
 * 2. The pod has an fsGroup → 0440, and the agent runs with the fsGroup as its primary group
 *    (runAsGroup), so the files it creates get it. Every container of the pod has the fsGroup among its
 *    supplementary groups, the agent included: this grants it nothing new. (The kubelet also makes the
 *    emptyDir's root setgid and group-owned by the fsGroup, which gives new files the same group; the
 *    agent's own group does not depend on the runtime doing that, e.g. Kata's in-guest tmpfs.)
 * 3. Every target container runs with the same stated primary group → 0440, and the agent runs with
 *    that group (runAsGroup): the files it creates get it. No pod-wide change (an fsGroup set by the
 *    injector would change the ownership of the pod's other volumes too).
 * 4. A target container states a non-root uid other than the agent's, and nothing above applies: the
 *    app could not read its key, so the pod is refused, saying to set an fsGroup or runAsGroup.
 * 5. Otherwise (uids unstated, the image decides; or root) → 0400, as before: the pod's own settings
 *    are all the injector can see.
 */
import { AGENT_IMAGE_UID, type KeyFileMode } from './agent-contract.ts';
import { InjectError } from './errors.ts';

type Obj = Record<string, unknown>;

export interface KeyFileAccess {
  /** The agent's `--file-mode`. */
  mode: KeyFileMode;
  /** The agent container's runAsGroup, when the files are shared through the app's primary group. */
  runAsGroup?: number;
}

const securityContext = (o: Obj): Obj => {
  const sc = o['securityContext'];
  return typeof sc === 'object' && sc !== null ? (sc as Obj) : {};
};
const id = (v: unknown): number | undefined =>
  Number.isInteger(v) && (v as number) >= 0 ? (v as number) : undefined;

/** `podSpec`: the pod's spec; `targets`: the containers that mount the keys. */
export function keyFileAccess(podSpec: Obj, targets: readonly Obj[]): KeyFileAccess {
  const pod = securityContext(podSpec);
  const agentUid = id(pod['runAsUser']) ?? AGENT_IMAGE_UID;
  const uids = targets.map((c) => id(securityContext(c)['runAsUser']) ?? id(pod['runAsUser']));
  const gids = targets.map((c) => id(securityContext(c)['runAsGroup']) ?? id(pod['runAsGroup']));

  if (uids.every((uid) => uid === agentUid)) return { mode: '0400' };
  const fsGroup = id(pod['fsGroup']);
  if (fsGroup !== undefined) return { mode: '0440', runAsGroup: fsGroup };
  const gid = gids[0];
  if (gid !== undefined && gids.every((g) => g === gid)) return { mode: '0440', runAsGroup: gid };
  const other = targets.find((_, i) => uids[i] !== undefined && uids[i] !== 0 && uids[i] !== agentUid);
  if (other !== undefined) {
    throw new InjectError(
      'unreadable-keys',
      `container ${String(other['name'])} runs as uid ${uids[targets.indexOf(other)]}, the agent as ${agentUid}: ` +
        'it could not read its key files',
      {
        hint:
          'set the pod’s securityContext.fsGroup (the files become readable by that group), or the same ' +
          'runAsGroup on every container that mounts the keys',
      },
    );
  }
  return { mode: '0400' };
}
