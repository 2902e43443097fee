/**
 * The agent's path, as a straight line (docs/design.md#the-agent): gather evidence → exchange it
 * for a token → release each key → unwrap → write. One attestation serves every key: one runtime key,
 * one report, one MAA token, then the releases in parallel. What does not depend on the line runs
 * beside it: the workload-identity token and (with THIM as the VCEK source) the certificates are
 * fetched while the runtime key is generated and the report is made.
 *
 * Start-up is part of the path (an init container is a fresh process): the runtime key is started
 * first, since it runs on libuv's pool, and the main thread's own work — reading the configured
 * files, parsing the trust roots, the vault's bearer challenge — happens while it is made and while MAA
 * answers, instead of before anything starts (bench/README.md).
 *
 * Every step is timed (for bench/), and every failure is an AgentError naming its step.
 */
import type { X509Certificate } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import type { TokenCredential } from '@azure/identity';
import { isErrorOf } from '../core/errors.ts';
import { parseReport } from '../core/snp/index.ts';
import { parsePemCertificates } from '../core/x509/index.ts';
import { vaultRootCertificates } from '../core/release/vault-roots.ts';
// The release as one REST call, not the Key Vault SDK (ADR 53); the identity is the agent's own (ADR 18).
import { keyReleaseClientFor, type KeyReleaseClient } from '../edge/azure/key-release.ts';
import { HttpError } from '../edge/http/client.ts';
import { silentLogger, type Logger } from '../edge/log/log.ts';
import { attestEach, requireComplianceStatus } from './attest.ts';
import { readConfigPem, type AgentConfig } from './config.ts';
import { AgentError } from './errors.ts';
import type { Attester, Evidence } from './evidence/attester.ts';
import { attesterFor } from './evidence/select.ts';
import { ThimClient } from './evidence/thim.ts';
import { readUvmHostCertification, readUvmReferenceInfo } from './evidence/uvm-context.ts';
import { resolveVcekChain, type ChainOrigin } from './evidence/vcek-chain.ts';
import { agentCredential, identityName, PrefetchingCredential, vaultScope } from './identity.ts';
import { releaseKey } from './release/release-key.ts';
import type { VerifiedRelease } from '../core/release/verify-release.ts';
import { tokenExpiry, type Reused } from './reused-token.ts';
import { generateRuntimeKey, type RuntimeKey } from './runtime-key.ts';
import { writeKeys, type WrittenKey } from './sink/key-files.ts';
import { Timeline, type StepTiming } from './timeline.ts';
import { unwrapRelease, type UnwrappedKey } from './unwrap.ts';

export interface AgentDeps {
  /** Evidence source; default the configured backend. */
  attester?: Attester;
  /** Vault credential; default workload identity from the configuration. */
  credential?: TokenCredential;
  /** Progress lines; default none. */
  log?: Logger;
  now?: () => Date;
  /** A sidecar's refresh: the keys on disk stay valid meanwhile, so the readiness marker stays too. */
  refresh?: boolean;
  /**
   * Started by the caller on `timeline` (main.ts starts both before it loads this module, so the key
   * is made while the modules load). Default: a timeline and a key started here.
   */
  timeline?: Timeline;
  runtimeKey?: Promise<RuntimeKey>;
  /**
   * A sidecar's attestation, kept across its rounds: while its tokens are valid (minus a margin) the
   * evidence, certificates and attestation steps are skipped and the keys are released with them.
   */
  attestation?: Reused<PodAttestation>;
  /** The keys once unwrapped and verified, before they are written (the sidecar's SKR API holds them). */
  onUnwrapped?: (keys: readonly UnwrappedKey[]) => void;
}

/** What steps 1 and 2 yield: the tokens per authority, bound to `runtime`, and what the report said. */
export interface PodAttestation {
  tokens: Map<string, string>;
  runtime: RuntimeKey;
  hostData: string;
  evidenceSource: string;
  chainOrigin: ChainOrigin;
  /** The earliest of the tokens' expiries (epoch ms). */
  expiresAt: number;
}

export interface AgentResult {
  /** The files written, each with its version's creation time when the vault said. */
  keys: (WrittenKey & { createdAt?: number })[];
  /** The pod's HOST_DATA (its policy digest), hex. */
  hostData: string;
  evidenceSource: string;
  chainOrigin: ChainOrigin;
  timings: StepTiming[];
  /** From the timeline's origin to the files written. */
  totalMs: number;
  /** The timeline's origin, in ms since the process started. */
  originMs: number;
}

/** Retries for vault calls (5xx, network); a 429/503's Retry-After is obeyed up to the deadline. */
const AZURE_RETRIES = { maxRetries: 3, retryDelayInMs: 250, maxRetryDelayInMs: 4_000 };

