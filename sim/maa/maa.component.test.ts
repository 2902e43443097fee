import crypto, { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACI_RUNTIME_DATA_B64 } from '../../test/support/microsoft-vectors.ts';
import { reportDataFor } from '../../core/runtime-data/report-data.ts';
import { composeTcb, OFFSET } from '../../core/snp/index.ts';
import { buildArk, buildAsk, fixtureAmdKeys, fixtureRootKeys } from '../amd/hierarchy.ts';
import { flipBit, realReport, thim } from '../../test/support/snp.ts';
import { createSimulatorCa, type SimulatorCa } from '../common/tls.ts';
import { DENY_DEBUG_POLICY, PERMIT_ALL_POLICY } from './attestation-policy.ts';
import { amdArks } from './trusted-arks.ts';
import { startMaa, type RunningMaa } from './start.ts';
import { signUvmReferenceInfo, simulatedUvmIssuer, simulatedUvmSigningRoot } from '../uvm/index.ts';
import { request, verifyViaDiscovery, type HttpResult } from '../../test/support/sim/maa-relying-party.ts';
import {
  chainPem,
  fakeSnp,
  goUrlBase64,
  MILAN_REPORTED_TCB,
  REPORT_FIELDS,
  sidecarRequestBody,
  signedReport,
  type FakeSnp,
} from '../../test/support/sim/sidecar-request.ts';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const NOW_S = NOW / 1000;
/** A random uint64 above 2^53, as the sidecar's nonce can be. */
const NONCE = 13512345678901234567n;
/** The runtime JWKS a real SKR sidecar produced (ACI example). */
const RUNTIME = Buffer.from(ACI_RUNTIME_DATA_B64, 'base64');

let ca: SimulatorCa;
let snp: FakeSnp;
/** Same ASK and VCEK keys, but the ASK signed by a different "ARK-Milan". */
let impostor: { ark: X509Certificate; ask: X509Certificate };
let maa: RunningMaa;
let strict: RunningMaa;

beforeAll(async () => {
  ca = createSimulatorCa();
  const keys = fixtureAmdKeys();
  snp = fakeSnp(keys);
  // Genoa's fixture ARK key under Milan's name: an ARK-Milan that is not the trusted one.
  const otherArkKey = fixtureRootKeys('Genoa').ark;
  const ark = buildArk('Milan', otherArkKey);
  impostor = { ark, ask: buildAsk('Milan', keys.ask, { cert: ark, privateKey: otherArkKey.privateKey }) };
  const uvmSigningRoots = [simulatedUvmSigningRoot()];
  maa = await startMaa({ ca, trustedArks: [snp.ark], uvmSigningRoots, now: () => NOW });
  strict = await startMaa({
    ca,
    name: 'strict',
    trustedArks: [snp.ark],
    uvmSigningRoots,
    refuseDebug: true,
    now: () => NOW,
  });
}, 180_000);

afterAll(async () => {
  await maa?.close();
  await strict?.close();
});

interface Evidence {
  report?: Buffer;
  chain?: string;
  runtime?: Buffer;
  debug?: boolean;
}

/** A sidecar-shaped body for evidence that, by default, is genuine and bound to RUNTIME. */
function body(e: Evidence = {}): string {
  const runtime = e.runtime ?? RUNTIME;
  return sidecarRequestBody({
    report: e.report ?? signedReport(snp, { reportData: reportDataFor(runtime), debug: e.debug === true }),
    vcekCertChain: e.chain ?? chainPem(snp.vcek, snp.ask, snp.ark),
    runtimeData: runtime,
    nonce: NONCE,
    // The UVM reference info of the test reports' image, as the sidecar sends it.
    endorsements: { Uvm: [goUrlBase64(signUvmReferenceInfo({ measurement: REPORT_FIELDS.measurement }))] },
  });
}

function attest(
  instance: RunningMaa,
  requestBody: string,
  o: { type?: string; apiVersion?: string | null } = {},
): Promise<HttpResult> {
  const query = o.apiVersion === null ? '' : `?api-version=${o.apiVersion ?? '2020-10-01'}`;
  return request(`${instance.url}/attest/${o.type ?? 'SevSnpVM'}${query}`, instance.caPem, {
    method: 'POST',
    body: requestBody,
    headers: { 'content-type': 'application/json' },
  });
}

