import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { testdata } from '../../test/support/paths.ts';
import { isErrorOf } from '../errors.ts';
import { DigestError, type DigestErrorKind } from './errors.ts';
import { MAX_INITDATA_HEADER_BYTES, POLICY_ANNOTATIONS, detectPolicyScheme, policyDigest } from './index.ts';

const realPolicy = readFileSync(testdata('snp-real/policy.base64'), 'utf8').trim();
// HOST_DATA of the real Milan report in testdata/snp-real, pinned from that policy.
const realHostData = 'cadd74f71ebb8fbf9782baab649612520f3c416bc5ce9ac768808ddc8d9b031c';

const KATA = POLICY_ANNOTATIONS['kata-agent-policy'];
const INITDATA = POLICY_ANNOTATIONS['kata-initdata'];

function initdata(toml: string): string {
  return gzipSync(Buffer.from(toml)).toString('base64');
}

function expectDigestError(fn: () => unknown, kind: DigestErrorKind, text?: RegExp): DigestError {
  try {
    fn();
  } catch (err) {
    expect(isErrorOf(err, DigestError, kind), String(err)).toBe(true);
    if (text) expect((err as Error).message).toMatch(text);
    return err as DigestError;
  }
  throw new Error(`expected DigestError ${kind}`);
}

