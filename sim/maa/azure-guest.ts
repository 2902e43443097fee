/**
 * `POST /attest/AzureGuest`: what MAA checks of an Azure confidential VM's guest attestation
 * (AttestationClient's request, core/azure-guest), in this order (MAA's own order is not public):
 *  1. the request is well formed → InvalidParameter `bad-request`;
 *  2. the SNP report is genuine (VCEK chain to a trusted ARK, signature, TCB) → InvalidQuote;
 *  3. the HCL binding: REPORT_DATA = SHA-256(RunTimeData) ‖ 0³² → InvalidParameter;
 *  4. the AK: TpmInfo.AikPub is the runtime claims' `HCLAkPub`, and AikCert certifies it under the
 *     configured vTPM CA (when one is configured) → InvalidParameter `ak-mismatch` / `ak-cert-untrusted`;
 *  5. the quote: signed by the AK, qualifying data = SHA-256(ClientPayload nonce) (empty without a
 *     nonce, as AttestationClient sends it), nonce not seen before, PCR values hashing to its digest
 *     → InvalidQuote `quote-signature-invalid`, InvalidParameter `nonce-mismatch` / `nonce-replayed` /
 *     `pcr-mismatch`;
 *  6. the TCG log: a crypto-agile log whose sha256 bank replays to each quoted PCR's value, and whose
 *     secure boot variables and separators hash to their digests → InvalidParameter `tcg-log-invalid`
 *     / `tcg-log-mismatch`; the boot-state claims are read from it;
 *  7. the encryption key: certified by the AK (TPM2_Certify over its name), a fixedTPM decryption key
 *     → InvalidParameter `enc-key-not-certified`;
 *  8. policy: a debuggable guest or a non-compliant one → PolicyEvaluationError.
 * The token is then sealed to EncKeyPub (core/azure-guest sealAzureGuestToken).
 */
import crypto, { X509Certificate, type KeyObject } from 'node:crypto';
import {
  AzureGuestError,
  parseAzureGuestRequest,
  publicAreaOf,
  quoteQualifyingData,
  TPM_EPHEMERAL_KEY_ID,
  type AzureGuestEvidence,
} from '../../core/azure-guest/index.ts';
import { hclAkPub, HclReportError } from '../../core/hcl/index.ts';
import {
  bootState,
  parseTcgLog,
  replayTcgLog,
  TcgLogError,
  type BootState,
} from '../../core/tcg-log/index.ts';
import { RuntimeDataError } from '../../core/runtime-data/errors.ts';
import { checkReportDataBinding } from '../../core/runtime-data/report-data.ts';
import type { AttestationReport, SnpProduct } from '../../core/snp/index.ts';
import {
  objectName,
  parseAttest,
  parsePublic,
  pcrDigest,
  publicKeyOf,
  TPMA_OBJECT,
  TpmError,
  verifyAttestSignature,
  type RsaPublic,
} from '../../core/tpm/index.ts';
import { issuedBy } from '../../core/x509/index.ts';
import { invalidParameter, MaaError } from './errors.ts';
import { genuine, type EvidencePolicy } from './evidence.ts';

export interface AzureGuestPolicy extends Pick<EvidencePolicy, 'trustedArks' | 'now'> {
  /** The vTPM CA AK certificates must chain to; none configured: the certificate is checked against the AK only. */
  readonly akCa: X509Certificate | undefined;
  /** Remembers a nonce; false when it was already seen. */
  readonly firstUse: (nonce: string) => boolean;
  /** Whether the verified CVM counts as `azure-compliant-cvm`. */
  readonly compliant: (report: AttestationReport, runtime: Record<string, unknown>) => boolean;
}

export interface VerifiedAzureGuest {
  readonly evidence: AzureGuestEvidence;
  readonly report: AttestationReport;
  readonly product: SnpProduct;
  /** The HCL runtime claims (`x-ms-isolation-tee.x-ms-runtime`). */
  readonly runtime: Record<string, unknown>;
  readonly encryptionKey: KeyObject;
  readonly quotedPcrs: number[];
  /** What the TCG log shows of the boot (its replay matched the quoted PCRs). */
  readonly boot: BootState;
}

const sameKey = (a: KeyObject, b: KeyObject): boolean =>
  a.export({ type: 'spki', format: 'der' }).equals(b.export({ type: 'spki', format: 'der' }));

