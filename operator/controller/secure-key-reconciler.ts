/**
 * One reconcile of one SecureKey: the edge around the pure core in ../reconcile. It reads the latest
 * SecureKey and its pods from the caches, reads the key from the vault, makes at most one vault write
 * (create, rotate or policy update — only when the vault differs from what the core wants), records
 * events, and writes status only when it changed. Errors are returned to the work queue for backoff
 * after they are reported in status.
 */
import type { LabelSelector, SecureKey } from '../../core/api/securekey.generated.ts';
import { checkAuthorities } from '../reconcile/authorities.ts';
import { API_VERSION, KIND, SCHEMA_DEFAULTS } from '../../core/api/securekey.generated.ts';
import { digestsOf } from '../../core/policy/index.ts';
import { FINALIZER } from '../kube/secure-key-api.ts';
import type { EventTarget, EventType } from '../kube/event-recorder.ts';
import {
  decidingVersion,
  describeOwner,
  isOwner,
  keyOwnerOf,
  secureKeyName,
} from '../../core/ownership/index.ts';
import {
  desiredDigests,
  findCondition,
  isNodeMode,
  mustListVersions,
  noPodDigests,
  nextStatus,
  ownershipRefusal,
  planReleasePolicy,
  planVaultAction,
  REASONS,
  ReconcileError,
  statusChanged,
  type DesiredDigests,
  type ObservedKey,
  type StepFailure,
  type VaultAction,
} from '../reconcile/index.ts';
import {
  DEFAULT_POD_ADMISSION,
  WorkloadError,
  type ObservedPod,
  type PodAdmission,
} from '../../core/workload/index.ts';
import { approvalVerdicts, type VerifyApproval } from '../reconcile/approvals.ts';
import type { KeyVault, VaultKey } from '../vault/key-vault.ts';
import { VaultCallError } from '../vault/errors.ts';
import { requeueAfterMs } from './requeue.ts';

/** After creating a key, look again this soon: a racing create shows up as a newer version. */
export const CREATE_RECHECK_MS = 5_000;

export interface ReconcileResult {
  /** Reconcile again after this long even if nothing changes (retention expiry, rotation, re-verify). */
  requeueAfterMs?: number;
}

export interface SecureKeyWriter {
  writeStatus(sk: SecureKey, status: NonNullable<SecureKey['status']>): Promise<SecureKey>;
  addFinalizer(sk: SecureKey): Promise<SecureKey>;
  removeFinalizer(sk: SecureKey): Promise<void>;
}

export interface ReconcilerDeps {
  /** The freshest SecureKey known for "namespace/name" (informer cache, or our own last write). */
  secureKey(key: string): SecureKey | undefined;
  /** Remembers an object the API server returned to a write, so the next reconcile starts from it. */
  remember(sk: SecureKey): void;
  /**
   * Opted-in pods of a namespace, trimmed. With `selector`, at least those it selects (the caller
   * still applies it): an index narrows 10,000 pods to the few a key's matchLabels name.
   */
  pods(namespace: string, selector?: LabelSelector): ObservedPod[];
  api: SecureKeyWriter;
  vault(url: string): KeyVault;
  event(target: EventTarget, type: EventType, reason: string, message: string): void;
  now(): Date;
  /** This cluster's identity in key owner tags (the kube-system namespace's uid, or configured). */
  clusterId: string;
  /** Re-verify the vault this often when nothing else is due (default 10 min). */
  resyncMs?: number;
  onDigests?(key: string, count: number): void;
  /** Attestation authorities a SecureKey may name (reconcile/authorities.ts); unchecked when absent. */
  allowedAuthorities?: readonly string[];
  /** Which selected pods may lend their digest; the confidential runtime classes when absent. */
  podAdmission?: PodAdmission;
  /** Checks an approval signature; a cache around verifySignature (ApprovalCache) in the operator. */
  verifyApproval?: VerifyApproval;
  log?(level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void;
}

function target(sk: SecureKey): EventTarget {
  const m = sk.metadata ?? {};
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    namespace: m.namespace ?? '',
    name: m.name ?? '',
    uid: m.uid ?? '',
  };
}

function podTarget(pod: ObservedPod): EventTarget {
  return { apiVersion: 'v1', kind: 'Pod', namespace: pod.namespace, name: pod.name, uid: pod.uid };
}

