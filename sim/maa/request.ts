/**
 * The body of `POST /attest/SevSnpVm`, read as MAA reads it (the SKR sidecar’s `pkg/attest` request):
 *
 *   { "report": b64url(JSON {SnpReport: b64url(report), VcekCertChain: b64url(PEM VCEK‖ASK‖ARK),
 *                            Endorsements?: b64url(JSON {Uvm: [...]}) }),
 *     "runtimeData":  { "data": b64url(bytes), "dataType": "JSON" },
 *     "initTimeData": { "data": "", "dataType": "" },
 *     "nonce": 13512345678901234567 }
 *
 * Base64 may use either alphabet, padded or not (the sidecar pads URL-safe base64; the REST example
 * sends standard base64); the decoded `report` JSON may carry white space. The SKR sidecar sends
 * `nonce` as a JSON number that can exceed 2^53, so the body is parsed with the number's source text
 * kept — it is echoed digit for digit, as a string. Only the shape is checked here; whether the
 * evidence is genuine and bound is evidence.ts.
 */
import { decodeAnyBase64 } from '../../core/policy/base64.ts';
import { parseRuntimeData } from '../../core/runtime-data/x-ms-runtime.ts';
import { invalidParameter, MaaError } from './errors.ts';

export type DataType = 'JSON' | 'Binary';

/** `runtimeData` / `initTimeData` with bytes; `json` is the parsed object when the type is JSON. */
export interface TypedData {
  readonly bytes: Buffer;
  readonly dataType: DataType;
  readonly json: Record<string, unknown> | undefined;
}

export interface AttestSevSnpRequest {
  /** SnpReport, as sent (its length is the verifier's to judge). */
  readonly report: Buffer;
  /** VcekCertChain: PEM text, VCEK then ASK then ARK. */
  readonly vcekCertChainPem: string;
  /** The decoded Endorsements JSON (UVM reference info), accepted but not verified. */
  readonly endorsements: Record<string, unknown> | undefined;
  readonly runtimeData: TypedData | undefined;
  readonly initTimeData: TypedData | undefined;
  /** The nonce as the caller wrote it: a string, or a number's exact digits. */
  readonly nonce: string | undefined;
}

/** A JSON number kept as its source text. */
class NumberText {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** JSON.parse, keeping the source text of every `nonce` number (ES2025 JSON.parse source access). */
function parseKeepingNonceDigits(text: string): unknown {
  return JSON.parse(text, (key: string, value: unknown, context?: { source?: string }) =>
    key === 'nonce' && typeof value === 'number' ? new NumberText(context?.source ?? String(value)) : value,
  );
}

function decodeBase64(text: string, field: string): Buffer {
  const decoded = decodeAnyBase64(text);
  if ('problem' in decoded) {
    throw invalidParameter(
      'bad-base64',
      `${field} is not valid base64url or base64: ${decoded.problem}.`,
      'MAA expects URL-safe base64 (the SKR sidecar pads it); standard base64 is also read',
    );
  }
  return decoded.bytes;
}

function utf8(bytes: Buffer, field: string, kind: 'report-not-json' | 'endorsements-not-json'): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw invalidParameter(kind, `${field} does not decode to UTF-8 text.`);
  }
}

function jsonObject(text: string, field: string, kind: 'report-not-json' | 'endorsements-not-json'): Json {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw invalidParameter(kind, `${field} does not decode to JSON: ${(err as Error).message}.`);
  }
  if (!isObject(value)) throw invalidParameter(kind, `${field} does not decode to a JSON object.`);
  return value;
}

function requiredString(obj: Json, name: string, field: string): string {
  const v = obj[name];
  if (v === undefined || v === null || v === '') {
    throw invalidParameter('missing-field', `The ${field} member is required.`);
  }
  if (typeof v !== 'string') throw invalidParameter('wrong-type', `${field} must be a string.`);
  return v;
}

