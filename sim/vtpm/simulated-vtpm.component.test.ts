/**
 * The simulated Azure vTPM (a real swtpm) through edge/tpm's AzureVtpm: what the node agent does
 * against Azure's vTPM, checked with Node's crypto and against tpm2-tools. Needs the Debian packages
 * swtpm, swtpm-tools and tpm2-tools; without them the launch fails naming them.
 */
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hclAkPub, hclUserData, parseHclReport } from '../../core/hcl/index.ts';
import { verifyAttestation } from '../../core/snp/index.ts';
import { bootState, parseTcgLog, replayTcgLog } from '../../core/tcg-log/index.ts';
import { objectName, pcrDigest, TpmError, verifyAttestSignature } from '../../core/tpm/index.ts';
import { AZURE_VTPM, AzureVtpm } from '../../edge/tpm/index.ts';
import { launchSimulatedVtpm, SWTPM_PACKAGES, VtpmSimError, type SimulatedVtpm } from './index.ts';

const exec = promisify(execFile);
let sim: SimulatedVtpm;
let vtpm: AzureVtpm;
const spki = (k: crypto.KeyObject) => k.export({ format: 'der', type: 'spki' });

beforeAll(async () => {
  sim = await launchSimulatedVtpm();
  vtpm = AzureVtpm.open(sim.address);
}, 30_000);
afterAll(async () => {
  await vtpm?.close();
  await sim?.stop();
});