export async function runAgent(config: AgentConfig, deps: AgentDeps = {}): Promise<AgentResult> {
  const timeline = deps.timeline ?? new Timeline();
  // First, as it is the longest step and leaves the main thread free for everything below.
  const runtimeKey = deps.runtimeKey ?? timeline.time('runtime-key', generateRuntimeKey);
  runtimeKey.catch(() => {}); // surfaces where it is awaited
  const deadline = Date.now() + config.timeoutMs;
  const signal = AbortSignal.timeout(config.timeoutMs);
  const now = deps.now ?? (() => new Date());
  const log = deps.log ?? silentLogger;
  // A marker from an earlier attempt must not say "ready" while this one runs.
  if (!deps.refresh) await unlink(config.readyFile).catch(() => {});
  const caPem =
    config.caPem ?? (config.caFile === undefined ? undefined : await readConfigPem(config.caFile, 'caFile'));
  const ca = caPem === undefined ? {} : { caPem };
  // Configured trust roots are the user's input: a bad one fails now, before a report and an MAA call are
  // spent on every kubelet retry. Without them the pinned vault roots are used.
  const trustRoots = await releaseTrustRoots(config);
  let attester: Attester | undefined;
  try {
    // Meanwhile: the identity token, and THIM's certificates when they are the source.
    const credential = new PrefetchingCredential(
      deps.credential ?? agentCredential(config.identity, { ...ca, deadline }),
    );
    const vaults = unique(config.keys.map((k) => k.vaultUrl));
    const identity = settle(
      timeline.time('identity-token', () => credential.prefetch(unique(vaults.map(vaultScope)))),
    );
    // One client per vault, and each vault's bearer challenge (its 401 to a first request without a body)
    // answered now, beside the evidence and MAA: the releases are then one round trip each (ADR 53).
    const clients = new Map<string, KeyReleaseClient>();
    for (const key of config.keys) {
      if (clients.has(key.vaultUrl)) continue;
      const client = keyReleaseClientFor({
        vaultUrl: key.vaultUrl,
        credential,
        ...ca,
        retryOptions: AZURE_RETRIES,
        deadline,
      });
      clients.set(key.vaultUrl, client);
      void timeline.time(`vault-challenge:${new URL(key.vaultUrl).hostname}`, () =>
        client.prepare({ name: key.name, ...(key.version === undefined ? {} : { version: key.version }) }),
      );
    }

    const authorities = unique(config.keys.map((k) => k.attestationUrl));
    const attestPod = async (): Promise<PodAttestation> => {
      const thim = new ThimClient({ url: config.thimUrl, ...ca, deadline });
      const prefetched =
        config.vcekSource === 'thim'
          ? timeline.time('certificates-prefetch', () => thim.certification())
          : undefined;
      prefetched?.catch(() => {}); // surfaces in the certificates step
      const uvm = config.uvmSecurityContextDir
        ? readUvmHostCertification(config.uvmSecurityContextDir)
        : Promise.resolve(undefined);
      uvm.catch(() => {}); // surfaces in the certificates step
      // The UVM endorsement, where the platform puts it (else the evidence source's, below).
      const reference = readUvmReferenceInfo(
        config.uvmSecurityContextDir === undefined ? {} : { dir: config.uvmSecurityContextDir },
      );
      reference.catch(() => {}); // surfaces in the evidence step
      attester = deps.attester ?? (await attesterFor(config, { ...ca, deadline }));
      // 1. Gather evidence.
      const runtime = await runtimeKey;
      const evidence = await timeline.time('evidence', () => attester!.report(runtime.reportData));
      const hostData = hostDataOf(evidence);
      const { found, searched } = await reference;
      const uvmReferenceInfo = found ?? evidence.uvmReferenceInfo;
      log.info('evidence', {
        source: evidence.source,
        hostData,
        uvmReferenceInfo: uvmReferenceInfo?.source ?? null,
      });
      const uvmCert = await uvm;
      const chain = await timeline.time('certificates', () =>
        resolveVcekChain(evidence, {
          mode: config.vcekSource,
          thim,
          ...(prefetched ? { prefetched } : {}),
          ...(uvmCert ? { uvm: uvmCert } : {}),
          ...(config.kdsUrl ? { kds: { url: config.kdsUrl, ...ca } } : {}),
        }),
      );
      log.info('certificates', { origin: chain.origin, reportedTcb: chain.reportedTcb });

      // 2. Exchange the evidence for an attestation token (one per authority; normally there is one).
      const attestation = timeline.time('attestation', () =>
        attestEach(
          authorities,
          {
            report: evidence.report,
            vcekChainPem: chain.pem,
            runtimeData: runtime.runtimeData,
            ...(uvmReferenceInfo === undefined ? {} : { uvmReferenceInfo: uvmReferenceInfo.cose }),
            ...ca,
            deadline,
          },
          timeline,
        ),
      );
      attestation.catch(() => {}); // surfaces where it is awaited
      const tokens = await attestation;
      requireComplianceStatus(tokens, { sentFrom: uvmReferenceInfo?.source, searched });
      log.info('attested', { authorities });
      return {
        tokens,
        runtime,
        hostData,
        evidenceSource: evidence.source,
        chainOrigin: chain.origin,
        expiresAt: Math.min(...[...tokens.values()].map((t) => tokenExpiry(t))),
      };
    };
    // A kept attestation serves only if it covers every authority these keys name.
    const kept = deps.attestation?.valid();
    if (kept !== undefined && !authorities.every((a) => kept.tokens.has(a))) deps.attestation?.invalidate();
    const attested = deps.attestation ? await deps.attestation.value(attestPod) : await attestPod();
    const { tokens, runtime, hostData } = attested;

    // 3. Release every key with that token, in parallel.
    const identityResult = await identity;
    if (!identityResult.ok) throw identityFailure(identityResult.error, config);
    const context = {
      enc: config.releaseEnc,
      trustRoots,
      hostData,
      clientId: identityName(config.identity),
      admissionDeadline: Math.min(deadline, Date.now() + config.admissionWaitMs),
      signal,
      now,
    };
    const releases = await timeline.time('release', () =>
      allOrFirstError(
        config.keys.map((key) =>
          timeline.time(`release:${key.alias}`, () =>
            releaseKey(key, clients.get(key.vaultUrl)!, tokens.get(key.attestationUrl)!, context),
          ),
        ),
        log,
      ),
    );
    log.info('released', { keys: config.keys.map((k) => k.alias) });

    // 4. Unwrap each key with the runtime key.
    const unwrapped = await timeline.time('unwrap', () =>
      config.keys.map((key, i) => unwrapRelease(key, releases[i] as VerifiedRelease, runtime)),
    );

    deps.onUnwrapped?.(unwrapped);

    // 5. Write each key, then the readiness marker.
    const keys = await timeline.time('write', () =>
      writeKeys(unwrapped, {
        readyFile: config.readyFile,
        fileMode: config.fileMode,
        ...(config.fileOwner === undefined ? {} : { owner: config.fileOwner }),
      }),
    );
    return {
      keys: keys.map((k, i) => {
        const createdAt = (releases[i] as VerifiedRelease).createdAt;
        return createdAt === undefined ? k : { ...k, createdAt };
      }),
      hostData,
      evidenceSource: attested.evidenceSource,
      chainOrigin: attested.chainOrigin,
      timings: timeline.entries(),
      totalMs: timeline.elapsed(),
      originMs: timeline.originMs,
    };
  } finally {
    await attester?.close?.();
  }
}