function readTypedData(body: Json, name: 'runtimeData' | 'initTimeData'): TypedData | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw invalidParameter('wrong-type', `${name} must be an object {data, dataType}.`);
  const data = v['data'] ?? '';
  const dataType = v['dataType'] ?? '';
  if (typeof data !== 'string') throw invalidParameter('wrong-type', `${name}.data must be a string.`);
  if (typeof dataType !== 'string') {
    throw invalidParameter('wrong-type', `${name}.dataType must be a string.`);
  }
  // The sidecar always sends initTimeData, empty: `{"data":"","dataType":""}` means "none".
  if (data === '' && dataType === '') return undefined;
  const type =
    dataType.toLowerCase() === 'json' ? 'JSON' : dataType.toLowerCase() === 'binary' ? 'Binary' : undefined;
  if (type === undefined) {
    throw invalidParameter(
      'bad-data-type',
      `${name}.dataType '${dataType}' is not supported; use 'JSON' or 'Binary'.`,
      name === 'runtimeData'
        ? "the vault reads x-ms-runtime, which only dataType 'JSON' produces"
        : undefined,
    );
  }
  const bytes = data === '' ? Buffer.alloc(0) : decodeBase64(data, `${name}.data`);
  let json: Json | undefined;
  if (type === 'JSON') {
    try {
      json = parseRuntimeData(bytes);
    } catch (err) {
      throw invalidParameter(
        name === 'runtimeData' ? 'runtime-data-not-json' : 'init-time-data-not-json',
        `${name} has dataType JSON but ${(err as Error).message.replace(/^runtime data/, 'its data')}.`,
      );
    }
  }
  return { bytes, dataType: type, json };
}

function readNonce(body: Json): string | undefined {
  const v = body['nonce'];
  if (v === undefined || v === null) return undefined;
  if (v instanceof NumberText) return v.text;
  if (typeof v === 'string') return v;
  throw invalidParameter('wrong-type', 'nonce must be a string or a number.');
}

/** Reads the raw request body. Throws MaaError (InvalidParameter) naming the field at fault. */
export function parseAttestRequest(raw: Buffer): AttestSevSnpRequest {
  let body: unknown;
  try {
    body = parseKeepingNonceDigits(new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch (err) {
    throw invalidParameter('body-not-json', `The request body is not valid JSON: ${(err as Error).message}.`);
  }
  if (!isObject(body)) throw invalidParameter('body-not-json', 'The request body must be a JSON object.');
  const draft = body['draftPolicyForAttestation'];
  if (draft !== undefined && draft !== null && draft !== '') {
    throw new MaaError(
      'InvalidParameter',
      'unsupported-field',
      'draftPolicyForAttestation is not supported by the SecureKey MAA simulator.',
    );
  }

  const envelope = decodeBase64(requiredString(body, 'report', 'report'), 'report');
  const evidence = jsonObject(utf8(envelope, 'report', 'report-not-json'), 'report', 'report-not-json');
  const report = decodeBase64(requiredString(evidence, 'SnpReport', 'report.SnpReport'), 'report.SnpReport');
  const chainBytes = decodeBase64(
    requiredString(evidence, 'VcekCertChain', 'report.VcekCertChain'),
    'report.VcekCertChain',
  );
  const vcekCertChainPem = utf8(chainBytes, 'report.VcekCertChain', 'report-not-json');
  let endorsements: Json | undefined;
  const e = evidence['Endorsements'];
  if (e !== undefined && e !== null && e !== '') {
    if (typeof e !== 'string') throw invalidParameter('wrong-type', 'report.Endorsements must be a string.');
    const bytes = decodeBase64(e, 'report.Endorsements');
    endorsements = jsonObject(
      utf8(bytes, 'report.Endorsements', 'endorsements-not-json'),
      'report.Endorsements',
      'endorsements-not-json',
    );
  }

  return {
    report,
    vcekCertChainPem,
    endorsements,
    runtimeData: readTypedData(body, 'runtimeData'),
    initTimeData: readTypedData(body, 'initTimeData'),
    nonce: readNonce(body),
  };
}
