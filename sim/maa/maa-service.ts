/**
 * The simulated attestation provider without HTTP: attest a SEV-SNP request into a token, and the
 * discovery documents relying parties use to verify it.
 */
import { sealAzureGuestToken } from '../../core/azure-guest/index.ts';
import { toCertificate, type AttestationReport, type CertificateSource } from '../../core/snp/index.ts';
import type { SimulatorCa } from '../common/tls.ts';
import { DENY_DEBUG_POLICY, PERMIT_ALL_POLICY, policyHashClaim } from './attestation-policy.ts';
import crypto, { type X509Certificate } from 'node:crypto';
import { MaaError } from './errors.ts';
import { verifiedUvmEndorsement } from './uvm-endorsement.ts';
import {
  sevSnpVmClaims,
  tokenClaims,
  type Claims,
  type ClaimContext,
  type ComplianceRule,
  type TcbClaimSource,
} from './claims.ts';
import { azureGuestClaims, nonceMemory, verifyAzureGuest } from './azure-guest.ts';
import { verifyEvidence } from './evidence.ts';
import { parseAttestRequest } from './request.ts';
import { SigningKeys, signToken, type Jwk } from './signing-keys.ts';
import { sortedJson } from '../../core/keys/sorted-json.ts';
import { trustedArks, type TrustedArks } from './trusted-arks.ts';

/** What an AKS confidential-containers (Kata) pod's token says (Microsoft's published example token). */
export const DEFAULT_COMPLIANCE_STATUS = 'azure-signed-katacc-uvm';
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 8 * 3600;

export interface MaaServiceOptions {
  ca: SimulatorCa;
  /** The `iss` of tokens and the base of `jku` / `jwks_uri`; a trailing slash is dropped. */
  issuer: string;
  /** ARK certificates to trust, any products (each names its own). Default: none — nothing verifies. */
  trustedArks?: readonly CertificateSource[];
  /**
   * `x-ms-compliance-status` of a request whose UVM endorsement verifies. Default
   * `azure-signed-katacc-uvm`; `null` leaves the claim out. Without a valid endorsement there is none.
   */
  complianceStatus?: ComplianceRule;
  /**
   * Roots a UVM endorsement's x5chain must end at (real MAA: Microsoft's supply-chain root; simulators:
   * sim/uvm's `simulatedUvmSigningRoot()`). Default none: no endorsement verifies, no status is issued.
   */
  uvmSigningRoots?: readonly CertificateSource[];
  /** Deny reports with POLICY.DEBUG set (PolicyEvaluationError). Default false, as MAA's default policy. */
  refuseDebug?: boolean;
  /** Default 8 h. */
  tokenLifetimeSeconds?: number;
  /** Which TCB the SVN claims come from. Default `reported`. */
  tcbClaims?: TcbClaimSource;
  /** Policy text behind `x-ms-policy-hash`; default permit-all, or deny-debug with `refuseDebug`. */
  policyText?: string;
  extraClaims?: Claims | ((context: ClaimContext) => Claims);
  /** Milliseconds since the epoch. Default Date.now. */
  now?: () => number;
  /** AzureGuest: the vTPM CA the AK certificate must be issued by. Default none (the AK certificate must certify the AK, nothing more). */
  vtpmCa?: CertificateSource;
  /** AzureGuest: whether a verified CVM is `azure-compliant-cvm`; a false answer refuses it. Default: every genuine, non-debuggable one. */
  cvmCompliance?: (report: AttestationReport, runtime: Record<string, unknown>) => boolean;
}

export class MaaService {
  readonly issuer: string;
  readonly signingKeys: SigningKeys;
  readonly #trusted: TrustedArks;
  readonly #uvmRoots: readonly X509Certificate[];
  readonly #o: MaaServiceOptions;
  readonly #policyHash: string;
  readonly #firstUse = nonceMemory();

