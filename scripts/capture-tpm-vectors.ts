#!/usr/bin/env node
/**
 * Records the TPM exchanges of testdata/swtpm/exchanges.json: a simulated Azure vTPM (sim/vtpm, a
 * real swtpm) driven through edge/tpm, each command and the TPM's response kept as hex. The unit
 * specs of core/tpm parse these responses offline (testdata/README.md).
 *
 *   node scripts/capture-tpm-vectors.ts > testdata/swtpm/exchanges.json
 */
import crypto from 'node:crypto';
import { AZURE_VTPM, AzureVtpm, openTransport, Tpm, type TpmTransport } from '../edge/tpm/index.ts';
import { launchSimulatedVtpm } from '../sim/vtpm/index.ts';

const sim = await launchSimulatedVtpm();
const recorded: Array<{ step: string; command: string; response: string }> = [];
let step = '';
const inner = openTransport(sim.address);
const recording: TpmTransport = {
  description: inner.description,
  close: () => inner.close(),
  send: async (command) => {
    const response = await inner.send(command);
    recorded.push({
      step,
      command: Buffer.from(command).toString('hex'),
      response: response.toString('hex'),
    });
    return response;
  },
};
const vtpm = new AzureVtpm(new Tpm(recording));
try {
  step = 'nv-buffer-max';
  await vtpm.tpm.nvBufferMax();
  step = 'ak-public';
  const ak = await vtpm.akPublic();
  step = 'ak-certificate';
  await vtpm.akCertificate();
  step = 'ephemeral-key';
  const key = await vtpm.createEphemeralKey({ pcrs: [] });
  step = 'certify';
  await vtpm.certifyWithAk(key.handle);
  step = 'quote';
  await vtpm.quote(Buffer.from('securekey test nonce, 32 bytes!!'));
  step = 'rsa-decrypt';
  const plaintext = Buffer.from('a 32-byte key-encryption key....');
  const ciphertext = crypto.publicEncrypt(
    { key: key.key, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
    plaintext,
  );
  await vtpm.decryptOaep(key, ciphertext, 'sha256');
  step = 'flush';
  await vtpm.flush(key);
  step = 'nv-read-public-undefined';
  await vtpm.tpm.nvReadPublic(0x01400009).catch(() => undefined);
  process.stdout.write(
    JSON.stringify(
      {
        source: `swtpm (libtpms) provisioned by sim/vtpm; AK at 0x${AZURE_VTPM.AK_HANDLE.toString(16)}`,
        akPublicSpki: ak.key.export({ format: 'der', type: 'spki' }).toString('base64'),
        exchanges: recorded,
      },
      null,
      2,
    ) + '\n',
  );
} finally {
  await vtpm.close();
  await sim.stop();
}