describe('policyDigest', () => {
  it('reproduces the HOST_DATA of a real SNP report from its policy (agent policy and CCE)', () => {
    expect(policyDigest('kata-agent-policy', { [KATA]: realPolicy })).toEqual({
      scheme: 'kata-agent-policy',
      annotation: KATA,
      digest: realHostData,
    });
    const cce = POLICY_ANNOTATIONS['aci-cce'];
    expect(policyDigest('aci-cce', { [cce]: realPolicy }).digest).toBe(realHostData);
  });

  it('skips line breaks the way Go StdEncoding does, and nothing else', () => {
    const wrapped = realPolicy.replace(/(.{76})/g, '$1\r\n');
    expect(policyDigest('kata-agent-policy', { [KATA]: wrapped }).digest).toBe(realHostData);
    const spaced = `${realPolicy.slice(0, 10)} ${realPolicy.slice(10)}`;
    const err = expectDigestError(() => policyDigest('kata-agent-policy', { [KATA]: spaced }), 'bad-base64');
    expect(err.message).toContain(KATA);
    expect(err.message).toContain('offset 10');
  });

  it('refuses an annotation that is not a string with a DigestError', () => {
    // Found by fuzzing: `[false]` reached the base64 decoder and threw a TypeError.
    const cce = POLICY_ANNOTATIONS['aci-cce'];
    const notString = { [cce]: [false] } as unknown as Record<string, string>;
    expectDigestError(() => policyDigest('aci-cce', notString), 'not-a-string', /ccepolicy: holds a list/);
  });

  it('names the annotation and the base64 problem', () => {
    expectDigestError(
      () => policyDigest('kata-agent-policy', { [KATA]: 'cGFja2FnZQ' }),
      'bad-base64',
      /multiple of 4/,
    );
    expectDigestError(
      () => policyDigest('kata-agent-policy', { [KATA]: 'cGFj_2Fn' }),
      'bad-base64',
      /"_" at offset 4/,
    );
    expectDigestError(
      () => policyDigest('kata-agent-policy', { [KATA]: 'cG==ZQ==' }),
      'bad-base64',
      /padding/,
    );
    expectDigestError(() => policyDigest('kata-agent-policy', { [KATA]: '' }), 'bad-base64', /empty/);
  });

  it('reports a missing annotation with a hint', () => {
    const err = expectDigestError(
      () => policyDigest('kata-agent-policy', { other: 'x' }),
      'annotation-missing',
    );
    expect(err.annotation).toBe(KATA);
    expect(err.hint).toMatch(/securekey inject/);
    expectDigestError(() => policyDigest('aci-cce', undefined), 'annotation-missing');
  });

  describe('kata-initdata', () => {
    const toml = (alg: string, version = '0.1.0') =>
      `algorithm = "${alg}"\nversion = "${version}"\n\n[data]\n"policy.rego" = '''\npackage agent_policy\ndefault AllowRequestsFailingPolicy := false\n'''\n`;

    it('hashes the decompressed TOML bytes with its own algorithm, fitted to 32 bytes', () => {
      for (const alg of ['sha256', 'sha384', 'sha512']) {
        const doc = toml(alg);
        const expected = createHash(alg).update(doc).digest().subarray(0, 32).toString('hex');
        expect(policyDigest('kata-initdata', { [INITDATA]: initdata(doc) }).digest).toBe(expected);
      }
    });

    it('does not depend on gzip settings, only on the TOML bytes', () => {
      const doc = toml('sha384');
      const a = gzipSync(Buffer.from(doc), { level: 1 }).toString('base64');
      const b = gzipSync(Buffer.from(doc), { level: 9 }).toString('base64');
      expect(policyDigest('kata-initdata', { [INITDATA]: a })).toEqual(
        policyDigest('kata-initdata', { [INITDATA]: b }),
      );
    });

    it('accepts white space in the base64 as the Rust runtime does', () => {
      const v = initdata(toml('sha256'));
      const spaced = `${v.slice(0, 8)} \n\t${v.slice(8)}`;
      expect(policyDigest('kata-initdata', { [INITDATA]: spaced })).toEqual(
        policyDigest('kata-initdata', { [INITDATA]: v }),
      );
    });

    it('rejects what the runtime rejects, each with its own kind', () => {
      const plainB64 = Buffer.from(toml('sha256')).toString('base64');
      expectDigestError(() => policyDigest('kata-initdata', { [INITDATA]: plainB64 }), 'bad-gzip', /gzip/);
      expectDigestError(
        () => policyDigest('kata-initdata', { [INITDATA]: initdata(toml('md5')) }),
        'unsupported-initdata-algorithm',
        /"md5"/,
      );
      expectDigestError(
        () => policyDigest('kata-initdata', { [INITDATA]: initdata(toml('sha256', '0.2.0')) }),
        'unsupported-initdata-version',
      );
      expectDigestError(
        () => policyDigest('kata-initdata', { [INITDATA]: initdata('version = "0.1.0"\n[data]\n') }),
        'bad-initdata',
        /no top-level algorithm/,
      );
      expectDigestError(
        () =>
          policyDigest('kata-initdata', {
            [INITDATA]: initdata('algorithm = "sha256"\nalgorithm = "sha384"\nversion = "0.1.0"\n'),
          }),
        'bad-initdata',
        /twice/,
      );
      // Keys inside [data] are data, not the header.
      expectDigestError(
        () =>
          policyDigest('kata-initdata', {
            [INITDATA]: initdata('[data]\nalgorithm = "sha256"\nversion = "0.1.0"\n'),
          }),
        'bad-initdata',
      );
    });

    it('reads the header from the first bytes only, and refuses a longer top level with a typed error', () => {
      const header = 'version = "0.1.0"\nalgorithm = "sha256"\n';
      const big = `${header}[data]\n"policy.rego" = '''\n${'allow := true\n'.repeat(200_000)}'''\n`;
      const expected = createHash('sha256').update(big).digest('hex');
      expect(policyDigest('kata-initdata', { [INITDATA]: initdata(big) }).digest).toBe(expected);
      const padded = `${header}${'# a comment line\n'.repeat(300)}[data]\n`;
      expect(padded.indexOf('[data]')).toBeGreaterThan(MAX_INITDATA_HEADER_BYTES);
      expectDigestError(
        () => policyDigest('kata-initdata', { [INITDATA]: initdata(padded) }),
        'initdata-header-too-large',
        /more than 4096 bytes before its first table/,
      );
      // A key defined twice is found however close to the cap it sits.
      const twice = `${header}${'#'.repeat(MAX_INITDATA_HEADER_BYTES - header.length - 30)}\nversion = "0.1.0"\n[data]\n`;
      expectDigestError(
        () => policyDigest('kata-initdata', { [INITDATA]: initdata(twice) }),
        'bad-initdata',
        /twice/,
      );
    });

    it('refuses initdata that is not UTF-8 anywhere, not only in its header', () => {
      const doc = Buffer.concat([
        Buffer.from('version = "0.1.0"\nalgorithm = "sha256"\n[data]\nx = "'),
        Buffer.alloc(9000, 0x61),
        Buffer.from([0xff, 0x22, 0x0a]),
      ]);
      expectDigestError(
        () => policyDigest('kata-initdata', { [INITDATA]: gzipSync(doc).toString('base64') }),
        'bad-initdata',
        /not UTF-8/,
      );
    });

    it('refuses a gzip bomb instead of inflating it', () => {
      const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024, 0x61)).toString('base64');
      expectDigestError(() => policyDigest('kata-initdata', { [INITDATA]: bomb }), 'too-large');
    });
  });

  it('detects the scheme a pod uses', () => {
    expect(detectPolicyScheme({ [KATA]: 'x' })).toBe('kata-agent-policy');
    expect(detectPolicyScheme({ [KATA]: 'x', [INITDATA]: 'y' })).toBe('kata-initdata');
    expect(detectPolicyScheme({ [POLICY_ANNOTATIONS['aci-cce']]: 'z' })).toBe('aci-cce');
    expect(detectPolicyScheme({})).toBeUndefined();
  });
});
