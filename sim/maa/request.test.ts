import { describe, expect, it } from 'vitest';
import { MAA_RUNTIME_DATA_B64 } from '../../test/support/microsoft-vectors.ts';
import { MaaError } from './errors.ts';
import { parseAttestRequest } from './request.ts';
import { goUrlBase64, sidecarRequestBody } from '../../test/support/sim/sidecar-request.ts';

const REPORT = Buffer.alloc(1184, 0xab);
const CHAIN = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
const RUNTIME = Buffer.from('{"keys":[]}');

const parse = (text: string) => parseAttestRequest(Buffer.from(text));

function kindOf(text: string): string {
  try {
    parse(text);
  } catch (err) {
    expect(err).toBeInstanceOf(MaaError);
    expect((err as MaaError).code).toBe('InvalidParameter');
    return (err as MaaError).kind;
  }
  throw new Error('expected a refusal');
}

function evidence(members: Record<string, unknown>, encode: (s: string) => string = goUrlBase64): string {
  return encode(JSON.stringify(members));
}

describe('parseAttestRequest', () => {
  it('reads the sidecar body: padded base64url, empty initTimeData, a uint64 nonce digit for digit', () => {
    for (const nonce of [13512345678901234567n, 18446744073709551615n, 9007199254740993n, 0n]) {
      const r = parse(
        sidecarRequestBody({ report: REPORT, vcekCertChain: CHAIN, runtimeData: RUNTIME, nonce }),
      );
      expect(r.nonce).toBe(nonce.toString());
      expect(r.report.equals(REPORT)).toBe(true);
      expect(r.vcekCertChainPem).toBe(CHAIN);
      expect(r.runtimeData).toEqual({ bytes: RUNTIME, dataType: 'JSON', json: { keys: [] } });
      expect(r.initTimeData).toBeUndefined();
      expect(r.endorsements).toBeUndefined();
    }
  });

  it('reads standard or unpadded base64 and white space in the decoded report JSON', () => {
    const pretty = `\n        {\n            "SnpReport" : "${REPORT.toString('base64')}",\n            "VcekCertChain" : "${Buffer.from(CHAIN).toString('base64url')}"\n        }\n        `;
    for (const report of [
      Buffer.from(pretty).toString('base64url'),
      Buffer.from(pretty).toString('base64'),
    ]) {
      const r = parse(
        JSON.stringify({
          report,
          runtimeData: { data: MAA_RUNTIME_DATA_B64, dataType: 'JSON' },
          nonce: 'n-1',
        }),
      );
      expect(r.report.equals(REPORT)).toBe(true);
      expect(r.vcekCertChainPem).toBe(CHAIN);
      expect(Object.keys(r.runtimeData!.json!)).toEqual(['keys', 'vm-configuration']);
      expect(r.nonce).toBe('n-1');
    }
  });

  it('takes a string nonce as is and no nonce as none; other types are refused', () => {
    const base = { report: evidence({ SnpReport: 'AAAA', VcekCertChain: 'AAAA' }) };
    expect(parse(JSON.stringify({ ...base, nonce: '0012' })).nonce).toBe('0012');
    expect(parse(JSON.stringify(base)).nonce).toBeUndefined();
    expect(kindOf(JSON.stringify({ ...base, nonce: true }))).toBe('wrong-type');
    // A nested "nonce" number is not the request's nonce.
    expect(parse(JSON.stringify({ ...base, x: { nonce: 1 } })).nonce).toBeUndefined();
  });

  it('decodes Endorsements and typed data of either type, any case', () => {
    const r = parse(
      JSON.stringify({
        report: evidence({
          SnpReport: 'AAAA',
          VcekCertChain: 'AAAA',
          Endorsements: goUrlBase64('{"Uvm":["AAAA"]}'),
        }),
        runtimeData: { data: 'AAEC', dataType: 'binary' },
        initTimeData: { data: goUrlBase64('{"a":1}'), dataType: 'json' },
      }),
    );
    expect(r.endorsements).toEqual({ Uvm: ['AAAA'] });
    expect(r.runtimeData).toEqual({ bytes: Buffer.from([0, 1, 2]), dataType: 'Binary', json: undefined });
    expect(r.initTimeData?.json).toEqual({ a: 1 });
  });

  it('refuses malformed requests with a kind naming the problem', () => {
    const good = { SnpReport: 'AAAA', VcekCertChain: 'AAAA' };
    const cases: [string, string][] = [
      ['', 'body-not-json'],
      ['{"report":', 'body-not-json'],
      ['"report"', 'body-not-json'],
      [JSON.stringify({}), 'missing-field'],
      [JSON.stringify({ report: 12 }), 'wrong-type'],
      [JSON.stringify({ report: 'a b' }), 'bad-base64'],
      [JSON.stringify({ report: 'ab-+' }), 'bad-base64'],
      [JSON.stringify({ report: goUrlBase64('[1]') }), 'report-not-json'],
      [JSON.stringify({ report: evidence({ SnpReport: 'AAAA' }) }), 'missing-field'],
      [JSON.stringify({ report: evidence({ ...good, Endorsements: 5 }) }), 'wrong-type'],
      [
        JSON.stringify({ report: evidence({ ...good, Endorsements: goUrlBase64('x') }) }),
        'endorsements-not-json',
      ],
      [JSON.stringify({ report: evidence(good), runtimeData: 'AAAA' }), 'wrong-type'],
      [
        JSON.stringify({ report: evidence(good), runtimeData: { data: 'AAAA', dataType: 'Text' } }),
        'bad-data-type',
      ],
      [JSON.stringify({ report: evidence(good), runtimeData: { data: 'AAAA' } }), 'bad-data-type'],
      [
        JSON.stringify({
          report: evidence(good),
          runtimeData: { data: goUrlBase64('[1]'), dataType: 'JSON' },
        }),
        'runtime-data-not-json',
      ],
      [
        JSON.stringify({
          report: evidence(good),
          initTimeData: { data: goUrlBase64('a = 1'), dataType: 'JSON' },
        }),
        'init-time-data-not-json',
      ],
      [
        JSON.stringify({ report: evidence(good), draftPolicyForAttestation: 'version=1.0;' }),
        'unsupported-field',
      ],
    ];
    for (const [text, kind] of cases) expect(kindOf(text), text).toBe(kind);
  });
});
