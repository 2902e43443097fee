import crypto from 'node:crypto';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { reportDataFor } from '../../core/runtime-data/report-data.ts';
import { amdRoots } from '../../core/snp/index.ts';
import { fixtureAmdKeys } from '../amd/hierarchy.ts';
import { createSimulatorCa, type SimulatorCa } from '../common/tls.ts';
import { MaaError } from './errors.ts';
import { MaaService, type MaaServiceOptions } from './maa-service.ts';
import { amdArks } from './trusted-arks.ts';
import { signUvmReferenceInfo, simulatedUvmSigningRoot } from '../uvm/index.ts';
import {
  chainPem,
  fakeSnp,
  goUrlBase64,
  REPORT_FIELDS,
  signedReport,
  type FakeSnp,
} from '../../test/support/sim/sidecar-request.ts';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const RUNTIME = Buffer.from(
  '{"keys":[{"kid":"k1","kty":"RSA","key_ops":["encrypt"],"n":"AQAB","e":"AQAB"}]}',
);

let ca: SimulatorCa;
let snp: FakeSnp;

beforeAll(() => {
  ca = createSimulatorCa();
  snp = fakeSnp(fixtureAmdKeys());
});

function service(o: Partial<MaaServiceOptions> = {}): MaaService {
  return new MaaService({
    ca,
    issuer: 'https://maa.example/',
    trustedArks: [snp.ark],
    uvmSigningRoots: [simulatedUvmSigningRoot()],
    now: () => NOW,
    ...o,
  });
}

interface BodyOptions {
  report?: Buffer;
  runtimeData?: { data: string; dataType: string };
  initTimeData?: { data: string; dataType: string };
  /** `Endorsements` as sent; default the simulated UVM's, endorsing the test reports' measurement; null: none. */
  endorsements?: string | null;
}

/** `Endorsements` as the sidecar sends it: base64url JSON `{"Uvm": [base64url COSE_Sign1]}`. */
const uvmEndorsements = (...cose: Uint8Array[]): string =>
  goUrlBase64(JSON.stringify({ Uvm: cose.map((c) => goUrlBase64(c)) }));
const ENDORSED = uvmEndorsements(signUvmReferenceInfo({ measurement: REPORT_FIELDS.measurement }));

function body(o: BodyOptions = {}): Buffer {
  const report = o.report ?? signedReport(snp, { reportData: reportDataFor(RUNTIME) });
  const evidence = {
    SnpReport: goUrlBase64(report),
    VcekCertChain: goUrlBase64(chainPem(snp.vcek, snp.ask, snp.ark)),
    ...(o.endorsements === null ? {} : { Endorsements: o.endorsements ?? ENDORSED }),
  };
  return Buffer.from(
    JSON.stringify({
      report: goUrlBase64(JSON.stringify(evidence)),
      runtimeData: o.runtimeData ?? { data: goUrlBase64(RUNTIME), dataType: 'JSON' },
      ...(o.initTimeData === undefined ? {} : { initTimeData: o.initTimeData }),
    }),
  );
}

function claims(s: MaaService, b: Buffer = body()): Record<string, unknown> {
  const { token } = s.attestSevSnpVm(b);
  // The signature is the current key's (the HTTP tests verify through /certs with jose).
  const [h, p, sig] = token.split('.') as [string, string, string];
  const cert = new crypto.X509Certificate(s.signingKeys.current.certDer);
  expect(
    crypto.verify('sha256', Buffer.from(`${h}.${p}`), cert.publicKey, Buffer.from(sig, 'base64url')),
  ).toBe(true);
  expect(decodeProtectedHeader(token)['jku']).toBe('https://maa.example/certs');
  return decodeJwt(token);
}

function refusal(fn: () => unknown): MaaError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MaaError);
    return err as MaaError;
  }
  throw new Error('expected a MaaError');
}

