/**
 * The whole release path across the simulators, through the real SDK clients: a pod's report from the
 * simulated PSP (HOST_DATA pinned from its own policy annotation) → a token from the simulated Azure Attestation → a
 * release by the simulated Managed HSM → unwrapped by the core, equal to the vault's key.
 */
import crypto from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { KeyClient } from '@azure/keyvault-keys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEY_HSM_ENCS, unwrapKeyHsm } from '../../core/keywrap/key-hsm.ts';
import { buildPolicy, serializePolicy } from '../../core/policy/index.ts';
import { reportDataFor } from '../../core/runtime-data/report-data.ts';
import { runtimeKeyJwks } from '../../core/runtime-data/runtime-key-jwks.ts';
import { attestSevSnp, keyClientFor, workloadIdentityCredential } from '../../edge/azure/index.ts';
import { chainFromPem, verifyAttestation } from '../../core/snp/index.ts';
import { httpRequest } from '../../edge/http/client.ts';
import { FakeAmd, fixtureRootKeys, ReportSigner } from '../amd/index.ts';
import { PSP_REPORT_PATH } from '../psp/index.ts';
import { REFERENCE_INFO_FILE } from '../../core/uvm/index.ts';
import { testdata } from '../../test/support/paths.ts';
import { startSandbox, type Sandbox } from './sandbox.ts';

const KATA_POLICY = 'io.katacontainers.config.agent.policy';
const POD_TOKEN = 'sandbox-pod-token-db';
const HOST_DATA = 'cadd74f71ebb8fbf9782baab649612520f3c416bc5ce9ac768808ddc8d9b031c';
const NO_RETRY = { maxRetries: 0 };

function client(sb: Sandbox, who: 'operator' | 'agent'): KeyClient {
  const env = sb.env(who);
  const credential = workloadIdentityCredential({
    tenantId: env['AZURE_TENANT_ID']!,
    clientId: env['AZURE_CLIENT_ID']!,
    tokenFilePath: env['AZURE_FEDERATED_TOKEN_FILE']!,
    authorityHost: env['AZURE_AUTHORITY_HOST']!,
    caPem: sb.ca.certPem,
    retryOptions: NO_RETRY,
  });
  return keyClientFor({ vaultUrl: sb.vault.url, credential, caPem: sb.ca.certPem, retryOptions: NO_RETRY });
}

/** A pod asks the PSP for its report, authenticated by its (service-account) token. */
async function pspReport(
  sb: Sandbox,
  token: string,
  reportData: Buffer,
): Promise<{ report: Buffer; chain: string; referenceInfo: string }> {
  const url = new URL(PSP_REPORT_PATH, sb.psp.url);
  const body = JSON.stringify({ reportData: reportData.toString('hex') });
  const res = await httpRequest(url, {
    method: 'POST',
    caPem: sb.ca.certPem,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
  });
  if (res.status !== 200) throw new Error(`PSP ${res.status}: ${res.text}`);
  const text = res.text;
  const r = JSON.parse(text) as {
    report: string;
    vcekCert: string;
    certificateChain: string;
    referenceInfo: string;
  };
  return {
    report: Buffer.from(r.report, 'base64'),
    chain: r.vcekCert + r.certificateChain,
    referenceInfo: r.referenceInfo,
  };
}

/**
 * What the agent will do: one runtime key, one report (from the PSP or a launched guest), one token —
 * with the UVM reference info the host provides (the PSP's, or the sandbox's security context), unless
 * `endorse` is false.
 */