function expectRefusal(res: HttpResult, status: number, code: string, kind: string, message: RegExp): void {
  const error = (res.json as { error?: { code?: string; message?: string; innererror?: { code?: string } } })
    ?.error;
  expect(res.status, res.text).toBe(status);
  expect(error?.code, res.text).toBe(code);
  expect(error?.innererror?.code, res.text).toBe(kind);
  expect(error?.message).toMatch(message);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
}

function tokenOf(res: HttpResult): string {
  expect(res.status, res.text).toBe(200);
  const token = (res.json as { token?: unknown }).token;
  expect(typeof token).toBe('string');
  return token as string;
}

const hex = (b: Buffer): string => b.toString('hex');
const policyHash = (text: string): string =>
  crypto.createHash('sha256').update(Buffer.from(text).toString('base64url')).digest('base64url');

describe('a request built exactly as the SKR sidecar builds it', () => {
  it('gets a token that verifies through the OpenID metadata and /certs, with MAA’s claims and types', async () => {
    const res = await attest(maa, body(), { type: 'SevSnpVM', apiVersion: '2020-10-01' });
    const token = tokenOf(res);
    const { payload, header, metadata, jwks } = await verifyViaDiscovery(
      token,
      maa.issuer,
      maa.caPem,
      new Date(NOW),
    );

    expect(metadata).toEqual({
      claims_supported: expect.arrayContaining(['x-ms-runtime', 'x-ms-sevsnpvm-hostdata']),
      id_token_signing_alg_values_supported: ['RS256'],
      issuer: maa.issuer,
      jwks_uri: `${maa.issuer}/certs`,
      response_types_supported: ['token', 'none'],
      revocation_endpoint: `${maa.issuer}/revoke`,
    });
    expect(maa.issuer).toBe(maa.url);
    expect(maa.issuer).not.toMatch(/\/$/);

    // Header as MAA's: alg, jku, kid (standard base64 of a 32-byte thumbprint of the x5c certificate), typ.
    expect(Object.keys(header)).toEqual(['alg', 'jku', 'kid', 'typ']);
    expect(header).toMatchObject({ alg: 'RS256', jku: `${maa.issuer}/certs`, typ: 'JWT' });
    const kid = header['kid'] as string;
    expect(Buffer.from(kid, 'base64')).toHaveLength(32);
    expect(Buffer.from(kid, 'base64').toString('base64')).toBe(kid);
    const jwk = jwks.keys.find((k) => k['kid'] === kid)!;
    expect(Object.keys(jwk).sort()).toEqual(['alg', 'kid', 'kty', 'use', 'x5c']);
    expect(jwk).toMatchObject({ alg: 'RS256', kty: 'RSA', use: 'sig' });
    const der = Buffer.from((jwk['x5c'] as string[])[0]!, 'base64');
    expect(crypto.createHash('sha256').update(der).digest('base64')).toBe(kid);
    expect(new X509Certificate(der).verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);

    const { jti, ...claims } = payload;
    expect(jti).toMatch(/^[0-9a-f]{64}$/);
    expect(claims).toEqual({
      exp: NOW_S + 28_800,
      iat: NOW_S,
      nbf: NOW_S,
      iss: maa.issuer,
      nonce: NONCE.toString(),
      'x-ms-attestation-type': 'sevsnpvm',
      'x-ms-compliance-status': 'azure-signed-katacc-uvm',
      'x-ms-policy-hash': policyHash(PERMIT_ALL_POLICY),
      'x-ms-runtime': JSON.parse(RUNTIME.toString('utf8')),
      'x-ms-sevsnpvm-authorkeydigest': hex(REPORT_FIELDS.authorKeyDigest),
      'x-ms-sevsnpvm-bootloader-svn': 9,
      'x-ms-sevsnpvm-familyId': '0100000000000000000000000000000f',
      'x-ms-sevsnpvm-guestsvn': 7,
      'x-ms-sevsnpvm-hostdata': hex(REPORT_FIELDS.hostData),
      'x-ms-sevsnpvm-idkeydigest': hex(REPORT_FIELDS.idKeyDigest),
      'x-ms-sevsnpvm-imageId': '0200000000000000000000000000000e',
      'x-ms-sevsnpvm-is-debuggable': false,
      'x-ms-sevsnpvm-launchmeasurement': hex(REPORT_FIELDS.measurement),
      'x-ms-sevsnpvm-microcode-svn': 210,
      'x-ms-sevsnpvm-migration-allowed': false,
      'x-ms-sevsnpvm-reportdata': crypto.createHash('sha256').update(RUNTIME).digest('hex') + '0'.repeat(64),
      'x-ms-sevsnpvm-reportid': hex(REPORT_FIELDS.reportId),
      'x-ms-sevsnpvm-smt-allowed': true,
      'x-ms-sevsnpvm-snpfw-svn': 23,
      'x-ms-sevsnpvm-tee-svn': 0,
      'x-ms-sevsnpvm-uvm-endorsement': {
        'x-ms-sevsnpvm-guestsvn': '100',
        'x-ms-sevsnpvm-launchmeasurement': hex(REPORT_FIELDS.measurement),
      },
      'x-ms-sevsnpvm-uvm-endorsement-headers': { feed: 'ContainerPlat-AMD-UVM', iss: simulatedUvmIssuer() },
      'x-ms-sevsnpvm-vmpl': 0,
      'x-ms-ver': '1.0',
    });
    expect(claims['exp']! - claims['iat']!).toBe(28_800);

    // The payload is written as MAA writes it: members sorted at every level.
    const raw = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
    expect(Object.keys(raw)).toEqual(Object.keys(raw).sort());
    const runtimeKey = (raw['x-ms-runtime'] as { keys: Record<string, unknown>[] }).keys[0]!;
    expect(Object.keys(runtimeKey)).toEqual(['e', 'key_ops', 'kid', 'kty', 'n']);
  });

  it.each(['2020-10-01', '2022-08-01', '2025-06-01'])('is accepted at api-version %s', async (apiVersion) => {
    for (const type of ['SevSnpVm', 'sevsnpvm', 'SEVSNPVM']) {
      const res = await attest(maa, body(), { type, apiVersion });
      await expect(
        verifyViaDiscovery(tokenOf(res), maa.issuer, maa.caPem, new Date(NOW)),
      ).resolves.toBeDefined();
    }
  });

  it('also reads the REST example’s forms: pretty-printed report JSON, unpadded and standard base64', async () => {
    const report = signedReport(snp, { reportData: reportDataFor(RUNTIME) });
    const evidence = `\n        {\n            "SnpReport" : "${report.toString('base64url')}",\n            "VcekCertChain" : "${Buffer.from(chainPem(snp.vcek, snp.ask, snp.ark)).toString('base64url')}"\n        }\n        `;
    const res = await attest(
      maa,
      JSON.stringify({
        report: Buffer.from(evidence).toString('base64url'),
        runtimeData: { data: RUNTIME.toString('base64'), dataType: 'JSON' },
        nonce: 'noncesevsnp987',
      }),
      { type: 'SevSnpVm', apiVersion: '2025-06-01' },
    );
    const { payload } = await verifyViaDiscovery(tokenOf(res), maa.issuer, maa.caPem, new Date(NOW));
    expect(payload['nonce']).toBe('noncesevsnp987');
    expect(payload['x-ms-sevsnpvm-hostdata']).toBe(hex(REPORT_FIELDS.hostData));
  });
});