  constructor(options: MaaServiceOptions) {
    this.#o = options;
    this.issuer = options.issuer.replace(/\/+$/, '');
    this.#trusted = trustedArks(options.trustedArks ?? []);
    this.#uvmRoots = (options.uvmSigningRoots ?? []).map((c, i) => {
      try {
        return toCertificate(c, `UVM signing root ${i}`);
      } catch (cause) {
        throw new MaaError(
          'InvalidParameter',
          'bad-configuration',
          `UVM signing root ${i} is not one certificate`,
          {
            cause,
          },
        );
      }
    });
    this.#policyHash = policyHashClaim(
      options.policyText ?? (options.refuseDebug === true ? DENY_DEBUG_POLICY : PERMIT_ALL_POLICY),
    );
    this.signingKeys = new SigningKeys(options.ca, this.issuer);
  }

  get jwksUri(): string {
    return `${this.issuer}/certs`;
  }

  #nowMs(): number {
    return (this.#o.now ?? Date.now)();
  }

  /** `{token}` for a raw `POST /attest/SevSnpVm` body (api-version already checked). Throws MaaError. */
  attestSevSnpVm(body: Buffer): { token: string } {
    const request = parseAttestRequest(body);
    const nowMs = this.#nowMs();
    const { report, product } = verifyEvidence(request, {
      trustedArks: this.#trusted,
      refuseDebug: this.#o.refuseDebug === true,
      now: new Date(nowMs),
    });
    const context: ClaimContext = {
      report,
      product,
      hostData: report.hostData.toString('hex'),
      runtime: request.runtimeData?.json,
      request,
      uvmEndorsement: verifiedUvmEndorsement(request, report, {
        trustedRoots: this.#uvmRoots,
        now: new Date(nowMs),
      }),
    };
    const claims = tokenClaims(context, {
      issuer: this.issuer,
      nowSeconds: Math.floor(nowMs / 1000),
      lifetimeSeconds: this.#o.tokenLifetimeSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS,
      policyHash: this.#policyHash,
      compliance:
        this.#o.complianceStatus === undefined ? DEFAULT_COMPLIANCE_STATUS : this.#o.complianceStatus,
      tcbSource: this.#o.tcbClaims ?? 'reported',
      extraClaims: this.#o.extraClaims,
    });
    return { token: signToken(sortedJson(claims), this.signingKeys.current, this.jwksUri) };
  }

  /**
   * `{token}` for a raw `POST /attest/AzureGuest` body: the claim set of Microsoft's CVM sample token,
   * sealed to the request's certified TPM key. Throws MaaError.
   */
  attestAzureGuest(body: Buffer): { token: string } {
    const nowMs = this.#nowMs();
    const o = this.#o;
    const verified = verifyAzureGuest(body, {
      trustedArks: this.#trusted,
      now: new Date(nowMs),
      akCa: o.vtpmCa === undefined ? undefined : toCertificate(o.vtpmCa, 'vtpmCa'),
      firstUse: this.#firstUse,
      compliant: o.cvmCompliance ?? (() => true),
    });
    const nowSeconds = Math.floor(nowMs / 1000);
    const isolationTee = {
      'x-ms-attestation-type': 'sevsnpvm',
      'x-ms-compliance-status': 'azure-compliant-cvm',
      'x-ms-runtime': verified.runtime,
      ...sevSnpVmClaims(verified.report, verified.product, o.tcbClaims ?? 'reported'),
    };
    const claims = {
      exp: nowSeconds + (o.tokenLifetimeSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS),
      iat: nowSeconds,
      nbf: nowSeconds,
      iss: this.issuer,
      jti: crypto.randomBytes(32).toString('hex'),
      ...azureGuestClaims(verified, isolationTee),
      'x-ms-policy-hash': this.#policyHash,
      'x-ms-ver': '1.0',
    };
    const jwt = signToken(sortedJson(claims), this.signingKeys.current, this.jwksUri);
    return { token: sealAzureGuestToken(jwt, verified.encryptionKey) };
  }

  jwks(): { keys: Jwk[] } {
    return this.signingKeys.jwks();
  }

  /** `/.well-known/openid-configuration`, as MAA's (plus `issuer`, which AKV-style clients look for). */
  openIdConfiguration(): Record<string, unknown> {
    return {
      claims_supported: CLAIMS_SUPPORTED,
      id_token_signing_alg_values_supported: ['RS256'],
      issuer: this.issuer,
      jwks_uri: this.jwksUri,
      response_types_supported: ['token', 'none'],
      revocation_endpoint: `${this.issuer}/revoke`,
    };
  }
}

/** The claims this simulator issues. */
const CLAIMS_SUPPORTED = [
  'x-ms-attestation-type',
  'x-ms-compliance-status',
  'x-ms-policy-hash',
  'x-ms-runtime',
  'x-ms-inittime',
  'x-ms-sevsnpvm-authorkeydigest',
  'x-ms-sevsnpvm-bootloader-svn',
  'x-ms-sevsnpvm-familyId',
  'x-ms-sevsnpvm-guestsvn',
  'x-ms-sevsnpvm-hostdata',
  'x-ms-sevsnpvm-idkeydigest',
  'x-ms-sevsnpvm-imageId',
  'x-ms-sevsnpvm-is-debuggable',
  'x-ms-sevsnpvm-launchmeasurement',
  'x-ms-sevsnpvm-microcode-svn',
  'x-ms-sevsnpvm-migration-allowed',
  'x-ms-sevsnpvm-reportdata',
  'x-ms-sevsnpvm-reportid',
  'x-ms-sevsnpvm-smt-allowed',
  'x-ms-sevsnpvm-snpfw-svn',
  'x-ms-sevsnpvm-tee-svn',
  'x-ms-sevsnpvm-uvm-endorsement',
  'x-ms-sevsnpvm-uvm-endorsement-headers',
  'x-ms-sevsnpvm-vmpl',
  'x-ms-ver',
];