async function attest(sb: Sandbox, source: ReportSigner | { podToken: string }, endorse = true) {
  const runtimeKey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const jwks = runtimeKeyJwks(runtimeKey);
  const reportData = reportDataFor(jwks.bytes);
  const hostFile = () => readFileSync(path.join(sb.uvmSecurityContextDir, REFERENCE_INFO_FILE), 'utf8');
  const {
    report,
    chain: vcekChainPem,
    referenceInfo,
  } = source instanceof ReportSigner
    ? {
        report: source.sign({ reportData }),
        chain: source.vcek.cert.toString() + source.amd.chainPem(),
        referenceInfo: hostFile(),
      }
    : await pspReport(sb, source.podToken, reportData);
  const token = await attestSevSnp({
    attestationUrl: sb.maa.url,
    report,
    vcekChainPem,
    runtimeData: jwks.bytes,
    ...(endorse ? { uvmReferenceInfo: Buffer.from(referenceInfo, 'base64') } : {}),
    caPem: sb.ca.certPem,
  });
  return { runtimeKey, token };
}

const claimsOf = (jwt: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

function keyHsmOf(jws: string): string {
  const payload = JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString()) as {
    response: { key: { key: { key_hsm: string } } };
  };
  return payload.response.key.key.key_hsm;
}

const material: Record<string, crypto.KeyObject> = {
  oct: crypto.createSecretKey(crypto.randomBytes(32)),
  rsa: crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
  ec: crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey,
};

/** The SDK's JsonWebKey: binary members as bytes, `-HSM` key types. */
function sdkJwk(key: crypto.KeyObject): Record<string, unknown> {
  if (key.type === 'secret') return { kty: 'oct-HSM', k: key.export() };
  const jwk = key.export({ format: 'jwk' }) as Record<string, string>;
  const out: Record<string, unknown> = { kty: `${jwk['kty']}-HSM` };
  for (const [k, v] of Object.entries(jwk)) {
    if (k === 'kty') continue;
    out[k] = k === 'crv' ? v : Buffer.from(v, 'base64url');
  }
  return out;
}

/** The bytes the vault wraps: raw for oct, PKCS#8 DER for RSA and EC. */
function expectedPlaintext(name: string): Buffer {
  const key = material[name]!;
  return key.type === 'secret' ? key.export() : key.export({ format: 'der', type: 'pkcs8' });
}

