/**
 * The UVM endorsement of a SEV-SNP request (`Endorsements = {"Uvm": ["<base64url COSE_Sign1>"]}`, what the
 * SKR sidecar sends from the UVM security context's reference info), verified as Azure Attestation is
 * believed to verify it before it calls a container's UVM compliant (docs/adr/0045): the COSE signature
 * by the x5chain's leaf, the chain to a trusted UVM signing root, the did:x509 issuer, the feed, and the
 * endorsed launch measurement equal to the report's MEASUREMENT (core/uvm).
 *
 * No endorsement: undefined — the token then carries no compliance status. One that is sent but does not
 * verify is refused (InvalidParameter, innererror naming the check): what real MAA does then is not
 * public, and a clear refusal shows the cause where a silent omission would surface as the vault's 403.
 */
import type { X509Certificate } from 'node:crypto';
import { decodeAnyBase64 } from '../../core/policy/base64.ts';
import type { AttestationReport } from '../../core/snp/index.ts';
import {
  parseReferenceInfo,
  UvmEndorsementError,
  verifyUvmEndorsement,
  type VerifiedEndorsement,
} from '../../core/uvm/index.ts';
import { invalidParameter, MaaError } from './errors.ts';
import type { AttestSevSnpRequest } from './request.ts';

/** The sidecar sends one; a few leave room for a host that sends several, more is not an endorsement. */
const MAX_UVM_ENDORSEMENTS = 4;

export interface EndorsementOptions {
  readonly trustedRoots: readonly X509Certificate[];
  readonly now: Date;
}

/** The verified endorsement, undefined when the request has none; throws MaaError when one fails. */
export function verifiedUvmEndorsement(
  request: Pick<AttestSevSnpRequest, 'endorsements'>,
  report: AttestationReport,
  o: EndorsementOptions,
): VerifiedEndorsement | undefined {
  const uvm = request.endorsements?.['Uvm'];
  if (uvm === undefined || uvm === null) return undefined;
  if (!Array.isArray(uvm) || uvm.length === 0 || uvm.length > MAX_UVM_ENDORSEMENTS) {
    throw invalidParameter(
      'bad-endorsements',
      `report.Endorsements.Uvm must be an array of 1 to ${MAX_UVM_ENDORSEMENTS} base64url COSE_Sign1 documents.`,
    );
  }
  let verified: VerifiedEndorsement | undefined;
  uvm.forEach((entry: unknown, i) => {
    const decoded = typeof entry === 'string' ? decodeAnyBase64(entry) : { problem: 'it is not a string' };
    if ('problem' in decoded) {
      throw invalidParameter(
        'bad-endorsements',
        `report.Endorsements.Uvm[${i}] is not base64url: ${decoded.problem}.`,
      );
    }
    try {
      const one = verifyUvmEndorsement(parseReferenceInfo(decoded.bytes), report.measurement, o);
      verified ??= one;
    } catch (err) {
      if (!(err instanceof UvmEndorsementError)) throw err;
      throw new MaaError('InvalidParameter', err.kind, `The UVM endorsement is invalid: ${err.message}.`, {
        ...(err.hint === undefined ? {} : { hint: err.hint }),
        cause: err,
      });
    }
  });
  return verified;
}

/** The claims a verified endorsement adds (names as MAA's container tokens are believed to carry them). */
export function uvmEndorsementClaims(e: VerifiedEndorsement): Record<string, unknown> {
  return {
    'x-ms-sevsnpvm-uvm-endorsement': {
      'x-ms-sevsnpvm-guestsvn': e.guestSvn,
      'x-ms-sevsnpvm-launchmeasurement': e.launchMeasurement,
    },
    'x-ms-sevsnpvm-uvm-endorsement-headers': { feed: e.feed, iss: e.issuer },
  };
}