describe('MaaService options', () => {
  it('drops a trailing slash from the issuer; lifetime and clock are configurable', () => {
    const c = claims(service({ tokenLifetimeSeconds: 600 }));
    expect(c['iss']).toBe('https://maa.example');
    expect(c['iat']).toBe(NOW / 1000);
    expect(Number(c['exp']) - Number(c['iat'])).toBe(600);
    expect(service().openIdConfiguration()).toMatchObject({
      issuer: 'https://maa.example',
      jwks_uri: 'https://maa.example/certs',
    });
  });

  it('takes the SVN claims from REPORTED_TCB by default, from CURRENT_TCB on request', () => {
    const svns = (c: Record<string, unknown>) =>
      ['bootloader', 'tee', 'snpfw', 'microcode'].map((n) => c[`x-ms-sevsnpvm-${n}-svn`]);
    expect(svns(claims(service()))).toEqual([9, 0, 23, 210]);
    expect(svns(claims(service({ tcbClaims: 'current' })))).toEqual([10, 1, 24, 211]);
  });

  it('decides the compliance status per request, or leaves it out', () => {
    const known = REPORT_FIELDS.hostData.toString('hex');
    const byHost = service({
      complianceStatus: (ctx) => (ctx.hostData === known ? 'azure-signed-katacc-uvm' : null),
    });
    expect(claims(byHost)['x-ms-compliance-status']).toBe('azure-signed-katacc-uvm');
    const other = signedReport(snp, {
      reportData: reportDataFor(RUNTIME),
      change: { hostData: crypto.randomBytes(32) },
    });
    expect(claims(byHost, body({ report: other }))).not.toHaveProperty('x-ms-compliance-status');
    expect(claims(service({ complianceStatus: 'azure-compliant-uvm' }))['x-ms-compliance-status']).toBe(
      'azure-compliant-uvm',
    );
  });

  it('adds extra claims, which may replace standard ones', () => {
    const c = claims(
      service({
        extraClaims: (ctx) => ({
          'x-ms-sevsnpvm-uvm-endorsement': { 'x-ms-sevsnpvm-guestsvn': ctx.report.guestSvn },
          'x-ms-ver': '2.0',
        }),
      }),
    );
    expect(c['x-ms-sevsnpvm-uvm-endorsement']).toEqual({ 'x-ms-sevsnpvm-guestsvn': 7 });
    expect(c['x-ms-ver']).toBe('2.0');
  });
});

describe('runtime and init-time data', () => {
  it('binds Binary runtime data without an x-ms-runtime claim', () => {
    const bytes = crypto.randomBytes(40);
    const report = signedReport(snp, { reportData: reportDataFor(bytes) });
    const c = claims(
      service(),
      body({ report, runtimeData: { data: bytes.toString('base64'), dataType: 'Binary' } }),
    );
    expect(c).not.toHaveProperty('x-ms-runtime');
    expect(c['x-ms-sevsnpvm-reportdata']).toBe(reportDataFor(bytes).toString('hex'));
  });

  it('checks init-time data against HOST_DATA and embeds it when it is JSON', () => {
    const s = service();
    const binary = { data: goUrlBase64('kata agent policy'), dataType: 'Binary' };
    expect(claims(s, body({ initTimeData: binary }))).not.toHaveProperty('x-ms-inittime');

    const wrong = { data: goUrlBase64('another policy'), dataType: 'Binary' };
    const err = refusal(() => s.attestSevSnpVm(body({ initTimeData: wrong })));
    expect([err.status, err.code, err.kind]).toEqual([400, 'InvalidParameter', 'host-data-mismatch']);
    expect(err.message).toContain(REPORT_FIELDS.hostData.toString('hex'));

    const json = Buffer.from('{"version":"0.1.0","policy":"allow"}');
    const report = signedReport(snp, {
      reportData: reportDataFor(RUNTIME),
      change: { hostData: crypto.createHash('sha256').update(json).digest() },
    });
    const c = claims(s, body({ report, initTimeData: { data: json.toString('base64'), dataType: 'JSON' } }));
    expect(c['x-ms-inittime']).toEqual({ policy: 'allow', version: '0.1.0' });
  });
});