describe('sandbox round trip', () => {
  let sb: Sandbox;
  let dir: string;
  let officer: KeyClient;
  let agent: KeyClient;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'securekey-sandbox-'));
    sb = await startSandbox({ dir });
    // A pod whose policy annotation is the real policy behind testdata/snp-real: its digest is HOST_DATA.
    const policy64 = readFileSync(testdata('snp-real/policy.base64'), 'utf8').trim();
    sb.pods.addPod(
      {
        namespace: 'default',
        podName: 'db',
        podUid: crypto.randomUUID(),
        annotations: { [KATA_POLICY]: policy64 },
      },
      POD_TOKEN,
    );
    officer = client(sb, 'operator');
    agent = client(sb, 'agent');
    const policy = serializePolicy(
      buildPolicy({
        authorities: [sb.maa.issuer],
        digests: [HOST_DATA],
        complianceStatuses: ['azure-signed-katacc-uvm'],
      }),
    );
    const releasePolicy = { encodedPolicy: Buffer.from(policy) };
    // Imported, so the test knows the key material without any backdoor into the vault.
    const imports = { hardwareProtected: true, exportable: true, releasePolicy };
    for (const [name, key] of Object.entries(material)) {
      await officer.importKey(name, sdkJwk(key) as never, imports);
    }
  }, 60_000);
  afterAll(async () => {
    await sb?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(['oct', 'rsa', 'ec'])('releases %s to an attested guest with every enc', async (name) => {
    const { runtimeKey, token } = await attest(sb, { podToken: POD_TOKEN });
    for (const enc of Object.keys(KEY_HSM_ENCS)) {
      const released = await agent.releaseKey(name, token, { algorithm: enc as 'RSA_AES_KEY_WRAP_256' });
      const plaintext = unwrapKeyHsm(keyHsmOf(released.value), runtimeKey);
      expect(crypto.createHash('sha256').update(plaintext).digest('hex')).toBe(
        crypto.createHash('sha256').update(expectedPlaintext(name)).digest('hex'),
      );
    }
  });

  it('refuses a guest whose UVM is not endorsed: no compliance status in its token, 403 from the vault', async () => {
    const endorsed = await attest(sb, { podToken: POD_TOKEN });
    expect(claimsOf(endorsed.token)['x-ms-compliance-status']).toBe('azure-signed-katacc-uvm');
    const { token } = await attest(sb, { podToken: POD_TOKEN }, false);
    const claims = claimsOf(token);
    expect(claims['x-ms-sevsnpvm-hostdata']).toBe(HOST_DATA);
    expect(claims).not.toHaveProperty('x-ms-compliance-status');
    await expect(agent.releaseKey('oct', token)).rejects.toMatchObject({
      statusCode: 403,
      message: expect.stringContaining('x-ms-compliance-status'),
    });
  });

  it('refuses a guest launched with another policy, naming its HOST_DATA', async () => {
    const other = 'ab'.repeat(32);
    const signer = new ReportSigner(sb.amd, { hostData: Buffer.from(other, 'hex') });
    const { token } = await attest(sb, signer);
    await expect(agent.releaseKey('oct', token)).rejects.toMatchObject({
      statusCode: 403,
      message: expect.stringContaining(other),
    });
  });

  it('refuses a pod whose own policy is not admitted; a pod cannot borrow another HOST_DATA', async () => {
    const otherPolicy = Buffer.from(
      'package agent_policy\ndefault AllowRequestsFailingPolicy := true\n',
    ).toString('base64');
    const otherDigest = crypto.createHash('sha256').update(Buffer.from(otherPolicy, 'base64')).digest('hex');
    sb.pods.addPod(
      {
        namespace: 'default',
        podName: 'intruder',
        podUid: crypto.randomUUID(),
        annotations: { [KATA_POLICY]: otherPolicy },
      },
      'intruder-token',
    );
    const { token } = await attest(sb, { podToken: 'intruder-token' });
    await expect(agent.releaseKey('oct', token)).rejects.toMatchObject({
      statusCode: 403,
      message: expect.stringContaining(otherDigest),
    });
    await expect(attest(sb, { podToken: 'no-such-token' })).rejects.toThrow(/PSP 401/);
  });

  it('refuses evidence from a platform whose root the attestation service does not trust', async () => {
    // Genoa's fixture root keys under Milan's names: a Milan root no one trusts.
    const foreign = new FakeAmd({ product: 'Milan', keys: fixtureRootKeys('Genoa') });
    const rogue = new ReportSigner(foreign, { hostData: Buffer.from(HOST_DATA, 'hex') });
    const before = sb.maa.stats.attests();
    await expect(attest(sb, rogue)).rejects.toMatchObject({ status: 400, code: 'InvalidQuote' });
    expect(sb.maa.stats.attests()).toBe(before + 1);
  }, 60_000);

  it('serves the VCEK chain from THIM (Metadata header required), matching the reports it certifies', async () => {
    const path = '/metadata/THIM/amd/certification';
    expect((await fetch(sb.thim.url + path)).status).toBe(400);
    const thim = (await (await fetch(sb.thim.url + path, { headers: { Metadata: 'true' } })).json()) as {
      vcekCert: string;
      tcbm: string;
      certificateChain: string;
    };
    const report = sb.signer.sign({ reportData: Buffer.alloc(64) });
    // tcbm is REPORTED_TCB (bytes 0x180..0x188, little-endian) as 16 hex digits.
    expect(thim.tcbm).toBe(report.readBigUInt64LE(0x180).toString(16).padStart(16, '0'));
    const verified = verifyAttestation(
      { report, ...chainFromPem(thim.vcekCert, thim.certificateChain) },
      { now: new Date(), trustedArk: sb.amd.ark },
    );
    expect(verified.product).toBe('Milan');
  });

  it('keeps release-only identities from creating keys', async () => {
    await expect(agent.createKey('nope', 'oct-HSM', { keySize: 256 })).rejects.toMatchObject({
      statusCode: 403,
    });
  });
});