/** A vault error as a condition reason and a message that names the step. */
function failureOf(err: VaultCallError): StepFailure {
  const reason =
    err.kind === 'throttled'
      ? REASONS.Throttled
      : err.kind === 'forbidden'
        ? REASONS.VaultForbidden
        : err.kind === 'conflict'
          ? REASONS.KeyConflict
          : err.kind === 'rejected'
            ? REASONS.VaultRejected
            : REASONS.VaultUnavailable;
  return { reason, message: err.hint ? `${err.message} (${err.hint})` : err.message };
}

export class SecureKeyReconciler {
  private readonly d: ReconcilerDeps;

  constructor(deps: ReconcilerDeps) {
    this.d = deps;
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    let sk = this.d.secureKey(key);
    if (sk === undefined) return {};
    if (sk.metadata?.deletionTimestamp) {
      await this.finalize(sk);
      return {};
    }
    if (!(sk.metadata?.finalizers ?? []).includes(FINALIZER)) {
      sk = await this.d.api.addFinalizer(sk);
      this.d.remember(sk);
    }
    const now = this.d.now();
    const namespace = sk.metadata?.namespace ?? '';

    let desired: DesiredDigests;
    let specFailure: string | undefined;
    try {
      if (this.d.allowedAuthorities)
        checkAuthorities(sk.spec.attestation.authorities, this.d.allowedAuthorities);
      const pods = this.d.pods(namespace, sk.spec.workloads.podSelector);
      const admission = this.d.podAdmission ?? DEFAULT_POD_ADMISSION;
      desired = isNodeMode(sk)
        ? noPodDigests()
        : desiredDigests({
            secureKey: sk,
            pods,
            previous: sk.status?.policy?.digests,
            previousProposals: sk.status?.proposals,
            now,
            admission,
            approvals: await approvalVerdicts(sk, pods, admission, now, this.d.verifyApproval),
          });
    } catch (err) {
      // A spec the core cannot work with (e.g. a selector the API server let through): keep what the
      // vault has, say why in status, and wait for the spec to change.
      if (!(err instanceof ReconcileError || err instanceof WorkloadError)) throw err;
      specFailure = err.message;
      desired = { digests: sk.status?.policy?.digests ?? [], proposed: [], problems: [], refused: [] };
      if (findCondition(sk.status?.conditions, 'PolicySynced')?.message !== err.message) {
        this.d.event(target(sk), 'Warning', REASONS.InvalidSpec, err.message);
      }
    }
    const spec = specFailure === undefined ? {} : { specFailure };
    this.d.onDigests?.(key, desired.digests.length);
    const plan = planReleasePolicy(sk, desired.digests);
    const name = sk.spec.key.name;
    const owner = keyOwnerOf(sk, this.d.clusterId);

    let current: VaultKey | undefined;
    let observed: ObservedKey | undefined;
    try {
      const vault = this.d.vault(sk.spec.vault.url);
      current = await vault.getKey(name);
      observed =
        current !== undefined && mustListVersions(sk, current, owner)
          ? { ...current, versions: await vault.listVersions(name) }
          : current;
    } catch (err) {
      if (!(err instanceof VaultCallError)) throw err;
      await this.finish(sk, {
        secureKey: sk,
        now,
        desired,
        plan,
        key: undefined,
        action: undefined,
        readFailure: failureOf(err),
        ...spec,
      });
      this.d.event(target(sk), 'Warning', failureOf(err).reason, err.message);
      throw err;
    }

    const planned = planVaultAction(sk, observed, plan, now, owner);
    let action: VaultAction = specFailure === undefined ? planned.action : { type: 'none' };
    const rotateAt = planned.rotateAt;
    let after: VaultKey | undefined;
    try {
      ({ key: after, action } = await this.act(sk, action, current, plan.ok ? plan.json : ''));
    } catch (err) {
      if (!(err instanceof VaultCallError)) throw err;
      const writeFailure = failureOf(err);
      this.d.event(target(sk), 'Warning', writeFailure.reason, err.message);
      await this.finish(sk, {
        secureKey: sk,
        now,
        desired,
        plan,
        key: current,
        action,
        writeFailure,
        ...spec,
      });
      throw err;
    }
    if (
      action.type === 'refuse' &&
      findCondition(sk.status?.conditions, 'KeyReady')?.reason !== action.reason
    ) {
      this.d.event(target(sk), 'Warning', action.reason, action.message);
    }
    this.reportPods(sk, desired);
    await this.finish(sk, {
      secureKey: sk,
      now,
      desired,
      plan,
      key: after,
      action,
      ...spec,
    });

    const recheck = action.type === 'create' ? new Date(now.getTime() + CREATE_RECHECK_MS) : undefined;
    return {
      requeueAfterMs: requeueAfterMs(now, this.d.resyncMs ?? 600_000, [
        desired.nextExpiry,
        rotateAt,
        recheck,
      ]),
    };
  }