/** The roots the release JWS must chain to: the configured ones, else the pinned vault roots. */
export async function releaseTrustRoots(
  config: Pick<AgentConfig, 'releaseTrustRootsPem' | 'releaseTrustRootsFile'>,
): Promise<X509Certificate[]> {
  const pem =
    config.releaseTrustRootsPem ??
    (config.releaseTrustRootsFile === undefined
      ? undefined
      : await readConfigPem(config.releaseTrustRootsFile, 'releaseTrustRoots'));
  if (pem === undefined) return vaultRootCertificates();
  try {
    return parsePemCertificates(pem);
  } catch (err) {
    throw new AgentError('config-invalid', `SECUREKEY_RELEASE_TRUST_ROOTS: ${(err as Error).message}`, {
      step: 'config',
      ...(config.releaseTrustRootsFile === undefined ? {} : { endpoint: config.releaseTrustRootsFile }),
      cause: err,
    });
  }
}

function hostDataOf(evidence: Evidence): string {
  try {
    return parseReport(evidence.report).hostData.toString('hex');
  } catch (err) {
    throw new AgentError('evidence-malformed', `the report is malformed: ${(err as Error).message}`, {
      step: 'evidence',
      endpoint: evidence.source,
      cause: err,
    });
  }
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** A promise that never rejects (so a failure waits for its step instead of being unhandled). */
function settle<T>(p: Promise<T>): Promise<Settled<T>> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/** Waits for every release; throws the first failure after logging the others. */
async function allOrFirstError<T>(promises: Promise<T>[], log: Logger): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failures.length === 0) return results.map((r) => (r as PromiseFulfilledResult<T>).value);
  for (const f of failures.slice(1)) {
    const e = f.reason as Partial<AgentError>;
    log.error('release failed', { key: e.key, kind: e.kind, message: e.message });
  }
  throw failures[0]!.reason;
}

function identityFailure(error: unknown, config: AgentConfig): AgentError {
  if (error instanceof AgentError) return error;
  const id = config.identity;
  const endpoint =
    id.kind === 'managed' ? id.imdsUrl : (id.authorityHost ?? 'https://login.microsoftonline.com');
  if (isErrorOf(error, HttpError, 'retry-after-deadline')) {
    return new AgentError('deadline-exceeded', `the vault token: ${error.message}`, {
      step: 'release',
      endpoint,
      cause: error,
      ...(error.hint === undefined ? {} : { hint: error.hint }),
    });
  }
  return new AgentError(
    'identity-not-allowed',
    `the ${id.kind} identity ${identityName(id)} could not get a vault token: ${(error as Error).message.split('\n')[0]}`,
    {
      step: 'release',
      endpoint,
      cause: error,
      hint:
        id.kind === 'managed'
          ? 'assign the managed identity to the container group (VN2: the pod annotation microsoft.containerinstance.virtualnode.identity), or name it with SECUREKEY_MANAGED_IDENTITY'
          : `check the federated credential for this service account and the token file ${id.tokenFile}`,
    },
  );
}
