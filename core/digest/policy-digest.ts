import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { PolicyScheme } from '../api/securekey.generated.ts';
import { POLICY_ANNOTATIONS } from './annotations.ts';
import { decodeStdBase64, describeBase64Problem } from './base64.ts';
import { DigestError } from './errors.ts';
import { readInitdataHeader } from './initdata.ts';

/** A policy digest: the SEV-SNP HOST_DATA a pod launched with this policy reports, 64 lowercase hex. */
export interface PolicyDigest {
  scheme: PolicyScheme;
  annotation: string;
  digest: string;
}

/** SNP HOST_DATA is 32 bytes; longer initdata digests are truncated, as the Kata runtime does. */
const HOST_DATA_BYTES = 32;
/** Bound on a decompressed initdata document, so a gzip bomb in an annotation cannot exhaust memory. */
const MAX_INITDATA_BYTES = 4 * 1024 * 1024;

function decode(value: string, annotation: string, skip: 'newlines' | 'whitespace'): Buffer {
  const r = decodeStdBase64(value, skip);
  if ('problem' in r) {
    throw new DigestError(
      'bad-base64',
      annotation,
      `not valid standard base64: ${describeBase64Problem(r.problem)}`,
      'the annotation must hold the base64 the policy generator printed, unchanged',
    );
  }
  return r.bytes;
}

/** sha256 of the decoded policy text: Kata agent policy (genpolicy) and Confidential ACI CCE policy. */
function regoPolicyDigest(value: string, annotation: string): string {
  // Kata's Go shim and ACI decode with Go's StdEncoding, which skips only CR and LF.
  return createHash('sha256')
    .update(decode(value, annotation, 'newlines'))
    .digest('hex');
}

/** Initdata: digest(algorithm, TOML bytes) over the decompressed document, fitted to 32 bytes. */
function initdataDigest(value: string, annotation: string): string {
  // Kata's Rust runtime strips all white space before decoding.
  const gz = decode(value, annotation, 'whitespace');
  let toml: Buffer;
  try {
    toml = gunzipSync(gz, { maxOutputLength: MAX_INITDATA_BYTES });
  } catch (err) {
    const tooLarge = (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
    throw new DigestError(
      tooLarge ? 'too-large' : 'bad-gzip',
      annotation,
      tooLarge
        ? `initdata decompresses to more than ${MAX_INITDATA_BYTES} bytes`
        : 'not gzip-compressed initdata (base64 of gzip of the TOML document is expected)',
    );
  }
  // The runtime parses the whole document as TOML, which is UTF-8; checked without making a string of it.
  if (!isUtf8(toml)) throw new DigestError('bad-initdata', annotation, 'initdata is not UTF-8 text');
  const { algorithm } = readInitdataHeader(toml, annotation);
  const full = createHash(algorithm).update(toml).digest();
  const fitted = Buffer.alloc(HOST_DATA_BYTES);
  full.copy(fitted, 0, 0, Math.min(full.length, HOST_DATA_BYTES));
  return fitted.toString('hex');
}

/**
 * The policy digest of a pod (or pod template) under `scheme`, from its annotations. The operator,
 * the webhook, the CLI and the node agent all call this one function.
 */
export function policyDigest(
  scheme: PolicyScheme,
  annotations: Readonly<Record<string, string>> | undefined,
): PolicyDigest {
  const annotation = POLICY_ANNOTATIONS[scheme];
  const value = annotations?.[annotation];
  if (value === undefined) {
    throw new DigestError(
      'annotation-missing',
      annotation,
      `missing; policy scheme ${scheme} reads the pod's policy from it`,
      scheme === 'kata-agent-policy'
        ? 'generate the policy (az confcom katapolicygen) after `securekey inject`, or change spec.workloads.policyScheme'
        : 'add the policy annotation, or change spec.workloads.policyScheme',
    );
  }
  if (typeof value !== 'string') {
    // Kubernetes annotations are strings; YAML reads an unquoted `true` or `1` as something else.
    throw new DigestError(
      'not-a-string',
      annotation,
      `holds ${value === null ? 'null' : Array.isArray(value) ? 'a list' : `a ${typeof value}`}, not a string`,
      'quote the value in the manifest',
    );
  }
  const digest =
    scheme === 'kata-initdata' ? initdataDigest(value, annotation) : regoPolicyDigest(value, annotation);
  return { scheme, annotation, digest };
}

/** The scheme whose annotation a pod carries, preferring initdata (newer Kata) when both are present. */
export function detectPolicyScheme(
  annotations: Readonly<Record<string, string>> | undefined,
): PolicyScheme | undefined {
  if (!annotations) return undefined;
  const order: PolicyScheme[] = ['kata-initdata', 'kata-agent-policy', 'aci-cce'];
  return order.find((s) => annotations[POLICY_ANNOTATIONS[s]] !== undefined);
}