  /**
   * Carries out the planned vault write and says so in an event. Returns the key as it now is and the
   * action that stands: a create that lost a race to another SecureKey becomes that refusal.
   */
  private async act(
    sk: SecureKey,
    action: VaultAction,
    current: VaultKey | undefined,
    policyJson: string,
  ): Promise<{ key: VaultKey | undefined; action: VaultAction }> {
    const vault = this.d.vault(sk.spec.vault.url);
    const name = sk.spec.key.name;
    const owner = keyOwnerOf(sk, this.d.clusterId);
    switch (action.type) {
      case 'create': {
        const created = await vault.createKey(sk.spec.key, policyJson, owner);
        this.d.event(
          target(sk),
          'Normal',
          REASONS.KeyCreated,
          `created key ${name} version ${created.version} in ${vault.url}`,
        );
        this.d.log?.('info', 'key created', {
          secureKey: keyOf(sk),
          keyName: name,
          keyVersion: created.version,
        });
        // Create on an existing name adds a version rather than failing: settle who owns the name now.
        const observed = { ...created, versions: await vault.listVersions(name) };
        const lost = ownershipRefusal(sk, observed, owner)?.action;
        if (lost?.type !== 'refuse') return { key: created, action };
        return { key: created, action: await this.refuse(sk, lost) };
      }
      case 'rotate': {
        const rotated = await vault.createKey(sk.spec.key, policyJson, owner);
        this.d.event(
          target(sk),
          'Normal',
          REASONS.KeyRotated,
          `rotated key ${name} to version ${rotated.version}${action.reclaim ? `: ${action.reclaim}` : ''}`,
        );
        this.d.log?.('info', 'key rotated', {
          secureKey: keyOf(sk),
          keyName: name,
          keyVersion: rotated.version,
        });
        return { key: rotated, action };
      }
      case 'refuse':
        return { key: current, action: await this.refuse(sk, action) };
      case 'update-policy': {
        if (current === undefined) return { key: current, action };
        const before = new Set(current.policy ? digestsOf(current.policy).digests : []);
        const updated = await vault.setReleasePolicy(name, current.version, policyJson);
        const afterSet = new Set(updated.policy ? digestsOf(updated.policy).digests : []);
        const added = [...afterSet].filter((d) => !before.has(d));
        const removed = [...before].filter((d) => !afterSet.has(d));
        this.d.event(
          target(sk),
          'Normal',
          'PolicyUpdated',
          `release policy of ${name}/${current.version} updated: ${describe('admitted', added)}${describe('removed', removed)}`.replace(
            /: $/,
            '',
          ),
        );
        this.d.log?.('info', 'release policy updated', {
          secureKey: keyOf(sk),
          keyName: name,
          keyVersion: current.version,
          added: added.length,
          removed: removed.length,
        });
        return { key: updated, action };
      }
      default:
        return { key: current, action };
    }
  }

  /** A refusal that first disables this SecureKey's own versions of a name it lost. */
  private async refuse(sk: SecureKey, action: VaultAction & { type: 'refuse' }): Promise<VaultAction> {
    const vault = this.d.vault(sk.spec.vault.url);
    for (const version of action.disable ?? []) {
      await vault.disableVersion(sk.spec.key.name, version);
      this.d.log?.('warn', 'own key version disabled after a lost race', {
        secureKey: keyOf(sk),
        keyName: sk.spec.key.name,
        keyVersion: version,
      });
    }
    return action;
  }

