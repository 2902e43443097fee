import { normaliseAuthority } from './authority.ts';
import {
  COMPLIANCE_STATUS_CLAIM,
  CVM_ATTESTATION_TYPE_CLAIM,
  CVM_COMPLIANCE_STATUS_CLAIM,
  CVM_IS_DEBUGGABLE_CLAIM,
  HOSTDATA_CLAIM,
  IS_DEBUGGABLE_CLAIM,
  ISOLATION_TEE_CLAIM,
  SEVSNP_ATTESTATION_TYPE,
} from './claims.ts';
import { serializePolicy } from './encoding.ts';
import { ReleasePolicyError } from './errors.ts';
import { MAX_POLICY_BYTES, MAX_POLICY_DIGESTS } from './limits.ts';
import { BUILD_VERSION } from './types.ts';
import type { AuthorityEntry, ReleasePolicy } from './types.ts';

/** An extra condition every admitted token must meet, compared in string form (e.g. vmpl "0"). */
export interface BaseClaim {
  claim: string;
  equals: string;
}

/** What a SecureKey admits: tokens from these issuers, for these pod digests and compliance statuses. */
export interface ReleasePolicyInput {
  /** Attestation service URLs (https, no trailing slash; one trailing slash is dropped). */
  authorities: readonly string[];
  /** Admitted SEV-SNP HOST_DATA values, 64 lowercase hex. May be empty: see NO_DIGEST. */
  digests: readonly string[];
  /** Admitted `x-ms-compliance-status` values, e.g. azure-signed-katacc-uvm. */
  complianceStatuses: readonly string[];
  baseClaims?: readonly BaseClaim[];
}

/** What a node-mode SecureKey admits: Azure-compliant SEV-SNP confidential VMs attested by these issuers. */
export interface ConfidentialVmPolicyInput {
  authorities: readonly string[];
  /** Admitted `x-ms-isolation-tee.x-ms-compliance-status` values, e.g. azure-compliant-cvm. */
  complianceStatuses: readonly string[];
  /** Further conditions, typically `x-ms-azurevm-*` claims (secure boot, OS); dots walk into nested claims. */
  baseClaims?: readonly BaseClaim[];
}

/**
 * The hostdata a policy wants while a SecureKey admits no digest yet. The key must still get a policy:
 * an exportable key cannot be created without one (AKV.SKR.1004). Sixty-four zeros would be the obvious
 * placeholder and the wrong one — Kata launches a pod that has no policy with HOST_DATA of 64 zeros, so it
 * would admit exactly the unprotected pods. MAA prints HOST_DATA as 64 hex digits, so a value that is not
 * hex can never match, while the policy keeps the strict flat form every vault accepts.
 */
export const NO_DIGEST = 'securekey:no-digest-admitted';

const DIGEST = /^[0-9a-f]{64}$/;
const POD_CLAIMS = [HOSTDATA_CLAIM, COMPLIANCE_STATUS_CLAIM, IS_DEBUGGABLE_CLAIM];
const CVM_CLAIMS = [CVM_ATTESTATION_TYPE_CLAIM, CVM_COMPLIANCE_STATUS_CLAIM, CVM_IS_DEBUGGABLE_CLAIM];

function sortedUnique(values: Iterable<string>): string[] {
  return [...new Set(values)].sort();
}

function list(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) throw new ReleasePolicyError('wrong-type', `${field} must be an array`);
  return v;
}

function authorities(input: readonly unknown[]): string[] {
  if (input.length === 0) {
    throw new ReleasePolicyError('no-authorities', 'no attestation authority given', {
      hint: 'name the attestation service whose tokens the key is released to, e.g. https://sharedeus.eus.attest.azure.net',
    });
  }
  return sortedUnique(
    input.map((a, i) => {
      if (typeof a !== 'string') {
        throw new ReleasePolicyError('bad-authority', `authorities[${i}] is not a string`);
      }
      const r = normaliseAuthority(a);
      if ('problem' in r) {
        throw new ReleasePolicyError('bad-authority', `authorities[${i}] ${JSON.stringify(a)} ${r.problem}`, {
          hint: r.hint ?? 'an authority is the https URL of an attestation service, as its iss claim',
        });
      }
      return r.authority;
    }),
  );
}

