/**
 * Node mode's attestation end to end on a real TPM: the simulated Azure vTPM (swtpm) → edge/azure's
 * AzureGuestAttestation → the simulated MAA's /attest/AzureGuest → the token → the simulated vault's
 * release wrapped to the TPM's TpmEphemeralEncryptionKey → unwrapped with the RSA block decrypted by
 * the TPM and the rest by our AES-KWP. The boot state comes from the vTPM's TCG log: secure boot off in
 * the log is `secureboot: false`, which a release policy requiring secure boot refuses. Then the
 * refusals of the simulated MAA. Needs swtpm.
 */
import crypto from 'node:crypto';
import type { KeyClient } from '@azure/keyvault-keys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  azureGuestRequestBody,
  openAzureGuestToken,
  quoteQualifyingData,
  tpm2bPublic,
  type AzureGuestEvidence,
} from '../../core/azure-guest/index.ts';
import { parseKeyHsm, unwrapKeyHsmWith } from '../../core/keywrap/key-hsm.ts';
import { buildConfidentialVmPolicy, serializePolicy } from '../../core/policy/index.ts';
import {
  AttestationRequestError,
  AzureGuestAttestation,
  gatherAzureGuestEvidence,
} from '../../edge/azure/index.ts';
import { AzureVtpm, type EphemeralKey } from '../../edge/tpm/index.ts';
import { decodeJwt } from '../common/jwt/jwt.ts';
import { ReportSigner } from '../amd/index.ts';
import type { RunningVault } from '../vault/start.ts';
import { firmwareMeasurements, launchSimulatedVtpm, type SimulatedVtpm } from '../vtpm/index.ts';
import { startWorld, type World } from '../../test/support/sim/vault-world.ts';
import { MaaError } from './errors.ts';
import { MaaService } from './maa-service.ts';
import { startMaa, type RunningMaa } from './start.ts';

const OS = {
  type: 'Linux',
  distro: 'Ubuntu',
  versionMajor: 22,
  versionMinor: 4,
  build: 'NotApplication',
} as const;

let sim: SimulatedVtpm;
let vtpm: AzureVtpm;
let world: World;
let maa: RunningMaa;
let vault: RunningVault;
let releaser: KeyClient;

beforeAll(async () => {
  sim = await launchSimulatedVtpm();
  vtpm = AzureVtpm.open(sim.address);
  world = await startWorld();
  maa = await startMaa({
    ca: world.ca,
    name: 'cvm-guest',
    trustedArks: [sim.amd.ark],
    vtpmCa: sim.akCa.certDer,
  });
  vault = await world.startVault({ name: 'kv-cvm' });
  releaser = world.client(vault, 'releaser');
  // The CVM form of Microsoft's SKR-with-CVMs how-to: nested x-ms-isolation-tee claims.
  const policy = {
    version: '1.0.0',
    anyOf: [
      {
        authority: maa.issuer,
        allOf: [
          { claim: 'x-ms-isolation-tee.x-ms-attestation-type', equals: 'sevsnpvm' },
          { claim: 'x-ms-isolation-tee.x-ms-compliance-status', equals: 'azure-compliant-cvm' },
        ],
      },
    ],
  };
  await world.client(vault, 'officer').createKey('cvm-key', 'RSA-HSM', {
    exportable: true,
    releasePolicy: { encodedPolicy: Buffer.from(JSON.stringify(policy), 'utf8') },
  });
  // Node mode's policy (ADR 37) with an extra claim: the node booted with secure boot.
  const secureBootPolicy = buildConfidentialVmPolicy({
    authorities: [maa.issuer],
    complianceStatuses: ['azure-compliant-cvm'],
    baseClaims: [{ claim: 'secureboot', equals: 'true' }],
  });
  await world.client(vault, 'officer').createKey('cvm-secure-boot-key', 'RSA-HSM', {
    exportable: true,
    releasePolicy: { encodedPolicy: Buffer.from(serializePolicy(secureBootPolicy), 'utf8') },
  });
}, 60_000);
afterAll(async () => {
  await vtpm?.close();
  await sim?.stop();
  await maa?.close();
  await world?.close();
});

/** VCEK ‖ ASK ‖ ARK as the agent assembles them from THIM's certification. */
const vcekChain = () => {
  const thim = sim.amd.thimCertification();
  return Promise.resolve(thim.vcekCert + thim.certificateChain);
};

