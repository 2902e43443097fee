/**
 * The SKR sidecar's local API, as its clients send it (Microsoft's confidential-sidecar-containers,
 * `cmd/skr` README and its HTTP handlers): JSON bodies whose required fields must be non-empty strings,
 * `runtime_data` in standard base64 with padding. Pure: parsing, and which of the pod's keys a request
 * names.
 */
import type { KeySpec } from '../config.ts';

export interface KeyReleaseRequest {
  maaEndpoint: string;
  akvEndpoint: string;
  /** The key name, or `name/version`, as the sidecar pastes it into `/keys/{kid}/release`. */
  kid: string;
  /** Accepted and ignored: the agent releases with its own workload identity. */
  accessToken?: string;
}

export interface MaaAttestRequest {
  maaEndpoint: string;
  runtimeData: Buffer;
}

export interface RawAttestRequest {
  runtimeData: Buffer;
}

/** A body the API refuses with 400, and why. */
export class BadSkrRequest extends Error {}

/** The largest body read (the sidecar's bodies are a few hundred bytes; runtime data a few KiB). */
export const MAX_BODY_BYTES = 64 * 1024;

export function keyReleaseRequest(body: string): KeyReleaseRequest {
  const o = jsonObject(body);
  const accessToken = o['access_token'];
  if (accessToken !== undefined && typeof accessToken !== 'string') {
    throw new BadSkrRequest('invalid request format: access_token must be a string');
  }
  return {
    maaEndpoint: required(o, 'maa_endpoint'),
    akvEndpoint: required(o, 'akv_endpoint'),
    kid: required(o, 'kid'),
    ...(accessToken ? { accessToken } : {}),
  };
}

export function maaAttestRequest(body: string): MaaAttestRequest {
  const o = jsonObject(body);
  const maaEndpoint = required(o, 'maa_endpoint');
  return { maaEndpoint, runtimeData: runtimeData(required(o, 'runtime_data')) };
}

export function rawAttestRequest(body: string): RawAttestRequest {
  return { runtimeData: runtimeData(required(jsonObject(body), 'runtime_data')) };
}

/**
 * The pod's key a release request names: the key name (and the version, if given) on that vault host,
 * released to that attestation authority's tokens. Undefined when the pod's SecureKeys name no such key.
 */
export function keyNamed(keys: readonly KeySpec[], r: KeyReleaseRequest): KeySpec | undefined {
  const [name = '', version, ...rest] = r.kid.split('/');
  if (rest.length > 0) return undefined;
  return keys.find(
    (k) =>
      sameText(k.name, name) &&
      (version === undefined || k.version === undefined || k.version === version) &&
      sameHost(k.vaultUrl, r.akvEndpoint) &&
      sameHost(k.attestationUrl, r.maaEndpoint),
  );
}

/** `endpoint` (a host, as the sidecar's clients send it, no scheme) is the host of `url`. */
export function sameHost(url: string, endpoint: string): boolean {
  const u = new URL(url);
  const e = endpoint.toLowerCase().replace(/\/+$/, '');
  return e === u.host.toLowerCase() || (u.port === '' && e === `${u.hostname.toLowerCase()}:443`);
}

/** REPORT_DATA for caller's runtime data, as the sidecar makes it: sha256(data) ‖ 32 zero bytes. */
export function reportDataFor(data: Uint8Array, sha256: (d: Uint8Array) => Buffer): Buffer {
  return Buffer.concat([sha256(data), Buffer.alloc(32)]);
}

function sameText(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function jsonObject(body: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new BadSkrRequest('invalid request format: the body is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new BadSkrRequest('invalid request format: the body is not a JSON object');
  }
  return parsed as Record<string, unknown>;
}

function required(o: Record<string, unknown>, field: string): string {
  const v = o[field];
  if (typeof v !== 'string' || v === '') {
    throw new BadSkrRequest(
      `invalid request format: ${field} is ${v === undefined || v === '' ? 'required' : 'not a string'}`,
    );
  }
  return v;
}

const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Standard base64 with padding, as Go's base64.StdEncoding decodes it: no URL alphabet, no missing `=`. */
function runtimeData(text: string): Buffer {
  if (!STD_BASE64.test(text)) {
    throw new BadSkrRequest(
      'decoding base64-encoded runtime data of request failed: not standard base64 with padding',
    );
  }
  return Buffer.from(text, 'base64');
}
