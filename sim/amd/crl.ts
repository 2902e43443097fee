/**
 * The certificate revocation list AMD's KDS serves at `/vcek/v1/<product>/crl`: a v2 CRL signed by
 * the ARK with RSASSA-PSS SHA-384, listing revoked ASKs (none unless told). Verifiers such as
 * go-sev-guest fetch it to check that the ASK is not revoked.
 */
import type { KeyObject, X509Certificate } from 'node:crypto';
import { bitString, integer, octetString, oid, sequence, time, explicit } from '../../core/asn1/index.ts';
import {
  encodeAuthorityKeyIdentifier,
  encodeSignatureAlgorithm,
  EXTENSION_OIDS,
  keyIdentifier,
  signWith,
  subjectNameDer,
} from '../../core/x509/index.ts';

const CRL_NUMBER_OID = '2.5.29.20';

export interface CrlOptions {
  readonly ark: X509Certificate;
  readonly arkKey: KeyObject;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
  /** Serial numbers of revoked certificates, revoked at `thisUpdate`. */
  readonly revokedSerials?: readonly bigint[];
  readonly crlNumber?: number;
}

/** A DER CertificateList (RFC 5280 §5.1). */
export function buildCrl(o: CrlOptions): Buffer {
  const algorithm = encodeSignatureAlgorithm('rsa-pss-sha384');
  const revoked = (o.revokedSerials ?? []).map((serial) => sequence(integer(serial), time(o.thisUpdate)));
  const extensions = explicit(
    0,
    sequence(
      sequence(
        oid(EXTENSION_OIDS.authorityKeyIdentifier),
        octetString(encodeAuthorityKeyIdentifier(keyIdentifier(o.ark.publicKey))),
      ),
      sequence(oid(CRL_NUMBER_OID), octetString(integer(o.crlNumber ?? 1))),
    ),
  );
  const tbs = sequence(
    integer(1), // v2
    algorithm,
    subjectNameDer(o.ark),
    time(o.thisUpdate),
    time(o.nextUpdate),
    ...(revoked.length ? [sequence(...revoked)] : []),
    extensions,
  );
  return sequence(tbs, algorithm, bitString(signWith('rsa-pss-sha384', o.arkKey, tbs)));
}