function client(
  o: {
    attestationUrl?: string;
    sleep?: (ms: number) => Promise<void>;
    from?: { vtpm: AzureVtpm; sim: SimulatedVtpm };
  } = {},
): AzureGuestAttestation {
  return new AzureGuestAttestation({
    ...(o.sleep === undefined ? {} : { sleep: o.sleep }),
    attestationUrl: o.attestationUrl ?? maa.url,
    vtpm: o.from?.vtpm ?? vtpm,
    vcekChain,
    os: OS,
    tcgLog: () => Promise.resolve((o.from?.sim ?? sim).tcgLog),
    caPem: world.ca.certPem,
  });
}

function storedMaterial(name: string): Buffer {
  const versions = vault.service.snapshot().keys[name]!.versions;
  return Buffer.from(versions[versions.length - 1]!.material, 'base64');
}

describe('AzureGuest attestation on the simulated vTPM, and release to its TPM key', () => {
  it('attests, releases wrapped to TpmEphemeralEncryptionKey, and unwraps through the TPM', async () => {
    const attested = await client().attest();
    try {
      const { claims } = attested;
      expect(claims['x-ms-attestation-type']).toBe('azurevm');
      expect(claims['x-ms-azurevm-ostype']).toBe('Linux');
      expect(claims['x-ms-azurevm-attested-pcrs']).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(claims).toMatchObject({
        secureboot: true,
        'x-ms-azurevm-dbvalidated': true,
        'x-ms-azurevm-dbxvalidated': true,
        'x-ms-azurevm-default-securebootkeysvalidated': true,
      });
      const tee = claims['x-ms-isolation-tee'] as Record<string, unknown>;
      expect(tee['x-ms-attestation-type']).toBe('sevsnpvm');
      expect(tee['x-ms-compliance-status']).toBe('azure-compliant-cvm');
      expect(tee['x-ms-sevsnpvm-is-debuggable']).toBe(false);
      expect((tee['x-ms-runtime'] as { keys: Array<{ kid: string }> }).keys[0]!.kid).toBe('HCLAkPub');
      const runtime = claims['x-ms-runtime'] as {
        keys: Array<Record<string, unknown>>;
        'client-payload': unknown;
      };
      expect(runtime['client-payload']).toEqual({ nonce: Buffer.from(attested.nonce).toString('base64') });
      expect(runtime.keys).toEqual([
        expect.objectContaining({ kid: 'TpmEphemeralEncryptionKey', kty: 'RSA', key_ops: ['encrypt'] }),
      ]);

      const { value } = await releaser.releaseKey('cvm-key', attested.token, {
        algorithm: 'RSA_AES_KEY_WRAP_256',
      });
      const payload = decodeJwt(value!).payload as {
        response: { key: { key: { key_hsm: string } } };
      };
      const keyHsm = parseKeyHsm(payload.response.key.key.key_hsm);
      expect(keyHsm.header.kid).toBe('TpmEphemeralEncryptionKey');
      const hashes: string[] = [];
      const plaintext = await unwrapKeyHsmWith(keyHsm, 256, (block, hash) => {
        hashes.push(hash);
        return vtpm.decryptOaep(attested.key, block, hash);
      });
      expect(hashes).toEqual(['sha256']);
      expect(plaintext.equals(storedMaterial('cvm-key'))).toBe(true);
    } finally {
      await vtpm.flush(attested.key);
    }
  }, 60_000);

  it('secure boot off in the TCG log: `secureboot: false`, and a policy requiring secure boot is refused', async () => {
    const offSim = await launchSimulatedVtpm({
      amd: sim.amd,
      akCa: sim.akCa,
      firmware: { secureBoot: false },
    });
    const offVtpm = AzureVtpm.open(offSim.address);
    try {
      const attested = await client({ from: { vtpm: offVtpm, sim: offSim } }).attest();
      await offVtpm.flush(attested.key);
      expect(attested.claims).toMatchObject({
        secureboot: false,
        'x-ms-azurevm-default-securebootkeysvalidated': false,
      });
      const err = await releaser
        .releaseKey('cvm-secure-boot-key', attested.token, { algorithm: 'RSA_AES_KEY_WRAP_256' })
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ statusCode: 403 });
      expect(String((err as Error).message)).toContain('secureboot');
      // The node with secure boot gets the key under the same policy.
      const on = await client().attest();
      try {
        const { value } = await releaser.releaseKey('cvm-secure-boot-key', on.token, {
          algorithm: 'RSA_AES_KEY_WRAP_256',
        });
        expect(value).toBeTruthy();
      } finally {
        await vtpm.flush(on.key);
      }
    } finally {
      await offVtpm.close();
      await offSim.stop();
    }
  }, 60_000);

  it('waits what a throttling answer’s Retry-After says, then attests', async () => {
    maa.faults.plan = { throttle: { count: 2, retryAfterSeconds: 2 }, match: /AzureGuest/ };
    const waits: number[] = [];
    const attested = await client({
      sleep: (ms) => {
        waits.push(ms);
        return Promise.resolve();
      },
    }).attest();
    await vtpm.flush(attested.key);
    expect(waits).toHaveLength(2);
    for (const w of waits) expect(w).toBeGreaterThan(1_500);
    expect(maa.faults.injected.throttled).toBe(2);
  }, 60_000);

  it('reports a refusal with the service’s code (AttestationRequestError)', async () => {
    const other = await startMaa({
      ca: world.ca,
      name: 'cvm-other',
      trustedArks: [sim.amd.ark],
      cvmCompliance: () => false,
    });
    try {
      const err = await client({ attestationUrl: other.url })
        .attest()
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AttestationRequestError);
      expect(err).toMatchObject({ status: 400, code: 'PolicyEvaluationError' });
    } finally {
      await other.close();
    }
  }, 60_000);
});

