import { decodeAnyBase64 } from './base64.ts';
import { ReleasePolicyError } from './errors.ts';
import { MAX_DECODED_POLICY_BYTES } from './limits.ts';
import { parsePolicy } from './parse.ts';
import type { ReleasePolicy, WireReleasePolicy } from './types.ts';

/** What we send; the vault's default too (7.4 spec). */
export const POLICY_CONTENT_TYPE = 'application/json; charset=utf-8';

/**
 * The policy as JSON text: compact, members in document order. Built and parsed policies hold their
 * members in one fixed order, so equal policies serialise to equal bytes.
 */
export function serializePolicy(policy: ReleasePolicy): string {
  return JSON.stringify(policy);
}

/** `release_policy` for create, import and update requests: data is base64url without padding. */
export function encodeReleasePolicy(
  policy: ReleasePolicy,
  options: { immutable?: boolean } = {},
): WireReleasePolicy {
  const wire: WireReleasePolicy = {
    contentType: POLICY_CONTENT_TYPE,
    data: Buffer.from(serializePolicy(policy), 'utf8').toString('base64url'),
  };
  if (options.immutable !== undefined) wire.immutable = options.immutable;
  return wire;
}

function checkContentType(contentType: unknown): void {
  if (contentType === undefined) return;
  if (typeof contentType !== 'string') {
    throw new ReleasePolicyError('bad-envelope', 'release_policy.contentType must be a string');
  }
  // The 7.4 spec example sends `application/json; charset=utf-8; version=1.0`: parameters may follow.
  const [type = '', ...params] = contentType.split(';').map((p) => p.trim().toLowerCase());
  const charset = params.find((p) => p.startsWith('charset='));
  if (type !== 'application/json' || (charset !== undefined && charset !== 'charset=utf-8')) {
    throw new ReleasePolicyError(
      'bad-content-type',
      `release_policy.contentType ${JSON.stringify(contentType)} is not UTF-8 JSON`,
      {
        hint: `send ${POLICY_CONTENT_TYPE}`,
      },
    );
  }
}

/** The JSON document inside `release_policy.data`, not yet validated as a policy. */
export function decodePolicyDocument(wire: unknown): unknown {
  if (typeof wire !== 'object' || wire === null || Array.isArray(wire)) {
    throw new ReleasePolicyError(
      'bad-envelope',
      'release_policy must be an object {contentType, data, immutable}',
    );
  }
  const { contentType, data, immutable } = wire as Record<string, unknown>;
  checkContentType(contentType);
  if (immutable !== undefined && typeof immutable !== 'boolean') {
    throw new ReleasePolicyError('bad-envelope', 'release_policy.immutable must be a boolean');
  }
  if (typeof data !== 'string') {
    throw new ReleasePolicyError('bad-envelope', 'release_policy.data must be a base64url string', {
      hint: 'an SDK given the policy as text instead of bytes sends no data (the vault then answers AKV.SKR.1004)',
    });
  }
  const decoded = decodeAnyBase64(data);
  if ('problem' in decoded) {
    throw new ReleasePolicyError('bad-base64', `release_policy.data is not base64: ${decoded.problem}`);
  }
  if (decoded.bytes.length > MAX_DECODED_POLICY_BYTES) {
    throw new ReleasePolicyError(
      'policy-too-large',
      `release_policy.data holds ${decoded.bytes.length} bytes, more than the ${MAX_DECODED_POLICY_BYTES} we read`,
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(decoded.bytes);
  } catch (err) {
    throw new ReleasePolicyError('bad-json', 'release_policy.data does not decode to UTF-8 text', {
      cause: err,
    });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ReleasePolicyError('bad-json', `release_policy.data is not JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** Reads `release_policy` from a vault response or request and validates the policy inside. */
export function decodeReleasePolicy(wire: unknown): ReleasePolicy {
  return parsePolicy(decodePolicyDocument(wire));
}