  /**
   * Warning events, each once: a pod whose policy yields no digest or that may not lend one (named in
   * the previous PodsAdmitted message), and a digest newly proposed for approval (not yet in
   * status.proposals). Each goes to the SecureKey and to the pod.
   */
  private reportPods(sk: SecureKey, desired: DesiredDigests): void {
    if (desired.problems.length + desired.refused.length + desired.proposed.length === 0) return;
    const before = findCondition(sk.status?.conditions, 'PodsAdmitted')?.message ?? '';
    const proposedBefore = new Set((sk.status?.proposals ?? []).map((p) => p.digest));
    const pods = new Map(
      this.d
        .pods(sk.metadata?.namespace ?? '', sk.spec.workloads.podSelector)
        .map((p) => [`${p.namespace}/${p.name}`, p]),
    );
    const tell = (podName: string, reason: string, message: string): void => {
      this.d.event(target(sk), 'Warning', reason, message);
      const pod = pods.get(podName);
      if (pod) this.d.event(podTarget(pod), 'Warning', reason, message);
    };
    const key = sk.spec.key.name;
    for (const problem of desired.problems) {
      if (before.includes(problem.pod)) continue;
      tell(
        problem.pod,
        REASONS.InvalidPolicyAnnotation,
        `pod ${problem.pod} is not admitted to key ${key}: ${problem.message}`,
      );
    }
    for (const refused of desired.refused) {
      if (before.includes(refused.pod)) continue;
      tell(
        refused.pod,
        REASONS.PodRefused,
        `pod ${refused.pod} may not lend its digest to key ${key}: ${refused.message}`,
      );
    }
    for (const p of desired.proposed) {
      if (proposedBefore.has(p.digest)) continue;
      tell(
        p.pod,
        REASONS.DigestProposed,
        `digest ${p.digest.slice(0, 12)}… of pod ${p.pod} is not approved for key ${key} (${p.message}); approve it with securekey approve or list it in spec.workloads.allowedDigests`,
      );
    }
  }

  private async finish(sk: SecureKey, input: Parameters<typeof nextStatus>[0]): Promise<void> {
    const status = nextStatus(input);
    if (!statusChanged(sk.status, status)) return;
    this.d.remember(await this.d.api.writeStatus(sk, status));
  }

  /** deletionPolicy: Retain keeps the vault key; Delete soft-deletes it. Then the finalizer goes. */
  private async finalize(sk: SecureKey): Promise<void> {
    if (!(sk.metadata?.finalizers ?? []).includes(FINALIZER)) return;
    const policy = sk.spec.deletionPolicy ?? SCHEMA_DEFAULTS['spec.deletionPolicy'];
    const name = sk.spec.key.name;
    const url = sk.spec.vault.url;
    if (policy === 'Delete') {
      try {
        const vault = this.d.vault(url);
        const versions = await vault.listVersions(name);
        const deciding = decidingVersion(versions)?.owner;
        if (versions.length > 0 && !isOwner(deciding, keyOwnerOf(sk, this.d.clusterId))) {
          // Not ours to delete (another SecureKey's, an earlier one's of this name, or made outside
          // SecureKey): deleting removes every version of the name. Leave it, say so, let go.
          this.d.event(
            target(sk),
            'Warning',
            'KeyNotDeleted',
            `did not delete key ${name} in ${url}: it belongs to ${describeOwner(deciding)}`,
          );
          await this.d.api.removeFinalizer(sk);
          return;
        }
        if (versions.length > 0) await vault.deleteKey(name);
        this.d.event(
          target(sk),
          'Normal',
          'KeyDeleted',
          `deleted key ${name} from ${url} (recoverable until the vault purges it)`,
        );
        this.d.log?.('info', 'key deleted', { secureKey: keyOf(sk), keyName: name });
      } catch (err) {
        if (!(err instanceof VaultCallError)) throw err;
        this.d.event(target(sk), 'Warning', 'DeleteFailed', err.message);
        // A URL the operator refuses to use never held a key it made: nothing to delete, so do not block.
        if (!(err.kind === 'rejected' && err.status === undefined)) throw err;
      }
    } else {
      this.d.event(target(sk), 'Normal', 'KeyRetained', `kept key ${name} in ${url} (deletionPolicy Retain)`);
      this.d.log?.('info', 'key retained', { secureKey: keyOf(sk), keyName: name });
    }
    await this.d.api.removeFinalizer(sk);
  }
}

function describe(what: string, digests: string[]): string {
  if (digests.length === 0) return '';
  const shown = digests.slice(0, 3).map((d) => d.slice(0, 12));
  return `${what} ${digests.length} (${shown.join(', ')}${digests.length > 3 ? ', …' : ''}) `;
}

/** The work-queue key of a SecureKey: `<namespace>/<name>`, the same identity as its keys' owner tag. */
export const keyOf = secureKeyName;
