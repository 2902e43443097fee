/**
 * The operator's view of one vault, over the real `KeyClient`: read a key with its release policy,
 * list its versions' ownership, create an exportable HSM key (or a new version of one) with a policy and
 * owner tags, replace a version's policy, disable a version, delete. Every call is timed and counted by
 * operation and outcome; failures become VaultCallError.
 *
 * The SDK's own retries are off (the caller passes a client built with maxRetries 0): the operator's
 * work queue owns backoff, so a throttled vault delays one SecureKey, not a worker. Likewise every call
 * has a deadline (`callTimeoutMs`, Entra's token request included): a vault or Entra that accepts the
 * connection and never answers fails the call with a VaultCallError `timeout` instead of holding a
 * worker for ever. The deadline is enforced here, not only by aborting the SDK's request, so it holds
 * whatever the credential does with the abort signal.
 */
import type { KeyClient, KeyProperties, KeyVaultKey } from '@azure/keyvault-keys';
import type { KeySpec } from '../../core/api/securekey.generated.ts';
import {
  ownerFromTags,
  ownerTags,
  type KeyOwner,
  type KeyVersionFacts,
  type TaggedOwner,
} from '../../core/ownership/index.ts';
import { parsePolicyJson, type ReleasePolicy } from '../../core/policy/index.ts';
import { classifyVaultError, vaultHint, VaultCallError } from './errors.ts';

/** How long one vault call (with its token request) may take by default. */
export const VAULT_CALL_TIMEOUT_MS = 30_000;

export type VaultOperation =
  'get' | 'list-versions' | 'create' | 'update-policy' | 'disable-version' | 'delete';

/** Called after every vault call: outcome is the HTTP status ("200", "429", …) or "error" when unreached. */
export type VaultCallObserver = (operation: VaultOperation, outcome: string, seconds: number) => void;

export interface VaultKey {
  /** Versioned key id (`https://…/keys/<name>/<version>`). */
  id: string;
  name: string;
  version: string;
  createdOn: Date | undefined;
  exportable: boolean;
  enabled: boolean;
  keyType: string;
  /** The release policy the vault holds for this version; undefined when none or unreadable. */
  policy: ReleasePolicy | undefined;
  /** What the version's owner tags say (core/ownership). */
  owner: TaggedOwner | undefined;
}

export interface KeyVaultOptions {
  client: KeyClient;
  observe?: VaultCallObserver;
  /** Deadline of one call; VAULT_CALL_TIMEOUT_MS when absent. */
  callTimeoutMs?: number;
}

function toVaultKey(key: KeyVaultKey): VaultKey {
  const p = key.properties;
  let policy: ReleasePolicy | undefined;
  const bytes = p.releasePolicy?.encodedPolicy;
  if (bytes !== undefined) {
    try {
      policy = parsePolicyJson(Buffer.from(bytes).toString('utf8'));
    } catch {
      // A policy we cannot read (written by someone else) never equals ours, so it gets rewritten.
      policy = undefined;
    }
  }
  return {
    id: key.id ?? '',
    name: key.name,
    version: p.version ?? '',
    createdOn: p.createdOn,
    exportable: p.exportable === true,
    // The service omits `enabled` only for enabled versions.
    enabled: p.enabled !== false,
    keyType: String(key.keyType ?? ''),
    policy,
    owner: ownerFromTags(p.tags),
  };
}

function toVersionFacts(p: KeyProperties): KeyVersionFacts {
  return {
    version: p.version ?? '',
    createdOn: p.createdOn,
    enabled: p.enabled !== false,
    owner: ownerFromTags(p.tags),
  };
}

function statusOf(err: unknown): string {
  if (err instanceof VaultCallError && err.kind === 'timeout') return 'timeout';
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? String(status) : 'error';
}

export class KeyVault {
  readonly url: string;
  private readonly client: KeyClient;
  private readonly observe: VaultCallObserver;
  private readonly timeoutMs: number;

  constructor(o: KeyVaultOptions) {
    this.client = o.client;
    this.url = o.client.vaultUrl;
    this.observe = o.observe ?? (() => {});
    this.timeoutMs = o.callTimeoutMs ?? VAULT_CALL_TIMEOUT_MS;
  }