describe('UVM endorsement', () => {
  it('issues the compliance status, and the endorsement claims, only for a verified endorsement', () => {
    const endorsed = claims(service());
    expect(endorsed['x-ms-compliance-status']).toBe('azure-signed-katacc-uvm');
    expect(endorsed['x-ms-sevsnpvm-uvm-endorsement']).toEqual({
      'x-ms-sevsnpvm-guestsvn': '100',
      'x-ms-sevsnpvm-launchmeasurement': REPORT_FIELDS.measurement.toString('hex'),
    });
    expect(endorsed['x-ms-sevsnpvm-uvm-endorsement-headers']).toEqual({
      feed: 'ContainerPlat-AMD-UVM',
      iss: expect.stringMatching(/^did:x509:0:sha256:[\w-]{43}::eku:1\.3\.6\.1\.4\.1\.311\.76\.59\.1\.2$/),
    });
    // A genuine report without an endorsement: attested, but not compliant, whatever the configuration.
    for (const s of [service(), service({ complianceStatus: 'azure-compliant-uvm' })]) {
      const bare = claims(s, body({ endorsements: null }));
      expect(bare['x-ms-attestation-type']).toBe('sevsnpvm');
      expect(bare).not.toHaveProperty('x-ms-compliance-status');
      expect(bare).not.toHaveProperty('x-ms-sevsnpvm-uvm-endorsement');
    }
  });

  it('refuses an endorsement that does not verify, naming the check', () => {
    const kind = (s: MaaService, endorsements: string) => {
      const err = refusal(() => s.attestSevSnpVm(body({ endorsements })));
      expect([err.status, err.code]).toEqual([400, 'InvalidParameter']);
      return err.kind;
    };
    const otherUvm = uvmEndorsements(signUvmReferenceInfo({ measurement: crypto.randomBytes(48) }));
    expect(kind(service(), otherUvm)).toBe('measurement-mismatch');
    expect(kind(service({ uvmSigningRoots: [] }), ENDORSED)).toBe('untrusted-chain');
    expect(kind(service({ uvmSigningRoots: [snp.ark] }), ENDORSED)).toBe('untrusted-chain');
    const otherFeed = uvmEndorsements(
      signUvmReferenceInfo({ measurement: REPORT_FIELDS.measurement, feed: 'ContainerPlat-AMD-UVM-dev' }),
    );
    expect(kind(service(), otherFeed)).toBe('wrong-feed');
    const cose = signUvmReferenceInfo({ measurement: REPORT_FIELDS.measurement });
    cose[cose.length - 1]! ^= 1; // the last byte of the signature
    expect(kind(service(), uvmEndorsements(cose))).toBe('signature-invalid');
    expect(kind(service(), uvmEndorsements(Buffer.from('cose sign1 bytes')))).toBe('bad-reference-info');
    expect(kind(service(), goUrlBase64(JSON.stringify({ Uvm: 'x' })))).toBe('bad-endorsements');
    expect(kind(service(), goUrlBase64('not json'))).toBe('endorsements-not-json');
  });

  it('refuses a UVM signing root that is not a certificate', () => {
    expect(refusal(() => service({ uvmSigningRoots: ['not a certificate'] })).kind).toBe('bad-configuration');
  });
});

describe('trust anchors and time', () => {
  it('trusts nothing by default', () => {
    const err = refusal(() => service({ trustedArks: [] }).attestSevSnpVm(body()));
    expect([err.code, err.kind]).toEqual(['InvalidQuote', 'untrusted-root']);
    expect(err.message).toMatch(/trusts no ARK for Milan/);
  });

  it('accepts several ARKs per product and refuses a non-ARK as a trust anchor', () => {
    expect(claims(service({ trustedArks: [amdRoots('Milan').ark, snp.ark] }))['x-ms-ver']).toBe('1.0');
    expect(amdArks().map((a) => a.subject.match(/CN=(.*)/)?.[1])).toEqual([
      'ARK-Milan',
      'ARK-Genoa',
      'ARK-Turin',
    ]);
    const err = refusal(() => service({ trustedArks: [snp.ask] }));
    expect(err.kind).toBe('bad-configuration');
    expect(err.message).toMatch(/CN SEV-Milan, not ARK/);
  });

  it('checks certificate validity at the injected time', () => {
    const err = refusal(() =>
      service({ now: () => Date.parse('2032-01-01T00:00:00Z') }).attestSevSnpVm(body()),
    );
    expect([err.code, err.kind]).toEqual(['InvalidQuote', 'expired']);
    expect(err.message).toMatch(/VCEK expired/);
  });

  it('signs with the newest key after rotation', () => {
    const s = service();
    const first = s.signingKeys.current.kid;
    const second = s.signingKeys.rotate();
    expect(decodeProtectedHeader(s.attestSevSnpVm(body()).token)['kid']).toBe(second);
    expect(s.jwks().keys.map((k) => k.kid)).toEqual([first, second]);
  });
});