function tpmPublic(tpm2b: Buffer, field: string): RsaPublic {
  try {
    return parsePublic(publicAreaOf(tpm2b, field));
  } catch (err) {
    if (err instanceof AzureGuestError || err instanceof TpmError) {
      throw invalidParameter('bad-request', `TpmInfo.${field} is not an RSA TPM2B_PUBLIC: ${err.message}.`);
    }
    throw err;
  }
}

function attest(bytes: Buffer, field: string, kind: 'quote-signature-invalid' | 'enc-key-not-certified') {
  try {
    return parseAttest(bytes);
  } catch (err) {
    if (!(err instanceof TpmError)) throw err;
    throw new MaaError('InvalidParameter', kind, `TpmInfo.${field} is not a TPMS_ATTEST: ${err.message}.`);
  }
}

/** RSASSA over the attest bytes with the AK's scheme hash (AttestationClient sends the bare signature). */
function signedByAk(bytes: Buffer, signature: Buffer, ak: RsaPublic, key: KeyObject): boolean {
  const hash = ak.scheme.scheme === 'rsassa' ? ak.scheme.hash : 'sha256';
  return verifyAttestSignature(bytes, { scheme: 'rsassa', hash, signature }, key);
}

export function verifyAzureGuest(body: Buffer, policy: AzureGuestPolicy): VerifiedAzureGuest {
  let evidence: AzureGuestEvidence;
  try {
    evidence = parseAzureGuestRequest(body);
  } catch (err) {
    if (!(err instanceof AzureGuestError)) throw err;
    throw invalidParameter('bad-request', `${err.message}.`);
  }
  const { tpm, isolation } = evidence;

  const { report, product } = genuine(
    { report: isolation.snpReport, vcekCertChainPem: isolation.vcekCertChainPem },
    policy,
  );

  try {
    checkReportDataBinding(report.reportData, isolation.runtimeData);
  } catch (err) {
    if (!(err instanceof RuntimeDataError)) throw err;
    throw invalidParameter(
      err.kind === 'report-data-upper-nonzero' ? err.kind : 'report-data-mismatch',
      `The SHA256 hash of the RunTimeData does not match the SNP report's report data: ${err.message}.`,
      'REPORT_DATA must be SHA-256 of the HCL report variable data followed by 32 zero bytes',
    );
  }
  let runtime: Record<string, unknown>;
  let hclAk: KeyObject;
  try {
    runtime = JSON.parse(isolation.runtimeData.toString('utf8')) as Record<string, unknown>;
    hclAk = hclAkPub({ runtimeClaims: runtime });
  } catch (err) {
    if (!(err instanceof SyntaxError) && !(err instanceof HclReportError)) throw err;
    throw invalidParameter('bad-runtime-claims', `The RunTimeData holds no usable HCLAkPub: ${err.message}.`);
  }

  const akArea = tpmPublic(tpm.akPub, 'AikPub');
  const ak = publicKeyOf(akArea);
  if (!sameKey(ak, hclAk)) {
    throw invalidParameter(
      'ak-mismatch',
      'TpmInfo.AikPub is not the attestation key (HCLAkPub) the SNP report vouches for.',
      'the quote must come from the vTPM of the VM whose report is sent',
    );
  }
  let akCert: X509Certificate;
  try {
    akCert = new X509Certificate(tpm.akCert);
  } catch {
    throw invalidParameter('ak-cert-untrusted', 'TpmInfo.AikCert is not a DER certificate.');
  }
  if (!sameKey(akCert.publicKey, ak)) {
    throw invalidParameter('ak-cert-untrusted', 'TpmInfo.AikCert does not certify TpmInfo.AikPub.');
  }
  if (policy.akCa && !issuedBy(akCert, policy.akCa)) {
    throw invalidParameter(
      'ak-cert-untrusted',
      `TpmInfo.AikCert is not issued by the trusted vTPM CA (${policy.akCa.subject.replace(/\n/g, ', ')}).`,
    );
  }

  const quote = attest(tpm.pcrQuote, 'PcrQuote', 'quote-signature-invalid');
  if (quote.type !== 'quote' || !signedByAk(tpm.pcrQuote, tpm.pcrSignature, akArea, ak)) {
    throw new MaaError(
      'InvalidQuote',
      'quote-signature-invalid',
      'The specified quote was invalid: PcrQuote is not a quote signed by the attestation key.',
    );
  }
  const nonce = evidence.clientPayload['nonce'];
  const expected = nonce === undefined ? Buffer.alloc(0) : quoteQualifyingData(nonce);
  if (!quote.extraData.equals(expected)) {
    throw invalidParameter(
      'nonce-mismatch',
      nonce === undefined
        ? 'The quote carries qualifying data but ClientPayload has no nonce.'
        : "The quote's qualifying data is not SHA-256 of ClientPayload's nonce: the quote was made for another request.",
    );
  }
  const quoted = quote.pcrSelect.filter((s) => s.hash === 'sha256').flatMap((s) => s.pcrs);
  const sent = tpm.pcrs.map((p) => p.index);
  if (
    quote.pcrSelect.some((s) => s.hash !== 'sha256') ||
    quoted.join(',') !== sent.join(',') ||
    !pcrDigest(
      'sha256',
      tpm.pcrs.map((p) => p.digest),
    ).equals(quote.pcrDigest)
  ) {
    throw invalidParameter(
      'pcr-mismatch',
      `The PCR values sent (PCRs ${sent.join(',')}) do not hash to the digest of the quote (PCRs ${quoted.join(',')}).`,
    );
  }

  // The boot claims come from the log's PCR 0–7 events; only a quote over those PCRs vouches for them.
  const unquoted = BOOT_PCRS.filter((i) => !quoted.includes(i));
  if (unquoted.length > 0) {
    throw invalidParameter(
      'pcr-mismatch',
      `The quote does not cover PCRs ${unquoted.join(',')}: the boot state in the TCG log cannot be attested without PCRs 0-7.`,
    );
  }
  const boot = measuredBoot(evidence.tcgLog, tpm.pcrs);

  const encArea = tpmPublic(tpm.encKeyPub, 'EncKeyPub');
  const certify = attest(tpm.encKeyCertifyInfo, 'EncKeyCertifyInfo', 'enc-key-not-certified');
  const decryptOnly =
    (encArea.attributes & TPMA_OBJECT.decrypt) !== 0 &&
    (encArea.attributes & TPMA_OBJECT.fixedTPM) !== 0 &&
    (encArea.attributes & TPMA_OBJECT.sign) === 0;
  if (
    certify.type !== 'certify' ||
    !signedByAk(tpm.encKeyCertifyInfo, tpm.encKeyCertifyInfoSignature, akArea, ak) ||
    !certify.name.equals(objectName(publicAreaOf(tpm.encKeyPub, 'EncKeyPub'))) ||
    !decryptOnly
  ) {
    throw invalidParameter(
      'enc-key-not-certified',
      'EncKeyCertifyInfo is not the attestation key’s certification of EncKeyPub as a TPM-bound decryption key.',
    );
  }

  // Last of the request checks: a request refused above has not used its nonce.
  if (nonce !== undefined && !policy.firstUse(nonce)) {
    throw invalidParameter('nonce-replayed', 'This nonce has already been attested; send a fresh one.');
  }
  if (report.policy.debug) {
    throw new MaaError(
      'PolicyEvaluationError',
      'debug-refused',
      'Policy Evaluation Error has occurred: the SNP report has POLICY.DEBUG set; a debuggable confidential VM is not an Azure-compliant CVM.',
    );
  }
  if (!policy.compliant(report, runtime)) {
    throw new MaaError(
      'PolicyEvaluationError',
      'not-compliant',
      'Policy Evaluation Error has occurred: the confidential VM is not azure-compliant-cvm.',
    );
  }
  return {
    evidence,
    report,
    product,
    runtime,
    encryptionKey: publicKeyOf(encArea),
    quotedPcrs: quoted,
    boot,
  };
}