describe('simulated Azure vTPM', () => {
  it('holds the AK at 0x81000003 and its certificate, issued by the simulated Azure CA, at NV 0x01C101D0', async () => {
    const ak = await vtpm.akPublic();
    expect(spki(ak.key)).toEqual(spki(sim.akPublic));
    expect(ak.public.attributes & (1 << 16)).not.toBe(0); // restricted
    const cert = new crypto.X509Certificate(await vtpm.akCertificate());
    expect(spki(cert.publicKey)).toEqual(spki(ak.key));
    expect(cert.verify(new crypto.X509Certificate(sim.akCa.certDer).publicKey)).toBe(true);
  });

  it('regenerates the HCL report when user data is written: the binding holds and the SNP report verifies', async () => {
    const before = sim.reportsGenerated();
    const userData = crypto.randomBytes(64);
    const { report } = await vtpm.attestationEvidence(userData);
    expect(sim.reportsGenerated()).toBe(before + 1);
    expect(hclUserData(report)).toEqual(userData);
    expect(spki(hclAkPub(report))).toEqual(spki(sim.akPublic));
    expect(report.runtimeClaims['vm-configuration']).toMatchObject({
      'secure-boot': true,
      'tpm-enabled': true,
    });
    const verified = verifyAttestation(
      { report: report.snpReportBytes, ...sim.amd.chain() },
      { now: new Date(), trustedArk: sim.amd.ark },
    );
    expect(verified.report.reportData.subarray(0, 32)).toEqual(
      crypto.createHash('sha256').update(report.variableData).digest(),
    );
    // A second write gives a new report with the new data.
    const again = crypto.randomBytes(64);
    expect(hclUserData((await vtpm.attestationEvidence(again)).report)).toEqual(again);
  });

  it('measured the boot: its TCG log file replays to the TPM’s PCRs 0–9, as tpm2_pcrread reads them', async () => {
    const log = parseTcgLog(readFileSync(sim.tcgLogPath));
    expect(readFileSync(sim.tcgLogPath)).toEqual(sim.tcgLog);
    const replayed = replayTcgLog(log, 'sha256');
    const pcrs = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    const values = await vtpm.tpm.pcrRead('sha256', pcrs);
    for (const i of pcrs) {
      expect(values.get(i), `PCR ${i}`).toEqual(replayed[i]);
      expect(values.get(i)).not.toEqual(Buffer.alloc(32));
    }
    const out = path.join(path.dirname(sim.tcgLogPath), 'pcrs.bin');
    await exec('tpm2_pcrread', ['-T', sim.swtpmSocket, '-o', out, 'sha256:0,1,2,3,4,5,6,7'], {
      timeout: 20_000,
    });
    expect(readFileSync(out)).toEqual(Buffer.concat(replayed.slice(0, 8)));
    expect(bootState(log, 'sha256')).toMatchObject({
      secureBoot: true,
      separators: [7, 0, 1, 2, 3, 4, 5, 6],
    });
  });

  it('refuses user data that is not 64 bytes', async () => {
    await expect(vtpm.attestationEvidence(Buffer.alloc(32))).rejects.toMatchObject({ kind: 'bad-argument' });
  });

  it('creates an ephemeral key, certifies it with the AK: the signature verifies in Node', async () => {
    const ak = await vtpm.akPublic();
    const key = await vtpm.createEphemeralKey();
    try {
      expect(key.key.asymmetricKeyDetails?.modulusLength).toBe(2048);
      const certify = await vtpm.certifyWithAk(key.handle);
      expect(verifyAttestSignature(certify.attestBytes, certify.signature, ak.key)).toBe(true);
      expect(certify.attest.name).toEqual(objectName(key.publicArea));
      expect(
        verifyAttestSignature(
          certify.attestBytes,
          certify.signature,
          crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey,
        ),
      ).toBe(false);
    } finally {
      await vtpm.flush(key);
    }
  });

  it('quotes PCRs 0–7 with a nonce: signed by the AK, the nonce and PCR digest inside', async () => {
    const ak = await vtpm.akPublic();
    const nonce = crypto.randomBytes(32);
    const quote = await vtpm.quote(nonce);
    expect(verifyAttestSignature(quote.attestBytes, quote.signature, ak.key)).toBe(true);
    expect(quote.attest.extraData).toEqual(nonce);
    expect([...quote.pcrs.keys()]).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(quote.attest.pcrDigest).toEqual(pcrDigest('sha256', [...quote.pcrs.values()]));
  });

  it('decrypts RSA-OAEP from Node through the TPM, with a PCR-bound key and a password key', async () => {
    for (const [pcrs, hash] of [
      [undefined, 'sha256'],
      [[], 'sha1'],
    ] as const) {
      const key = await vtpm.createEphemeralKey(pcrs ? { pcrs } : {});
      try {
        expect(Boolean(key.policy)).toBe(pcrs === undefined);
        const secret = crypto.randomBytes(32);
        const ciphertext = crypto.publicEncrypt(
          { key: key.key, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash },
          secret,
        );
        expect(await vtpm.decryptOaep(key, ciphertext, hash)).toEqual(secret);
        // The wrong OAEP hash is the TPM's refusal, typed.
        const err = await vtpm
          .decryptOaep(key, ciphertext, hash === 'sha1' ? 'sha256' : 'sha1')
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(TpmError);
        expect((err as TpmError).kind).toBe('tpm-error');
      } finally {
        await vtpm.flush(key);
      }
    }
  });

  it('a PCR-bound key stops decrypting once a bound PCR changes', async () => {
    const key = await vtpm.createEphemeralKey({ pcrs: [7] });
    try {
      const ciphertext = crypto.publicEncrypt(
        { key: key.key, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
        Buffer.from('kek'),
      );
      await vtpm.tpm.pcrExtend(7, 'sha256', crypto.randomBytes(32));
      const err = await vtpm.decryptOaep(key, ciphertext, 'sha256').catch((e: unknown) => e);
      expect((err as TpmError).kind).toBe('tpm-error');
    } finally {
      await vtpm.flush(key);
    }
  });

  it('reads NV as tpm2-tools does: tpm2_nvread of the AK certificate and the HCL report equals ours', async () => {
    const dir = path.dirname(sim.swtpmSocket.slice('swtpm:path='.length));
    for (const index of [AZURE_VTPM.AK_CERT_NV, AZURE_VTPM.HCL_REPORT_NV]) {
      const out = path.join(dir, `nv-${index.toString(16)}.bin`);
      const hexIndex = `0x${index.toString(16).padStart(8, '0')}`;
      await exec('tpm2_nvread', ['-T', sim.swtpmSocket, '-C', 'o', '-o', out, hexIndex], { timeout: 20_000 });
      expect(readFileSync(out)).toEqual(await vtpm.tpm.nvRead(index));
    }
    expect(() => parseHclReport(readFileSync(path.join(dir, 'nv-1400001.bin')))).not.toThrow();
  });
});

describe('a VM launched with secure boot off', () => {
  it('measures SecureBoot 0, and its runtime claims say so too', async () => {
    const off = await launchSimulatedVtpm({ vmConfiguration: { 'secure-boot': false } });
    const client = AzureVtpm.open(off.address);
    try {
      const log = parseTcgLog(off.tcgLog);
      expect(bootState(log, 'sha256').secureBoot).toBe(false);
      expect((await client.tpm.pcrRead('sha256', [7])).get(7)).toEqual(replayTcgLog(log, 'sha256')[7]);
      expect(replayTcgLog(log, 'sha256')[7]).not.toEqual(replayTcgLog(parseTcgLog(sim.tcgLog), 'sha256')[7]);
      const { report } = await client.attestationEvidence(crypto.randomBytes(64));
      expect(report.runtimeClaims['vm-configuration']).toMatchObject({ 'secure-boot': false });
    } finally {
      await client.close();
      await off.stop();
    }
  }, 30_000);
});

describe('without swtpm', () => {
  it('the launch fails naming the Debian packages', async () => {
    const err = await launchSimulatedVtpm({ swtpm: '/nonexistent/swtpm' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VtpmSimError);
    expect((err as VtpmSimError).kind).toBe('swtpm-missing');
    expect((err as VtpmSimError).message).toContain(SWTPM_PACKAGES);
  });
});
