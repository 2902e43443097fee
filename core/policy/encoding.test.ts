import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isErrorOf } from '../errors.ts';
import {
  MAX_DECODED_POLICY_BYTES,
  POLICY_CONTENT_TYPE,
  ReleasePolicyError,
  buildPolicy,
  decodeReleasePolicy,
  encodeReleasePolicy,
  evaluatePolicy,
  parsePolicy,
  serializePolicy,
  type ReleasePolicyErrorKind,
} from './index.ts';
import { IMPORTKEY_POLICY, REAL_HOST_DATA, maaContainerClaims } from './published-examples.ts';

const NEU = 'https://sharedneu.neu.attest.azure.net';

function decodeError(wire: unknown, kind: ReleasePolicyErrorKind): ReleasePolicyError {
  try {
    decodeReleasePolicy(wire);
  } catch (err) {
    expect(isErrorOf(err, ReleasePolicyError, kind), String(err)).toBe(true);
    return err as ReleasePolicyError;
  }
  throw new Error(`expected ReleasePolicyError ${kind}`);
}

function wire(data: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { contentType: POLICY_CONTENT_TYPE, data, ...extra };
}

describe('release_policy wire encoding', () => {
  const policy = buildPolicy({
    authorities: [NEU],
    digests: [REAL_HOST_DATA, createHash('sha256').update('other pod').digest('hex')],
    complianceStatuses: ['azure-compliant-uvm'],
    baseClaims: [{ claim: 'x-ms-sevsnpvm-vmpl', equals: '0' }],
  });

  it('encodes the JSON as base64url without padding, immutable only when asked', () => {
    const encoded = encodeReleasePolicy(policy);
    expect(encoded).toEqual({ contentType: 'application/json; charset=utf-8', data: encoded.data });
    expect(encoded.data).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(Buffer.from(encoded.data, 'base64url').toString('utf8')).toBe(serializePolicy(policy));
    expect(encodeReleasePolicy(policy, { immutable: true }).immutable).toBe(true);
    expect(encodeReleasePolicy(policy, { immutable: false })).toHaveProperty('immutable', false);
  });

  it('round-trips build → encode → decode → evaluate: a listed digest is admitted, others refused', () => {
    const back = decodeReleasePolicy(
      JSON.parse(JSON.stringify(encodeReleasePolicy(policy, { immutable: false }))),
    );
    expect(back).toEqual(policy);
    expect(evaluatePolicy(back, maaContainerClaims())).toEqual({
      allowed: true,
      matchedAuthority: NEU,
      reasons: [],
    });
    const stranger = createHash('sha256').update('unknown pod').digest('hex');
    const refused = evaluatePolicy(back, maaContainerClaims({ 'x-ms-sevsnpvm-hostdata': stranger }));
    expect(refused.allowed).toBe(false);
    expect(refused.reasons).toHaveLength(1);
    expect(refused.reasons[0]).toContain(
      `x-ms-sevsnpvm-hostdata: token has "${stranger}", policy wants one of`,
    );
    expect(refused.reasons[0]).toContain(REAL_HOST_DATA);
  });

  it('reads standard base64 as the sidecar CI sends it, padded or not, and base64url padded', () => {
    // A policy whose encoding needs padding and uses the characters the two alphabets spell differently.
    const text = Array.from({ length: 64 }, (_, i) =>
      IMPORTKEY_POLICY.replace('"equals":"0"', `"equals":"${'?'.repeat(i)}"`),
    ).find((t) => /[+/]/.test(Buffer.from(t).toString('base64')) && Buffer.byteLength(t) % 3 !== 0);
    if (text === undefined) throw new Error('no candidate text');
    const std = Buffer.from(text).toString('base64');
    const url = Buffer.from(text).toString('base64url');
    const expected = parsePolicy(JSON.parse(text));
    for (const data of [
      std,
      std.replace(/=+$/, ''),
      url,
      `${url}${'='.repeat((4 - (url.length % 4)) % 4)}`,
    ]) {
      expect(decodeReleasePolicy(wire(data, { immutable: false }))).toEqual(expected);
    }
  });

  it('accepts the content types vaults use and refuses others', () => {
    const data = encodeReleasePolicy(policy).data;
    expect(decodeReleasePolicy({ data })).toEqual(policy);
    expect(
      decodeReleasePolicy(wire(data, { contentType: 'application/json; charset=utf-8; version=1.0' })),
    ).toEqual(policy);
    expect(decodeReleasePolicy(wire(data, { contentType: 'Application/JSON' }))).toEqual(policy);
    decodeError(wire(data, { contentType: 'text/plain' }), 'bad-content-type');
    decodeError(wire(data, { contentType: 'application/json; charset=iso-8859-1' }), 'bad-content-type');
  });

  it('refuses envelopes of the wrong shape', () => {
    decodeError(null, 'bad-envelope');
    decodeError('eyJ9', 'bad-envelope');
    decodeError({ contentType: POLICY_CONTENT_TYPE }, 'bad-envelope');
    decodeError(wire('eyJ9', { immutable: 'no' }), 'bad-envelope');
    decodeError(wire('eyJ9', { contentType: 5 }), 'bad-envelope');
  });

  it('refuses data that is not base64, naming the problem', () => {
    const good = encodeReleasePolicy(policy).data;
    expect(decodeError(wire(`${good.slice(0, 10)}!${good.slice(11)}`), 'bad-base64').message).toContain(
      'offset 10',
    );
    expect(decodeError(wire(`${good.slice(0, 10)} ${good.slice(10)}`), 'bad-base64').message).toContain(
      'offset 10',
    );
    expect(decodeError(wire('ab-d+f=='), 'bad-base64').message).toMatch(/mixes/);
    decodeError(wire('abcde'), 'bad-base64');
    decodeError(wire('abcdef='), 'bad-base64');
    decodeError(wire(''), 'bad-base64');
    // "QR" is one byte (0x41) with stray low bits in R: a tampered last character.
    expect(decodeError(wire('QR'), 'bad-base64').message).toMatch(/bits/);
    expect(Buffer.from('QQ', 'base64url').toString()).toBe('A');
  });

  it('refuses data that is not UTF-8 JSON, or not a valid policy', () => {
    decodeError(wire(Buffer.from('not json').toString('base64url')), 'bad-json');
    decodeError(wire(Buffer.from([0x7b, 0xff, 0x7d]).toString('base64url')), 'bad-json');
    const noVersion = JSON.stringify({ anyOf: JSON.parse(serializePolicy(policy)).anyOf });
    const err = decodeError(wire(Buffer.from(noVersion).toString('base64url')), 'missing-version');
    expect(err.path).toBe('version');
  });

  it('refuses to read an absurdly large document', () => {
    const huge = Buffer.alloc(MAX_DECODED_POLICY_BYTES + 1, 0x20).toString('base64url');
    decodeError(wire(huge), 'policy-too-large');
  });
});
