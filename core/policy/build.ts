import { normaliseAuthority } from './authority.ts';
import { COMPLIANCE_STATUS_CLAIM, HOSTDATA_CLAIM, IS_DEBUGGABLE_CLAIM } from './claims.ts';
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

/**
 * The hostdata a policy wants while a SecureKey admits no digest yet. The key must still get a policy:
 * an exportable key cannot be created without one (AKV.SKR.1004). Sixty-four zeros would be the obvious
 * placeholder and the wrong one — Kata launches a pod that has no policy with HOST_DATA of 64 zeros, so it
 * would admit exactly the unprotected pods. MAA prints HOST_DATA as 64 hex digits, so a value that is not
 * hex can never match, while the policy keeps the strict flat form every vault accepts.
 */
export const NO_DIGEST = 'securekey:no-digest-admitted';

const DIGEST = /^[0-9a-f]{64}$/;
const RESERVED_CLAIMS = [HOSTDATA_CLAIM, COMPLIANCE_STATUS_CLAIM, IS_DEBUGGABLE_CLAIM];

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
      hint: 'AKS confidential containers report azure-signed-katacc-uvm, Confidential ACI azure-compliant-uvm',
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

function baseClaims(input: readonly unknown[]): BaseClaim[] {
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
    if (RESERVED_CLAIMS.includes(claim)) {
      throw new ReleasePolicyError(
        'bad-claim',
        `${where} sets ${claim}, which the policy always sets itself`,
        {
          hint: 'admit digests through digests and compliance statuses through complianceStatuses',
        },
      );
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
  const extra = baseClaims(list(input.baseClaims ?? [], 'baseClaims'));
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
  const policy: ReleasePolicy = { version: BUILD_VERSION, anyOf };
  const bytes = Buffer.byteLength(serializePolicy(policy));
  if (bytes > MAX_POLICY_BYTES) {
    throw new ReleasePolicyError(
      'policy-too-large',
      `the policy would be ${bytes} bytes, over our limit of ${MAX_POLICY_BYTES}: ${anyOf.length} entries = ` +
        `${auths.length} authorities × ${hostdata.length} hostdata values × ${status.length} compliance statuses`,
      {
        hint: 'admit fewer digests, authorities or compliance statuses, or split workloads across SecureKeys',
      },
    );
  }
  return policy;
}
