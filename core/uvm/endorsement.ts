/**
 * Verifying a UVM endorsement the way an attestation service must before it calls a container's UVM
 * compliant: the COSE signature by the x5chain's leaf, the chain up to a trusted UVM signing root, the
 * did:x509 issuer resolved by that chain, the feed, and the endorsed launch measurement equal to the
 * report's MEASUREMENT. The result is what a token says about it.
 */
import type { X509Certificate } from 'node:crypto';
import { CoseError, verifyCoseSign1 } from '../cose/index.ts';
import { issuedBy } from '../x509/index.ts';
import { resolveDidX509 } from './did-x509.ts';
import { UvmEndorsementError } from './errors.ts';
import { UVM_FEED, type ReferenceInfo } from './reference-info.ts';

export interface EndorsementPolicy {
  /** Roots the x5chain must end at (matched by certificate or public key, or as the top's issuer). */
  readonly trustedRoots: readonly X509Certificate[];
  /** Every certificate must be valid at this time. */
  readonly now: Date;
  /** Default `ContainerPlat-AMD-UVM`. */
  readonly feed?: string;
}

export interface VerifiedEndorsement {
  readonly issuer: string;
  readonly feed: string;
  readonly guestSvn: string;
  readonly launchMeasurement: string;
}

const spki = (c: X509Certificate): Buffer => c.publicKey.export({ type: 'spki', format: 'der' });

function checkChain(chain: readonly X509Certificate[], policy: EndorsementPolicy): void {
  const fail = (message: string): never => {
    throw new UvmEndorsementError('untrusted-chain', `UVM endorsement: ${message}`);
  };
  chain.forEach((cert, i) => {
    if (policy.now < new Date(cert.validFrom) || policy.now > new Date(cert.validTo)) {
      fail(
        `x5chain certificate ${i} (${cert.subject.replace(/\n/g, ', ')}) is not valid at ${policy.now.toISOString()}`,
      );
    }
    const issuer = chain[i + 1];
    if (issuer !== undefined && !issuedBy(cert, issuer)) {
      fail(`x5chain certificate ${i} is not signed by certificate ${i + 1}`);
    }
  });
  const top = chain[chain.length - 1]!;
  const anchored = policy.trustedRoots.some(
    (root) =>
      root.raw.equals(top.raw) ||
      (spki(root).equals(spki(top)) && root.subject === top.subject) ||
      issuedBy(top, root),
  );
  if (!anchored)
    fail(`the x5chain (top: ${top.subject.replace(/\n/g, ', ')}) does not end at a trusted UVM signing root`);
}

/** Verifies `info` for a report whose MEASUREMENT is `measurement`; throws UvmEndorsementError. */
export function verifyUvmEndorsement(
  info: ReferenceInfo,
  measurement: Uint8Array,
  policy: EndorsementPolicy,
): VerifiedEndorsement {
  checkChain(info.x5chain, policy);
  try {
    verifyCoseSign1(info.message, info.x5chain[0]!.publicKey);
  } catch (err) {
    if (err instanceof CoseError) {
      throw new UvmEndorsementError('signature-invalid', `UVM endorsement: ${err.message}`, { cause: err });
    }
    throw err;
  }
  resolveDidX509(info.issuer, info.x5chain);
  const feed = policy.feed ?? UVM_FEED;
  if (info.feed !== feed) {
    throw new UvmEndorsementError(
      'wrong-feed',
      `UVM endorsement: feed ${JSON.stringify(info.feed)} is not ${JSON.stringify(feed)}`,
    );
  }
  const reported = Buffer.from(measurement).toString('hex');
  if (info.launchMeasurement !== reported) {
    throw new UvmEndorsementError(
      'measurement-mismatch',
      `UVM endorsement: the endorsed launch measurement ${info.launchMeasurement} is not the report's MEASUREMENT ${reported}`,
      { hint: 'the reference info belongs to another UVM image than the one this guest launched' },
    );
  }
  return {
    issuer: info.issuer,
    feed: info.feed,
    guestSvn: info.guestSvn,
    launchMeasurement: info.launchMeasurement,
  };
}
