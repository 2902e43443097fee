/**
 * The mock PSP for clusters (docs/design.md, "Simulated mode"): it plays the host of every confidential pod.
 * A pod proves who it is with its service-account token; the PSP reads *that* pod's policy
 * annotation, computes its digest with the same function the operator uses, and pins it as HOST_DATA
 * of the pod's "launch" — the first report it signs for that pod uid. The pod supplies only
 * REPORT_DATA (and VMPL), so it cannot choose HOST_DATA, as on real hardware; a later edit of the
 * annotation does not change a launched pod's HOST_DATA either.
 *
 * Like a Confidential ACI or AKS Kata host, it also hands the pod its UVM's signed reference info
 * (`referenceInfo`, what the host's `reference-info-base64` holds), for the launch measurement of the
 * pod's report, signed by the simulated UVM signing root (sim/uvm).
 */
import type { PolicyScheme } from '../../core/api/securekey.generated.ts';
import {
  DigestError,
  detectPolicyScheme,
  policyDigest,
  POLICY_ANNOTATIONS,
} from '../../core/digest/index.ts';
import {
  ReportSigner,
  type FakeAmd,
  type LaunchConfig,
  type SignerOptions,
  type ThimCertification,
} from '../amd/index.ts';
import { parseReport } from '../../core/snp/index.ts';
import { referenceInfoFileContent } from '../uvm/index.ts';
import { PspError, type PspErrorKind } from './errors.ts';
import type { PodIdentity, PodIdentityResolver } from './pod-identity.ts';
import { parseReportRequest } from './report-request.ts';

export interface PspServiceOptions {
  readonly amd: FakeAmd;
  readonly resolver: PodIdentityResolver;
  /** The scheme whose annotation holds a pod's policy; default detected per pod. */
  readonly policyScheme?: PolicyScheme;
  /** Launch settings every pod gets besides HOST_DATA (measurement, policy bits, ...). */
  readonly launch?: Omit<LaunchConfig, 'hostData'>;
  /** Platform settings (report version, TCBs, ...). */
  readonly signer?: SignerOptions;
  /** How many launched pods to remember; the oldest is forgotten first. Default 10 000. */
  readonly maxPods?: number;
  /**
   * Namespaces whose pods get reports; all when absent. The mock enforces no policy inside the "guest",
   * so anyone who may create pods can copy another pod's policy annotation and get its HOST_DATA: this
   * limit is simulated mode's only isolation (docs/threat-model.md; the README and the chart say so).
   */
  readonly allowedNamespaces?: readonly string[];
}

/** What a pod gets back: its report and, THIM-style, the VCEK chain that verifies it. */
export interface PspReport extends ThimCertification {
  /** The 0x4A0-byte ATTESTATION_REPORT, base64. */
  readonly report: string;
  /** HOST_DATA as pinned (64 hex), for logs; the report is authoritative. */
  readonly hostData: string;
  readonly policy: { readonly scheme: PolicyScheme; readonly annotation: string };
  readonly pod: { readonly namespace: string; readonly name: string; readonly uid: string };
  /** The UVM reference info for the report's MEASUREMENT: standard base64 of a COSE_Sign1, as the host's file. */
  readonly referenceInfo: string;
}

interface Launch {
  readonly signer: ReportSigner;
  readonly scheme: PolicyScheme;
  readonly annotation: string;
  /** Signed at the first report (the launch measurement is the report's). */
  referenceInfo?: string;
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

export class PspService {
  readonly amd: FakeAmd;
  readonly #options: PspServiceOptions;
  readonly #launches = new Map<string, Launch>();
  readonly #issued = new Map<string, number>();
  readonly #refused = new Map<PspErrorKind, number>();

  constructor(options: PspServiceOptions) {
    this.amd = options.amd;
    this.#options = options;
  }

  /** Reports signed so far, per `namespace/pod`. */
  reportsIssued(): Record<string, number> {
    return Object.fromEntries(this.#issued);
  }

  stats(): { reportsIssued: Record<string, number>; refused: Record<string, number>; launchedPods: number } {
    return {
      reportsIssued: this.reportsIssued(),
      refused: Object.fromEntries(this.#refused),
      launchedPods: this.#launches.size,
    };
  }

  /** Handles one request: the Authorization header and the parsed JSON body. Throws PspError. */
  async issue(authorization: string | undefined, body: unknown): Promise<PspReport> {
    try {
      return await this.#issue(authorization, body);
    } catch (err) {
      if (err instanceof PspError) this.#refused.set(err.kind, (this.#refused.get(err.kind) ?? 0) + 1);
      throw err;
    }
  }

  async #issue(authorization: string | undefined, body: unknown): Promise<PspReport> {
    const token = BEARER.exec(authorization ?? '')?.[1];
    if (!token) throw new PspError('unauthenticated', 'a bearer service-account token is required');
    const pod = await this.#options.resolver.resolve(token);
    const allowed = this.#options.allowedNamespaces;
    if (allowed !== undefined && !allowed.includes(pod.namespace)) {
      throw new PspError(
        'namespace-not-allowed',
        `pod ${pod.namespace}/${pod.podName}: this PSP serves only namespaces ${allowed.join(', ')}`,
      );
    }
    const request = parseReportRequest(body);
    const launch = this.#launch(pod);
    const report = launch.signer.sign({
      reportData: request.reportData,
      ...(request.vmpl === undefined ? {} : { vmpl: request.vmpl }),
    });
    const id = `${pod.namespace}/${pod.podName}`;
    this.#issued.set(id, (this.#issued.get(id) ?? 0) + 1);
    launch.referenceInfo ??= referenceInfoFileContent({ measurement: parseReport(report).measurement });
    return {
      report: report.toString('base64'),
      ...this.amd.thimCertification(launch.signer.vcek.tcb),
      hostData: launch.signer.hostData.toString('hex'),
      policy: { scheme: launch.scheme, annotation: launch.annotation },
      pod: { namespace: pod.namespace, name: pod.podName, uid: pod.podUid },
      referenceInfo: launch.referenceInfo,
    };
  }

  /** The pod's launch: HOST_DATA from its policy annotation, fixed the first time it is seen. */
  #launch(pod: PodIdentity): Launch {
    const known = this.#launches.get(pod.podUid);
    if (known) return known;
    const scheme = this.#options.policyScheme ?? detectPolicyScheme(pod.annotations);
    if (scheme === undefined) {
      throw new PspError(
        'bad-policy-annotation',
        `pod ${pod.namespace}/${pod.podName} carries none of the policy annotations ${Object.values(POLICY_ANNOTATIONS).join(', ')}`,
        { hint: 'generate the pod policy (e.g. az confcom katapolicygen) so the host can pin its digest' },
      );
    }
    let digest;
    try {
      digest = policyDigest(scheme, pod.annotations);
    } catch (err) {
      if (!(err instanceof DigestError)) throw err;
      throw new PspError('bad-policy-annotation', `pod ${pod.namespace}/${pod.podName}: ${err.message}`, {
        cause: err,
        ...(err.hint === undefined ? {} : { hint: err.hint }),
      });
    }
    const launch: Launch = {
      signer: new ReportSigner(
        this.amd,
        { ...this.#options.launch, hostData: Buffer.from(digest.digest, 'hex') },
        this.#options.signer,
      ),
      scheme,
      annotation: digest.annotation,
    };
    this.#launches.set(pod.podUid, launch);
    const max = this.#options.maxPods ?? 10_000;
    while (this.#launches.size > max) this.#launches.delete(this.#launches.keys().next().value!);
    return launch;
  }
}