  private async call<T>(
    op: VaultOperation,
    what: string,
    fn: (abortSignal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const started = performance.now();
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new VaultCallError(
          'timeout',
          `${what} at ${this.url}: no answer within ${this.timeoutMs / 1000}s`,
          { hint: vaultHint('timeout') as string },
        );
        abort.abort(err);
        reject(err);
      }, this.timeoutMs);
    });
    try {
      const result = await Promise.race([fn(abort.signal), deadline]);
      this.observe(op, '200', (performance.now() - started) / 1000);
      return result;
    } catch (err) {
      this.observe(op, statusOf(err), (performance.now() - started) / 1000);
      throw classifyVaultError(`${what} at ${this.url}`, abort.signal.aborted ? abort.signal.reason : err);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The current version of `name`, or undefined when the vault has no such (non-deleted) key. */
  async getKey(name: string): Promise<VaultKey | undefined> {
    try {
      return await this.call('get', `reading key ${name}`, async (abortSignal) =>
        toVaultKey(await this.client.getKey(name, { abortSignal })),
      );
    } catch (err) {
      if (err instanceof VaultCallError && err.kind === 'not-found') return undefined;
      throw err;
    }
  }

  /** Every version of `name` with what decides its ownership; empty when there is no such key. */
  async listVersions(name: string): Promise<KeyVersionFacts[]> {
    try {
      return await this.call('list-versions', `listing the versions of key ${name}`, async (abortSignal) => {
        const versions: KeyVersionFacts[] = [];
        for await (const p of this.client.listPropertiesOfKeyVersions(name, { abortSignal })) {
          versions.push(toVersionFacts(p));
        }
        return versions;
      });
    } catch (err) {
      if (err instanceof VaultCallError && err.kind === 'not-found') return [];
      throw err;
    }
  }

  /**
   * Creates the key, or a new version of it when it exists (Azure's create is "add a version", never a
   * conflict): exportable, HSM-protected, with `policyJson` as its release policy.
   */
  async createKey(spec: KeySpec, policyJson: string, owner: KeyOwner): Promise<VaultKey> {
    const options = {
      exportable: true,
      // Tags belong to a version: every version the operator makes carries its owner.
      tags: ownerTags(owner),
      releasePolicy: { encodedPolicy: new TextEncoder().encode(policyJson), immutable: false },
      ...(spec.size === undefined ? {} : { keySize: spec.size }),
      ...(spec.curve === undefined ? {} : { curve: spec.curve }),
      ...(spec.operations === undefined ? {} : { keyOps: spec.operations }),
    };
    return this.call('create', `creating key ${spec.name} (${spec.type})`, async (abortSignal) =>
      toVaultKey(await this.client.createKey(spec.name, spec.type, { ...options, abortSignal })),
    );
  }

  /** Replaces the release policy of one version. */
  async setReleasePolicy(name: string, version: string, policyJson: string): Promise<VaultKey> {
    return this.call(
      'update-policy',
      `updating the release policy of key ${name}/${version}`,
      async (abortSignal) =>
        toVaultKey(
          await this.client.updateKeyProperties(name, version, {
            releasePolicy: { encodedPolicy: new TextEncoder().encode(policyJson), immutable: false },
            abortSignal,
          }),
        ),
    );
  }

  /** Disables one version: the vault then refuses to release it. */
  async disableVersion(name: string, version: string): Promise<VaultKey> {
    return this.call('disable-version', `disabling key ${name}/${version}`, async (abortSignal) =>
      toVaultKey(await this.client.updateKeyProperties(name, version, { enabled: false, abortSignal })),
    );
  }

  /** Deletes the key (soft delete: recoverable for the vault's retention period). Gone already is fine. */
  async deleteKey(name: string): Promise<void> {
    try {
      await this.call('delete', `deleting key ${name}`, async (abortSignal) => {
        await this.client.beginDeleteKey(name, { intervalInMs: 500, abortSignal });
      });
    } catch (err) {
      if (err instanceof VaultCallError && err.kind === 'not-found') return;
      throw err;
    }
  }
}