describe('refusals: 400 with a CloudError naming what failed', () => {
  it('a bit flipped in the report → InvalidQuote signature-invalid', async () => {
    const report = flipBit(signedReport(snp, { reportData: reportDataFor(RUNTIME) }), OFFSET.HOST_DATA);
    expectRefusal(
      await attest(maa, body({ report })),
      400,
      'InvalidQuote',
      'signature-invalid',
      /report signature/,
    );
  });

  it('a chain to a different ARK → InvalidQuote untrusted-root', async () => {
    const chain = chainPem(snp.vcek, impostor.ask, impostor.ark);
    expectRefusal(
      await attest(maa, body({ chain })),
      400,
      'InvalidQuote',
      'untrusted-root',
      /not the pinned ARK/,
    );
    // The real AMD chain of real hardware, to an instance that trusts only the fake ARK.
    const real = sidecarRequestBody({
      report: realReport,
      vcekCertChain: thim.vcekCert + thim.certificateChain,
    });
    expectRefusal(await attest(maa, real), 400, 'InvalidQuote', 'untrusted-root', /not the pinned ARK/);
  });

  it('an ASK in the ARK slot → InvalidQuote ask-in-ark-slot', async () => {
    const chain = chainPem(snp.vcek, snp.ask, snp.ask);
    expectRefusal(
      await attest(maa, body({ chain })),
      400,
      'InvalidQuote',
      'ask-in-ark-slot',
      /ARK slot holds an ASK/,
    );
  });

  it('a chain that is not three certificates → InvalidQuote bad-certificate-chain', async () => {
    const chain = chainPem(snp.vcek, snp.ask);
    expectRefusal(
      await attest(maa, body({ chain })),
      400,
      'InvalidQuote',
      'bad-certificate-chain',
      /holds 2 certificates, expected 3/,
    );
  });

  it('a VCEK for another TCB or chip → InvalidQuote tcb-mismatch / chip-id-mismatch', async () => {
    const reportData = reportDataFor(RUNTIME);
    const olderTcb = composeTcb({ ...MILAN_REPORTED_TCB, ucodeSpl: 209 }, 'Milan');
    const tcb = signedReport(snp, { reportData, change: { reportedTcb: olderTcb } });
    expectRefusal(
      await attest(maa, body({ report: tcb })),
      400,
      'InvalidQuote',
      'tcb-mismatch',
      /ucodeSPL 210/,
    );
    const chip = signedReport(snp, { reportData, change: { chipId: crypto.randomBytes(64) } });
    expectRefusal(
      await attest(maa, body({ report: chip })),
      400,
      'InvalidQuote',
      'chip-id-mismatch',
      /CHIP_ID/,
    );
  });

  it('REPORT_DATA not bound to the runtime data → InvalidParameter report-data-mismatch', async () => {
    const report = signedReport(snp, { reportData: reportDataFor(Buffer.from('{"keys":[]}')) });
    expectRefusal(
      await attest(maa, body({ report })),
      400,
      'InvalidParameter',
      'report-data-mismatch',
      /hash of the RuntimeData does not match the quote's report data/,
    );
  });

  it('non-zero upper 32 bytes of REPORT_DATA → InvalidParameter report-data-upper-nonzero', async () => {
    const reportData = reportDataFor(RUNTIME);
    reportData[63] = 1;
    expectRefusal(
      await attest(maa, body({ report: signedReport(snp, { reportData }) })),
      400,
      'InvalidParameter',
      'report-data-upper-nonzero',
      /byte 63 is not zero/,
    );
  });

  it('runtime data that is not JSON → InvalidParameter runtime-data-not-json', async () => {
    const runtime = Buffer.from('not json at all');
    expectRefusal(
      await attest(maa, body({ runtime })),
      400,
      'InvalidParameter',
      'runtime-data-not-json',
      /runtimeData has dataType JSON but its data is not valid JSON/,
    );
  });

  it('a missing or unsupported api-version', async () => {
    expectRefusal(
      await attest(maa, body(), { apiVersion: '2021-06-01' }),
      400,
      'UnsupportedApiVersion',
      'unsupported-api-version',
      /'2021-06-01' is not supported\. Supported versions: 2020-10-01, 2022-08-01, 2025-06-01/,
    );
    expectRefusal(
      await attest(maa, body(), { apiVersion: null }),
      400,
      'MissingApiVersionParameter',
      'missing-api-version',
      /api-version query parameter/,
    );
  });

  it('malformed base64 and JSON', async () => {
    const good = JSON.parse(body()) as Record<string, unknown>;
    const cases: [string, string, RegExp][] = [
      ['{"report": "abc"', 'body-not-json', /request body is not valid JSON/],
      ['[1,2]', 'body-not-json', /must be a JSON object/],
      [
        JSON.stringify({ ...good, report: 'not*base64' }),
        'bad-base64',
        /^report is not valid base64url or base64: character "\*"/,
      ],
      [
        JSON.stringify({ ...good, report: goUrlBase64('{"SnpReport": ') }),
        'report-not-json',
        /^report does not decode to JSON/,
      ],
      [
        JSON.stringify({
          ...good,
          report: goUrlBase64(JSON.stringify({ SnpReport: 'AAAA!', VcekCertChain: 'AAAA' })),
        }),
        'bad-base64',
        /^report\.SnpReport is not valid base64url/,
      ],
      [
        JSON.stringify({ ...good, report: goUrlBase64('{}') }),
        'missing-field',
        /report\.SnpReport member is required/,
      ],
      [
        JSON.stringify({ ...good, runtimeData: { data: 'abcde', dataType: 'JSON' } }),
        'bad-base64',
        /^runtimeData\.data is not valid base64url or base64: 5 base64 characters/,
      ],
      [
        JSON.stringify({ ...good, runtimeData: { data: 'e30', dataType: 'XML' } }),
        'bad-data-type',
        /'XML' is not supported/,
      ],
      [JSON.stringify({ ...good, report: undefined }), 'missing-field', /The report member is required/],
    ];
    for (const [text, kind, message] of cases) {
      expectRefusal(await attest(maa, text), 400, 'InvalidParameter', kind, message);
    }
  });

  it('other attestation types are not simulated (501), unknown paths are 404', async () => {
    expectRefusal(
      await attest(maa, body(), { type: 'SgxEnclave' }),
      501,
      'NotImplemented',
      'unsupported-attestation-type',
      /SevSnpVm and AzureGuest only/,
    );
    const res = await request(`${maa.url}/nothing-here`, maa.caPem);
    expectRefusal(res, 404, 'NotFound', 'not-found', /GET \/nothing-here/);
  });
});