describe('the simulated MAA refuses AzureGuest evidence', () => {
  let service: MaaService;
  beforeAll(() => {
    service = new MaaService({
      ca: world.ca,
      issuer: 'https://maa.example',
      trustedArks: [sim.amd.ark],
      vtpmCa: sim.akCa.certDer,
    });
  });

  async function evidence(
    nonce = crypto.randomBytes(16).toString('hex'),
    from: AzureVtpm = vtpm,
    tcgLog: Buffer = sim.tcgLog,
  ) {
    const { evidence: e, key } = await gatherAzureGuestEvidence(from, {
      nonce,
      vcekChain,
      os: OS,
      tcgLog,
    });
    await from.flush(key);
    return e;
  }

  function refusal(s: MaaService, e: AzureGuestEvidence): MaaError {
    try {
      s.attestAzureGuest(Buffer.from(azureGuestRequestBody(e)));
    } catch (err) {
      if (err instanceof MaaError) return err;
      throw err;
    }
    throw new Error('the evidence was attested');
  }

  it('accepts the evidence as gathered, sealed to its encryption key (the baseline)', async () => {
    const e = await evidence();
    const { token } = service.attestAzureGuest(Buffer.from(azureGuestRequestBody(e)));
    const key: EphemeralKey = await vtpm.createEphemeralKey(); // the same primary: same template, same PCRs
    try {
      expect(tpm2bPublic(key.publicArea)).toEqual(e.tpm.encKeyPub);
      const jwt = await openAzureGuestToken(token, (inner) => vtpm.decryptRsaes(key, inner));
      expect(jwt.split('.')).toHaveLength(3);
    } finally {
      await vtpm.flush(key);
    }
  }, 30_000);

  it('a wrong AK: AikPub that is not HCLAkPub', async () => {
    const e = await evidence();
    const err = refusal(service, { ...e, tpm: { ...e.tpm, akPub: e.tpm.encKeyPub } });
    expect(err).toMatchObject({ code: 'InvalidParameter', kind: 'ak-mismatch' });
  }, 30_000);

  it('an AK certificate from another CA', async () => {
    const e = await evidence();
    const strict = new MaaService({
      ca: world.ca,
      issuer: 'https://maa.example',
      trustedArks: [sim.amd.ark],
      vtpmCa: world.ca.certPem,
    });
    expect(refusal(strict, e)).toMatchObject({ code: 'InvalidParameter', kind: 'ak-cert-untrusted' });
  }, 30_000);

  it('a replayed nonce, and a quote made for another nonce', async () => {
    const e = await evidence();
    service.attestAzureGuest(Buffer.from(azureGuestRequestBody(e)));
    expect(refusal(service, e)).toMatchObject({ code: 'InvalidParameter', kind: 'nonce-replayed' });
    const f = await evidence();
    expect(refusal(service, { ...f, clientPayload: { nonce: 'another' } })).toMatchObject({
      kind: 'nonce-mismatch',
    });
  }, 30_000);

  it('PCR values that do not hash to the quote’s digest', async () => {
    const e = await evidence();
    const pcrs = e.tpm.pcrs.map((p, i) => (i === 3 ? { ...p, digest: Buffer.alloc(32, 0xee) } : p));
    expect(refusal(service, { ...e, tpm: { ...e.tpm, pcrs } })).toMatchObject({
      code: 'InvalidParameter',
      kind: 'pcr-mismatch',
    });
  }, 30_000);

  it('a quote that leaves out PCR 7: a log claiming secure boot is not vouched for', async () => {
    const e = await evidence();
    const nonce = e.clientPayload['nonce'] as string;
    const quote = await vtpm.quote(quoteQualifyingData(nonce), [0]);
    const flipped = firmwareMeasurements({ secureBoot: false }).log;
    const tpm = {
      ...e.tpm,
      pcrQuote: quote.attestBytes,
      pcrSignature: quote.signature.signature,
      pcrs: [...quote.pcrs].map(([index, digest]) => ({ index, digest })),
    };
    // Another boot's log (secure boot off) replays to PCR 0 alike: only PCR 7 would tell them apart.
    expect(refusal(service, { ...e, tpm, tcgLog: flipped })).toMatchObject({
      code: 'InvalidParameter',
      kind: 'pcr-mismatch',
      message: expect.stringContaining('does not cover PCRs 1,2,3,4,5,6,7') as unknown,
    });
  }, 30_000);

  it('a TCG log that does not replay to the quoted PCRs: another boot’s, or one that lies about secure boot', async () => {
    const e = await evidence();
    const other = firmwareMeasurements({ secureBoot: false }).log;
    expect(refusal(service, { ...e, tcgLog: other })).toMatchObject({
      code: 'InvalidParameter',
      kind: 'tcg-log-mismatch',
      message: expect.stringContaining('PCRs 7 differ') as unknown,
    });
    const lying = firmwareMeasurements({ secureBoot: true, tamper: 'secure-boot-flipped' }).log;
    expect(refusal(service, { ...e, tcgLog: lying })).toMatchObject({ kind: 'tcg-log-mismatch' });
  }, 30_000);

  it('a tampered TCG log: event data altered under its digest, truncated, or none at all', async () => {
    const e = await evidence();
    const altered = firmwareMeasurements({ secureBoot: true, tamper: 'data-altered' }).log;
    expect(refusal(service, { ...e, tcgLog: altered })).toMatchObject({
      code: 'InvalidParameter',
      kind: 'tcg-log-invalid',
      message: expect.stringContaining('digest is not the hash of its data') as unknown,
    });
    expect(refusal(service, { ...e, tcgLog: sim.tcgLog.subarray(0, sim.tcgLog.length - 1) })).toMatchObject({
      kind: 'tcg-log-invalid',
    });
    expect(refusal(service, { ...e, tcgLog: Buffer.alloc(0) })).toMatchObject({ kind: 'tcg-log-invalid' });
  }, 30_000);

  it('a broken HCL binding: RunTimeData that is not what REPORT_DATA hashes', async () => {
    const e = await evidence();
    const runtimeData = Buffer.from(JSON.stringify(JSON.parse(e.isolation.runtimeData.toString()), null, 1));
    expect(refusal(service, { ...e, isolation: { ...e.isolation, runtimeData } })).toMatchObject({
      code: 'InvalidParameter',
      kind: 'report-data-mismatch',
    });
  }, 30_000);

  it('an encryption key the AK did not certify', async () => {
    const e = await evidence();
    expect(refusal(service, { ...e, tpm: { ...e.tpm, encKeyPub: e.tpm.akPub } })).toMatchObject({
      kind: 'enc-key-not-certified',
    });
  }, 30_000);

  it('a quote signature that does not verify', async () => {
    const e = await evidence();
    const pcrSignature = Buffer.from(e.tpm.pcrSignature);
    pcrSignature[10]! ^= 1;
    expect(refusal(service, { ...e, tpm: { ...e.tpm, pcrSignature } })).toMatchObject({
      code: 'InvalidQuote',
      kind: 'quote-signature-invalid',
    });
  }, 30_000);

  it('a non-compliant CVM', async () => {
    const e = await evidence();
    const s = new MaaService({
      ca: world.ca,
      issuer: 'https://maa.example',
      trustedArks: [sim.amd.ark],
      cvmCompliance: () => false,
    });
    expect(refusal(s, e)).toMatchObject({ code: 'PolicyEvaluationError', kind: 'not-compliant' });
  }, 30_000);

  it('a debuggable CVM', async () => {
    const debugSim = await launchSimulatedVtpm({
      amd: sim.amd,
      signer: new ReportSigner(sim.amd, { policy: { debug: true } }),
      akCa: sim.akCa,
    });
    const debugVtpm = AzureVtpm.open(debugSim.address);
    try {
      const e = await evidence(undefined, debugVtpm, debugSim.tcgLog);
      expect(refusal(service, e)).toMatchObject({ code: 'PolicyEvaluationError', kind: 'debug-refused' });
    } finally {
      await debugVtpm.close();
      await debugSim.stop();
    }
  }, 60_000);
});