/**
 * The log's word on the boot, once its sha256 replay is each quoted PCR's value: the log is what the
 * quote signs only through that replay. An empty log cannot vouch for anything (a booted VM's PCRs
 * 0–7 are never all zero), so it is refused like a log that does not replay.
 */
function measuredBoot(tcgLog: Buffer, pcrs: VerifiedAzureGuest['evidence']['tpm']['pcrs']): BootState {
  if (tcgLog.length === 0) {
    throw invalidParameter(
      'tcg-log-invalid',
      'TcgLogs is empty: the quoted PCRs cannot be checked against the measured boot.',
      'send the event log of the boot (Linux: /sys/kernel/security/tpm0/binary_bios_measurements)',
    );
  }
  try {
    const log = parseTcgLog(tcgLog);
    const replayed = replayTcgLog(log, 'sha256');
    const differ = pcrs.filter((p) => replayed[p.index]?.equals(p.digest) !== true).map((p) => p.index);
    if (differ.length > 0) {
      throw invalidParameter(
        'tcg-log-mismatch',
        `The TCG log does not replay to the quoted PCR values (PCRs ${differ.join(',')} differ).`,
        'the log must be the one of this boot, unaltered',
      );
    }
    return bootState(log, 'sha256');
  } catch (err) {
    if (!(err instanceof TcgLogError)) throw err;
    throw invalidParameter('tcg-log-invalid', `TcgLogs is not a usable TCG event log: ${err.message}.`);
  }
}