describe('debuggable guests', () => {
  it('are attested by default, with x-ms-sevsnpvm-is-debuggable true', async () => {
    const { payload } = await verifyViaDiscovery(
      tokenOf(await attest(maa, body({ debug: true }))),
      maa.issuer,
      maa.caPem,
      new Date(NOW),
    );
    expect(payload['x-ms-sevsnpvm-is-debuggable']).toBe(true);
    expect(payload['x-ms-policy-hash']).toBe(policyHash(PERMIT_ALL_POLICY));
  });

  it('are denied with PolicyEvaluationError by an instance that refuses them; others still pass there', async () => {
    expectRefusal(
      await attest(strict, body({ debug: true })),
      400,
      'PolicyEvaluationError',
      'debug-refused',
      /A Deny claim was issued.*POLICY\.DEBUG/,
    );
    const { payload } = await verifyViaDiscovery(
      tokenOf(await attest(strict, body())),
      strict.issuer,
      strict.caPem,
      new Date(NOW),
    );
    expect(payload['x-ms-sevsnpvm-is-debuggable']).toBe(false);
    expect(payload['x-ms-policy-hash']).toBe(policyHash(DENY_DEBUG_POLICY));
  });
});

describe('real Milan evidence against an instance trusting AMD’s roots', () => {
  it('is attested with the claims the report carries; other runtime data is not bound to it', async () => {
    const real = await startMaa({
      ca,
      name: 'real',
      trustedArks: amdArks(),
      now: () => Date.parse('2025-06-01T00:00:00Z'),
    });
    try {
      const vcekCertChain = thim.vcekCert + thim.certificateChain;
      const res = await attest(real, sidecarRequestBody({ report: realReport, vcekCertChain }), {
        apiVersion: '2022-08-01',
      });
      const { payload } = await verifyViaDiscovery(
        tokenOf(res),
        real.issuer,
        real.caPem,
        new Date('2025-06-01T00:00:00Z'),
      );
      expect(payload).toMatchObject({
        'x-ms-sevsnpvm-hostdata': 'cadd74f71ebb8fbf9782baab649612520f3c416bc5ce9ac768808ddc8d9b031c',
        'x-ms-sevsnpvm-bootloader-svn': 3,
        'x-ms-sevsnpvm-tee-svn': 0,
        'x-ms-sevsnpvm-snpfw-svn': 8,
        'x-ms-sevsnpvm-microcode-svn': 115,
      });
      expect(payload['x-ms-sevsnpvm-reportdata']).toMatch(/^ee986ff2[0-9a-f]{56}0{64}$/);
      expect(payload['x-ms-runtime']).toBeUndefined();
      expect(payload['nonce']).toBeUndefined();
      expectRefusal(
        await attest(real, sidecarRequestBody({ report: realReport, vcekCertChain, runtimeData: RUNTIME })),
        400,
        'InvalidParameter',
        'report-data-mismatch',
        /REPORT_DATA\[0:32\] is ee986ff2/,
      );
    } finally {
      await real.close();
    }
  });
});

