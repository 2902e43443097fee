/**
 * The simulated "Microsoft UVM signing": the reference info a Confidential ACI / AKS Kata host places in
 * the UVM security context, signed the way Microsoft signs it (COSE_Sign1, PS384, x5chain leaf first,
 * did:x509 issuer with the UVM signing EKU, feed `ContainerPlat-AMD-UVM`), by a fake "Supply Chain Root"
 * on fixed fixture keys (fixtures/). The simulated Azure Attestation trusts `simulatedUvmSigningRoot()`
 * as the real one trusts Microsoft's; both sides read the same files, so a host and an attestation
 * service in different processes agree without exchanging anything.
 */
import crypto, { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CborTag, HEADER, signCoseSign1, type CborValue } from '../../core/cose/index.ts';
import { UVM_FEED, UVM_SIGNING_EKU } from '../../core/uvm/index.ts';

const fixture = (name: string): URL => new URL(`./fixtures/${name}`, import.meta.url);

/** The launch measurement of every simulated guest that does not set its own (sim/amd's default). */
export const SIMULATED_UVM_MEASUREMENT = crypto
  .createHash('sha384')
  .update('securekey simulated guest image')
  .digest();

let root: X509Certificate | undefined;
let leaf: X509Certificate | undefined;
let key: crypto.KeyObject | undefined;

/** The root the simulated Attestation trusts for UVM endorsements. */
export function simulatedUvmSigningRoot(): X509Certificate {
  return (root ??= new X509Certificate(readFileSync(fixture('uvm-signing-root.pem'))));
}

function signer(): { leaf: X509Certificate; key: crypto.KeyObject } {
  leaf ??= new X509Certificate(readFileSync(fixture('uvm-signing.pem')));
  key ??= crypto.createPrivateKey(readFileSync(fixture('uvm-signing.key.pem')));
  return { leaf, key };
}

/** `did:x509:0:sha256:<root fingerprint>::eku:<UVM signing EKU>`, as Microsoft's issuer names its root. */
export function simulatedUvmIssuer(): string {
  const fp = crypto.createHash('sha256').update(simulatedUvmSigningRoot().raw).digest('base64url');
  return `did:x509:0:sha256:${fp}::eku:${UVM_SIGNING_EKU}`;
}

export interface ReferenceInfoOptions {
  /** The launch measurement endorsed; default SIMULATED_UVM_MEASUREMENT. */
  measurement?: Uint8Array;
  /** Default "100", as Microsoft's published file. */
  guestSvn?: string;
  feed?: string;
  issuer?: string;
  /** Default 2025-01-01. */
  signingTime?: Date;
}

/** The COSE_Sign1 bytes. */
export function signUvmReferenceInfo(o: ReferenceInfoOptions = {}): Buffer {
  const { leaf: cert, key: signingKey } = signer();
  const payload = JSON.stringify({
    'x-ms-sevsnpvm-guestsvn': o.guestSvn ?? '100',
    'x-ms-sevsnpvm-launchmeasurement': Buffer.from(o.measurement ?? SIMULATED_UVM_MEASUREMENT).toString(
      'hex',
    ),
  });
  return signCoseSign1({
    protectedHeader: new Map<CborValue, CborValue>([
      [HEADER.alg, -38],
      [HEADER.contentType, 'application/json'],
      [HEADER.x5chain, [cert.raw, simulatedUvmSigningRoot().raw]],
      ['iss', o.issuer ?? simulatedUvmIssuer()],
      ['feed', o.feed ?? UVM_FEED],
      [
        'signingtime',
        new CborTag(1, Math.floor((o.signingTime ?? new Date('2025-01-01T00:00:00Z')).getTime() / 1000)),
      ],
    ]),
    payload: Buffer.from(payload),
    key: signingKey,
  });
}

/** The content of a `reference-info-base64` file (standard base64, as hcsshim writes it). */
export function referenceInfoFileContent(o: ReferenceInfoOptions = {}): string {
  return signUvmReferenceInfo(o).toString('base64');
}