function digests(input: readonly unknown[]): string[] {
  const result = sortedUnique(
    input.map((d, i) => {
      if (typeof d !== 'string' || !DIGEST.test(d)) {
        const upper = typeof d === 'string' && /^[0-9a-fA-F]{64}$/.test(d);
        throw new ReleasePolicyError(
          'bad-digest',
          `digests[${i}] ${JSON.stringify(d)} is not 64 lowercase hex`,
          {
            hint: upper
              ? 'write it in lowercase, as MAA prints x-ms-sevsnpvm-hostdata'
              : 'a digest is the SHA-256 of the pod policy (SEV-SNP HOST_DATA), 64 hex digits',
          },
        );
      }
      return d;
    }),
  );
  if (result.length > MAX_POLICY_DIGESTS) {
    throw new ReleasePolicyError(
      'policy-too-large',
      `${result.length} digests exceed the ${MAX_POLICY_DIGESTS} one release policy may admit`,
      {
        hint: 'shorten digestRetention, drop allowedDigests no longer used, or split workloads across SecureKeys',
      },
    );
  }
  return result;
}

function statuses(input: readonly unknown[]): string[] {
  if (input.length === 0) {
    throw new ReleasePolicyError('no-compliance-statuses', 'no compliance status given', {
      hint: 'AKS confidential containers report azure-signed-katacc-uvm, Confidential ACI azure-compliant-uvm, Azure confidential VMs azure-compliant-cvm',
    });
  }
  return sortedUnique(
    input.map((s, i) => {
      if (typeof s !== 'string' || s === '') {
        throw new ReleasePolicyError('bad-claim', `complianceStatuses[${i}] must be a non-empty string`);
      }
      return s;
    }),
  );
}

/** How a base claim may not be used in one policy form: the claims it sets itself, and misplaced ones. */
interface ClaimRules {
  reserved: readonly string[];
  reservedHint: string;
  /** Why a claim can never be met in this form's tokens, with the fix; undefined when it can. */
  misplaced?(claim: string): string | undefined;
}

const POD_RULES: ClaimRules = {
  reserved: POD_CLAIMS,
  reservedHint: 'admit digests through digests and compliance statuses through complianceStatuses',
};

const CVM_RULES: ClaimRules = {
  reserved: CVM_CLAIMS,
  reservedHint: 'admit compliance statuses through complianceStatuses',
  // A confidential-VM token carries the SEV-SNP claims only inside x-ms-isolation-tee: at the top level
  // the condition would never hold, and the key could never be released.
  misplaced: (claim) =>
    claim === COMPLIANCE_STATUS_CLAIM || claim.startsWith('x-ms-sevsnpvm-')
      ? `a confidential-VM token has ${claim} only inside ${ISOLATION_TEE_CLAIM}: write ${ISOLATION_TEE_CLAIM}.${claim}`
      : undefined,
};

function baseClaims(input: readonly unknown[], rules: ClaimRules): BaseClaim[] {
  const byName = new Map<string, string>();
  input.forEach((c, i) => {
    const where = `baseClaims[${i}]`;
    const { claim, equals } = (typeof c === 'object' && c !== null ? c : {}) as Partial<BaseClaim>;
    if (typeof claim !== 'string' || claim.split('.').some((s) => s === '')) {
      throw new ReleasePolicyError(
        'bad-claim',
        `${where}.claim must be a claim name (dots separate nested names)`,
      );
    }
    if (typeof equals !== 'string') {
      throw new ReleasePolicyError('bad-claim', `${where}.equals must be a string`, {
        hint: 'write Booleans and numbers in string form, e.g. "false" or "0"; the vault compares string forms',
      });
    }
    if (rules.reserved.includes(claim)) {
      throw new ReleasePolicyError(
        'bad-claim',
        `${where} sets ${claim}, which the policy always sets itself`,
        { hint: rules.reservedHint },
      );
    }
    const misplaced = rules.misplaced?.(claim);
    if (misplaced !== undefined) {
      throw new ReleasePolicyError('bad-claim', `${where} can never hold`, { hint: misplaced });
    }
    const earlier = byName.get(claim);
    if (earlier !== undefined && earlier !== equals) {
      throw new ReleasePolicyError(
        'bad-claim',
        `${where} wants ${claim} = ${JSON.stringify(equals)}, an earlier claim wants ${JSON.stringify(earlier)}: no token could meet both`,
      );
    }
    byName.set(claim, equals);
  });
  return [...byName.keys()].sort().map((claim) => ({ claim, equals: byName.get(claim) as string }));
}