describe('signing-key rotation', () => {
  it('keeps tokens of an older key verifiable while it is listed in /certs, and not after', async () => {
    const rot = await startMaa({
      ca,
      name: 'rotating',
      trustedArks: [snp.ark],
      uvmSigningRoots: [simulatedUvmSigningRoot()],
      now: () => NOW,
    });
    try {
      const verify = (token: string) => verifyViaDiscovery(token, rot.issuer, rot.caPem, new Date(NOW));
      const before = tokenOf(await attest(rot, body()));
      const [oldKid] = rot.signingKeyIds();
      const newKid = rot.rotateSigningKey();
      expect(newKid).not.toBe(oldKid);
      expect(rot.signingKeyIds()).toEqual([oldKid, newKid]);
      const after = tokenOf(await attest(rot, body()));
      expect((await verify(after)).header['kid']).toBe(newKid);
      const old = await verify(before);
      expect(old.header['kid']).toBe(oldKid);
      expect(old.jwks.keys.map((k) => k['kid'])).toEqual([oldKid, newKid]);

      expect(rot.retireSigningKey(oldKid!)).toBe(true);
      await expect(verify(before)).rejects.toThrow(/no key with kid/);
      await expect(verify(after)).resolves.toBeDefined();
      // A token cannot be moved to a listed kid: the signature is checked with that key.
      const [h, p, s] = before.split('.') as [string, string, string];
      const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>;
      const relabelled = `${Buffer.from(JSON.stringify({ ...header, kid: newKid })).toString('base64url')}.${p}.${s}`;
      await expect(verify(relabelled)).rejects.toThrow(/signature/);
      expect(() => rot.retireSigningKey(newKid)).toThrow(/current signing key/);
    } finally {
      await rot.close();
    }
  });
});