/** The firmware and boot-manager PCRs whose log events give the boot claims (AttestationClient quotes them). */
const BOOT_PCRS = [0, 1, 2, 3, 4, 5, 6, 7];

/** A bounded memory of nonces: a replay within the last `size` attestations is refused. */
export function nonceMemory(size = 10_000): (nonce: string) => boolean {
  const seen = new Set<string>();
  return (nonce) => {
    const key = crypto.createHash('sha256').update(nonce, 'utf8').digest('base64');
    if (seen.has(key)) return false;
    seen.add(key);
    if (seen.size > size) seen.delete(seen.values().next().value!);
    return true;
  };
}

const yes = true;
const no = false;

/**
 * The token's claims, as Microsoft's sample CVM token (cvm-attestation-sample-app) has them. From the
 * TCG log: `secureboot` (the measured SecureBoot variable), `dbvalidated` / `dbxvalidated` (db / dbx
 * measured into PCR 7 before its separator), `default-securebootkeysvalidated` (secure boot on with PK,
 * KEK, db and dbx all measured; the simulator has no list of Microsoft's default keys to compare them
 * with). The Windows boot-configuration claims are fixed as a Linux CVM's (override with extraClaims).
 */
export function azureGuestClaims(
  v: VerifiedAzureGuest,
  isolationTee: Record<string, unknown>,
): Record<string, unknown> {
  const { os, clientPayload } = v.evidence;
  const vm = (v.runtime['vm-configuration'] ?? {}) as Record<string, unknown>;
  const measured = v.boot.variables;
  const allKeys = ['PK', 'KEK', 'db', 'dbx'].every((k) => measured[k as keyof typeof measured] !== undefined);
  const jwk = v.encryptionKey.export({ format: 'jwk' });
  return {
    secureboot: v.boot.secureBoot,
    'x-ms-attestation-type': 'azurevm',
    'x-ms-azurevm-attestation-protocol-ver': v.evidence.protocolVersion,
    'x-ms-azurevm-attested-pcrs': v.quotedPcrs,
    'x-ms-azurevm-bootdebug-enabled': no,
    'x-ms-azurevm-dbvalidated': measured.db !== undefined,
    'x-ms-azurevm-dbxvalidated': measured.dbx !== undefined,
    'x-ms-azurevm-debuggersdisabled': yes,
    'x-ms-azurevm-default-securebootkeysvalidated': v.boot.secureBoot && allKeys,
    'x-ms-azurevm-elam-enabled': no,
    'x-ms-azurevm-flightsigning-enabled': no,
    'x-ms-azurevm-hvci-policy': 0,
    'x-ms-azurevm-hypervisordebug-enabled': no,
    'x-ms-azurevm-is-windows': os.type === 'Windows',
    'x-ms-azurevm-kerneldebug-enabled': no,
    'x-ms-azurevm-osbuild': os.build,
    'x-ms-azurevm-osdistro': os.distro,
    'x-ms-azurevm-ostype': os.type,
    'x-ms-azurevm-osversion-major': os.versionMajor,
    'x-ms-azurevm-osversion-minor': os.versionMinor,
    'x-ms-azurevm-signingdisabled': yes,
    'x-ms-azurevm-testsigning-enabled': no,
    ...(typeof vm['vmUniqueId'] === 'string' ? { 'x-ms-azurevm-vmid': vm['vmUniqueId'] } : {}),
    'x-ms-isolation-tee': isolationTee,
    'x-ms-runtime': {
      ...(Object.keys(clientPayload).length === 0
        ? {}
        : {
            'client-payload': Object.fromEntries(
              Object.entries(clientPayload).map(([k, val]) => [
                k,
                Buffer.from(val, 'utf8').toString('base64'),
              ]),
            ),
          }),
      keys: [{ e: jwk.e, key_ops: ['encrypt'], kid: TPM_EPHEMERAL_KEY_ID, kty: 'RSA', n: jwk.n }],
    },
  };
}