/**
 * Builds the release policy for a SecureKey: one authority entry per (authority × digest × compliance
 * status), each `allOf` hostdata, compliance status, not debuggable, then the base claims. This flat form
 * stays inside the strictest documented grammar — no nesting, only `equals`, string values, version
 * "1.0.0" — because only that is proven on every vault. Inputs are sorted and de-duplicated, so the same
 * sets in any order give byte-identical JSON (and no rewrite in the vault).
 */
export function buildPolicy(input: ReleasePolicyInput): ReleasePolicy {
  const auths = authorities(list(input.authorities, 'authorities'));
  const admitted = digests(list(input.digests, 'digests'));
  const status = statuses(list(input.complianceStatuses, 'complianceStatuses'));
  const extra = baseClaims(list(input.baseClaims ?? [], 'baseClaims'), POD_RULES);
  const hostdata = admitted.length === 0 ? [NO_DIGEST] : admitted;

  const anyOf: AuthorityEntry[] = [];
  for (const authority of auths) {
    for (const digest of hostdata) {
      for (const s of status) {
        anyOf.push({
          authority,
          allOf: [
            { claim: HOSTDATA_CLAIM, equals: digest },
            { claim: COMPLIANCE_STATUS_CLAIM, equals: s },
            { claim: IS_DEBUGGABLE_CLAIM, equals: 'false' },
            ...extra.map((c) => ({ claim: c.claim, equals: c.equals })),
          ],
        });
      }
    }
  }
  return withinLimit(
    { version: BUILD_VERSION, anyOf },
    `${auths.length} authorities × ${hostdata.length} hostdata values × ${status.length} compliance statuses`,
  );
}

function withinLimit(policy: ReleasePolicy, entries: string): ReleasePolicy {
  const bytes = Buffer.byteLength(serializePolicy(policy));
  if (bytes > MAX_POLICY_BYTES) {
    throw new ReleasePolicyError(
      'policy-too-large',
      `the policy would be ${bytes} bytes, over our limit of ${MAX_POLICY_BYTES}: ${policy.anyOf.length} entries = ${entries}`,
      {
        hint: 'admit fewer digests, authorities, compliance statuses or claims, or split workloads across SecureKeys',
      },
    );
  }
  return policy;
}

/**
 * Builds the release policy of a node-mode SecureKey, the form of Microsoft's "Secure Key Release with
 * confidential VMs" how-to: one authority entry per (authority × compliance status), each `allOf`
 * `x-ms-isolation-tee.x-ms-attestation-type = sevsnpvm`, `x-ms-isolation-tee.x-ms-compliance-status`, not
 * debuggable (as pod mode asks), then the base claims. No digests: the node is the TEE, and HOST_DATA of an
 * Azure CVM is the paravisor's, not a pod's. Same strict flat grammar, ordering and limits as buildPolicy.
 */
export function buildConfidentialVmPolicy(input: ConfidentialVmPolicyInput): ReleasePolicy {
  const auths = authorities(list(input.authorities, 'authorities'));
  const status = statuses(list(input.complianceStatuses, 'complianceStatuses'));
  const extra = baseClaims(list(input.baseClaims ?? [], 'baseClaims'), CVM_RULES);
  const anyOf: AuthorityEntry[] = [];
  for (const authority of auths) {
    for (const s of status) {
      anyOf.push({
        authority,
        allOf: [
          { claim: CVM_ATTESTATION_TYPE_CLAIM, equals: SEVSNP_ATTESTATION_TYPE },
          { claim: CVM_COMPLIANCE_STATUS_CLAIM, equals: s },
          { claim: CVM_IS_DEBUGGABLE_CLAIM, equals: 'false' },
          ...extra.map((c) => ({ claim: c.claim, equals: c.equals })),
        ],
      });
    }
  }
  return withinLimit(
    { version: BUILD_VERSION, anyOf },
    `${auths.length} authorities × ${status.length} compliance statuses`,
  );
}