describe('call counts and fault injection', () => {
  it('counts attest calls in total and by outcome, injected faults included', async () => {
    const counted = await startMaa({
      ca,
      name: 'counted',
      trustedArks: [snp.ark],
      uvmSigningRoots: [simulatedUvmSigningRoot()],
      now: () => NOW,
      adminToken: 'admin',
    });
    try {
      counted.faults.plan = { throttle: { count: 1, retryAfterSeconds: 3 }, match: /^POST \/attest\// };
      const throttled = await attest(counted, body());
      expect(throttled.status).toBe(429);
      expect(throttled.headers['retry-after']).toBe('3');
      tokenOf(await attest(counted, body()));
      tokenOf(await attest(counted, body()));
      await attest(counted, body({ chain: chainPem(snp.vcek, snp.ask, snp.ask) }));
      await attest(counted, '{');
      await request(`${counted.url}/certs`, counted.caPem);

      expect(counted.stats.attests()).toBe(5);
      expect(counted.stats.attestByOutcome).toEqual({
        Throttled: 1,
        token: 2,
        InvalidQuote: 1,
        InvalidParameter: 1,
      });
      const stats = await request(`${counted.url}/_simulator/stats`, counted.caPem);
      expect(stats.json).toMatchObject({
        attest: { total: 5, byOutcome: { token: 2 } },
        calls: { certs: { '200': 1 } },
        injected: { throttled: 1, failed: 0 },
      });

      const denied = await request(`${counted.url}/_simulator/faults`, counted.caPem, {
        method: 'PUT',
        body: JSON.stringify({ outage: { count: 1 } }),
        headers: { 'content-type': 'application/json' },
      });
      expect(denied.status).toBe(403);
      const set = await request(`${counted.url}/_simulator/faults`, counted.caPem, {
        method: 'PUT',
        body: JSON.stringify({ outage: { count: 1, status: 503 } }),
        headers: { 'content-type': 'application/json', authorization: 'Bearer admin' },
      });
      expect(set.status).toBe(200);
      expect((await attest(counted, body())).status).toBe(503);
      expect(counted.stats.attests('ServiceUnavailable')).toBe(1);
    } finally {
      await counted.close();
    }
  });
});
