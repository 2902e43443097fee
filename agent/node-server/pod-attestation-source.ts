/**
 * SIMULATORS AND TESTS ONLY: a KeySource that releases through pod mode's path — an SEV-SNP report
 * bound to a runtime key, Azure Attestation's SevSnpVm token, a Key Vault release wrapped to that key,
 * verified and unwrapped as the agent does (agent/flow.ts). It lets the node agent run against the
 * sandbox before the confidential-VM source (AzureGuest through the vTPM, TPM-bound unwrap) exists; on
 * a real node it has no SEV-SNP guest device to use, and it refuses to start without simulators.
 *
 * One runtime key for the process, one attestation token per authority reused until shortly before it
 * expires (ReusedToken), one Key Vault client per vault sharing one credential.
 */
import { vaultPlaintext } from '../../core/keys/key-material.ts';
import { parseReport } from '../../core/snp/index.ts';
import { attest } from '../attest.ts';
import { retryAtOf } from '../retry.ts';
import type { AgentConfig } from '../config.ts';
import { AgentError } from '../errors.ts';
import { attesterFor } from '../evidence/select.ts';
import { ThimClient } from '../evidence/thim.ts';
import { resolveVcekChain } from '../evidence/vcek-chain.ts';
import { releaseKey } from '../release/release-key.ts';
import { generateRuntimeKey, type RuntimeKey } from '../runtime-key.ts';
import { unwrapRelease } from '../unwrap.ts';
import { KeySourceError, keySpecOf, type KeyRef, type KeySource, type ReleasedKey } from './key-source.ts';
import { ReusedToken, tokenExpiry } from '../reused-token.ts';
import { VaultAccess } from './vault-access.ts';
import { identityName } from '../identity.ts';

const RELEASE_DEADLINE_MS = 20_000;

export class PodAttestationKeySource implements KeySource {
  readonly name = 'pod-attestation (simulators only)';
  private readonly config: AgentConfig;
  private readonly runtime: Promise<RuntimeKey>;
  private readonly tokens = new Map<string, ReusedToken>();
  private readonly vault: VaultAccess;

  constructor(config: AgentConfig) {
    if (!config.simulators) {
      throw new AgentError(
        'config-invalid',
        'the pod-attestation key source is for simulators only (SECUREKEY_SIMULATORS=true)',
        { step: 'config' },
      );
    }
    this.config = config;
    this.vault = new VaultAccess(config);
    this.runtime = generateRuntimeKey();
    this.runtime.catch(() => {}); // surfaces in release
  }

  async release(ref: KeyRef, o: { signal: AbortSignal }): Promise<ReleasedKey> {
    const spec = keySpecOf(ref);
    const deadline = Date.now() + RELEASE_DEADLINE_MS;
    try {
      const runtime = await this.runtime;
      const caPem = await this.vault.ca();
      const token = await this.tokenFor(ref.authority, runtime, caPem).get();
      const release = await releaseKey(spec, this.vault.client(ref.vaultUrl, caPem, deadline), token, {
        enc: this.config.releaseEnc,
        trustRoots: await this.vault.trustRoots(),
        hostData: '(the node agent’s)',
        clientId: identityName(this.config.identity),
        admissionDeadline: 0,
        signal: o.signal,
        now: () => new Date(),
      });
      const { material, kid, keyOps } = unwrapRelease(spec, release, runtime);
      return { kid, kty: release.kty, plaintext: vaultPlaintext(material), keyOps };
    } catch (err) {
      throw asKeySourceError(err);
    }
  }

  private tokenFor(authority: string, runtime: RuntimeKey, caPem: string | undefined): ReusedToken {
    let token = this.tokens.get(authority);
    if (token === undefined) {
      token = new ReusedToken(async () => {
        const deadline = Date.now() + RELEASE_DEADLINE_MS;
        const ca = caPem === undefined ? {} : { caPem };
        const attester = await attesterFor(this.config, { ...ca, deadline });
        try {
          const evidence = await attester.report(runtime.reportData);
          parseReport(evidence.report); // a malformed report fails here, not at the authority
          const chain = await resolveVcekChain(evidence, {
            mode: this.config.vcekSource,
            thim: new ThimClient({ url: this.config.thimUrl, ...ca, deadline }),
            ...(this.config.kdsUrl ? { kds: { url: this.config.kdsUrl, ...ca } } : {}),
          });
          const jwt = await attest({
            attestationUrl: authority,
            report: evidence.report,
            vcekChainPem: chain.pem,
            runtimeData: runtime.runtimeData,
            ...(evidence.uvmReferenceInfo ? { uvmReferenceInfo: evidence.uvmReferenceInfo.cose } : {}),
            ...ca,
            deadline,
          });
          return { token: jwt, expiresAt: tokenExpiry(jwt) };
        } finally {
          await attester.close?.();
        }
      });
      this.tokens.set(authority, token);
    }
    return token;
  }
}

/** The agent's failures as the node agent's retry classes: throttled, unavailable, refused, not found. */
export function asKeySourceError(err: unknown): KeySourceError {
  if (err instanceof KeySourceError) return err;
  const message = (err as Error).message ?? String(err);
  const retryAt = retryAtOf(err);
  if (retryAt !== undefined) return new KeySourceError('throttled', message, { retryAt, cause: err });
  if (err instanceof AgentError) {
    const kind =
      err.kind === 'key-not-found'
        ? 'not-found'
        : err.kind === 'attestation-unavailable' ||
            err.kind === 'certificates-unavailable' ||
            err.kind === 'release-failed' ||
            err.kind === 'deadline-exceeded'
          ? 'unavailable'
          : 'refused';
    return new KeySourceError(kind, message, { cause: err, ...(err.hint ? { hint: err.hint } : {}) });
  }
  return new KeySourceError('unavailable', message, { cause: err });
}
