/**
 * The confidential-VM key source against the sandbox (SIMULATORS ONLY) and a real swtpm as the node's
 * vTPM (sim/vtpm): AzureGuest attestation through the TPM, a release wrapped to the TPM's ephemeral key,
 * verified and unwrapped with the TPM decrypting the RSA block — and one attestation for several keys.
 */
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConfidentialVmPolicy, serializePolicy } from '../../core/policy/index.ts';
import { launchSimulatedVtpm, type SimulatedVtpm } from '../../sim/vtpm/index.ts';
import { startAgentWorld, KEY_NAMES, type AgentWorld } from '../../test/support/agent/world.ts';
import { parseAgentConfig } from '../config.ts';
import { AzureGuestKeySource } from './azure-guest-source.ts';
import { KeySourceError } from './key-source.ts';

let world: AgentWorld;
let vtpm: SimulatedVtpm;
let source: AzureGuestKeySource;
const material = { 'cvm-a': crypto.randomBytes(32), 'cvm-b': crypto.randomBytes(32) };

beforeAll(async () => {
  world = await startAgentWorld();
  // The node's platform is the sandbox's simulated AMD, whose VCEK the sandbox's THIM serves.
  vtpm = await launchSimulatedVtpm({ amd: world.sb.amd });
  const policy = serializePolicy(
    buildConfidentialVmPolicy({
      authorities: [world.sb.maa.issuer],
      complianceStatuses: ['azure-compliant-cvm'],
    }),
  );
  for (const [name, k] of Object.entries(material)) {
    await world.officer.importKey(name, { kty: 'oct-HSM', k } as never, {
      hardwareProtected: true,
      exportable: true,
      releasePolicy: { encodedPolicy: Buffer.from(policy) },
    });
  }
  source = new AzureGuestKeySource({
    config: parseAgentConfig(['init'], world.env(), { keys: false }),
    tpm: vtpm.address,
    tcgLog: vtpm.tcgLogPath,
  });
}, 60_000);

afterAll(async () => {
  await source?.close();
  await vtpm?.stop();
  await world?.close();
});

const ref = (keyName: string) => ({ vaultUrl: world.sb.vault.url, keyName, authority: world.sb.maa.url });
const signal = () => AbortSignal.timeout(30_000);

describe('the azure-guest key source', () => {
  it('releases each key wrapped to the TPM and unwraps it through the TPM, with one attestation', async () => {
    const attestsBefore = world.sb.maa.stats.attests();
    const released = await Promise.all([
      source.release(ref('cvm-a'), { signal: signal() }),
      source.release(ref('cvm-b'), { signal: signal() }),
    ]);
    expect(released.map((r) => r.plaintext.equals(material[r.kid.split('/').at(-2) as 'cvm-a']))).toEqual([
      true,
      true,
    ]);
    expect(released.map((r) => r.kty)).toEqual(['oct', 'oct']);
    expect(world.sb.maa.stats.attests() - attestsBefore).toBe(1);
    const again = await source.release(ref('cvm-a'), { signal: signal() });
    expect(again.plaintext.equals(material['cvm-a'])).toBe(true);
    expect(world.sb.maa.stats.attests() - attestsBefore).toBe(1);
  }, 60_000);

  it('is refused a key whose policy admits pod digests, not confidential VMs', async () => {
    const err = await source.release(ref(KEY_NAMES.oct), { signal: signal() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeySourceError);
    expect(err).toMatchObject({ kind: 'refused' });
    expect((err as Error).message).toMatch(/not admitted by the release policy|does not satisfy/);
  }, 60_000);
});
