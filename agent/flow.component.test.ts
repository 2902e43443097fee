/**
 * runAgent in process against the sandbox: what happens around the straight line — transient
 * failures of every remote party recovered within the deadline, a digest admitted while the agent
 * waits, and a readiness marker that never outlives a failed attempt.
 */
import crypto from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPolicy, serializePolicy } from '../core/policy/index.ts';
import { parseAgentConfig } from './config.ts';
import { AgentError, describeAgentError } from './errors.ts';
import type { Attester } from './evidence/attester.ts';
import { attesterFor } from './evidence/select.ts';
import { runAgent } from './flow.ts';
import { sleep } from './retry.ts';
import { ADMITTED_DIGEST, startAgentWorld, type AgentWorld } from '../test/support/agent/world.ts';

let world: AgentWorld;

beforeAll(async () => {
  world = await startAgentWorld();
}, 60_000);
afterAll(async () => {
  await world?.close();
});

const config = (env: Record<string, string | undefined>) => parseAgentConfig(['init'], world.env(env));

describe('runAgent', () => {
  it('rides out throttling and outages of the PSP, Azure Attestation and the vault', async () => {
    const { psp, maa, vault } = world.sb;
    psp.faults.plan = { outage: { count: 2 } };
    maa.faults.plan = { throttle: { count: 1, retryAfterSeconds: 0 }, match: /attest/ };
    vault.faults.plan = { outage: { count: 1, status: 503 }, match: /release/ };
    try {
      const out = world.outputDir('faults');
      const result = await runAgent(config({ SECUREKEY_OUTPUT_DIR: out, SECUREKEY_KEYS: 'db=oct-key' }));
      expect(readFileSync(path.join(out, 'db')).equals(world.material.oct.export())).toBe(true);
      expect(psp.faults.injected.failed).toBeGreaterThanOrEqual(2);
      expect(maa.faults.injected.throttled).toBeGreaterThanOrEqual(1);
      expect(vault.faults.injected.failed).toBeGreaterThanOrEqual(1);
      expect(result.keys.map((k) => k.alias)).toEqual(['db']);
    } finally {
      psp.faults.plan = {};
      maa.faults.plan = {};
      vault.faults.plan = {};
    }
  }, 60_000);

  it('Entra or the vault throttling past the deadline: deadline-exceeded at the release step, saying when to retry', async () => {
    const { entra, vault } = world.sb;
    const started = Date.now();
    const failure = async (name: string) => {
      const run = runAgent(
        config({ SECUREKEY_OUTPUT_DIR: world.outputDir(name), SECUREKEY_KEYS: 'db=oct-key' }),
      );
      const err = (await run.catch((e: unknown) => e)) as AgentError;
      expect(err).toBeInstanceOf(AgentError);
      expect(err).toMatchObject({ kind: 'deadline-exceeded', step: 'release' });
      const retryAt = Date.parse(/^retry after (\S+)$/.exec(err.hint ?? '')![1]!);
      expect(retryAt - started).toBeGreaterThanOrEqual(590_000); // Retry-After: 600
      return err;
    };
    try {
      entra.faults.plan = { throttle: { count: 1, retryAfterSeconds: 600 }, match: /token$/ };
      expect((await failure('entra-throttled')).message).toMatch(/\(429\).*after the deadline$/);
      entra.faults.plan = {};
      vault.faults.plan = { throttle: { count: 1, retryAfterSeconds: 600 }, match: /release$/ };
      expect(await failure('vault-throttled')).toMatchObject({ key: 'db' });
    } finally {
      entra.faults.plan = {};
      vault.faults.plan = {};
    }
  }, 60_000);

  it('waits for a digest the operator admits meanwhile (SECUREKEY_ADMISSION_WAIT)', async () => {
    const policyOf = (digests: string[]) => ({
      encodedPolicy: Buffer.from(
        serializePolicy(
          buildPolicy({
            authorities: [world.sb.maa.issuer],
            digests,
            complianceStatuses: ['azure-signed-katacc-uvm'],
          }),
        ),
      ),
    });
    await world.officer.createKey('late-key', 'oct-HSM', {
      keySize: 256,
      hsm: true,
      exportable: true,
      releasePolicy: policyOf([ADMITTED_DIGEST]),
    });
    const policy = Buffer.from('package agent_policy\ndefault ReadStreamRequest := false\n').toString(
      'base64',
    );
    const digest = crypto.createHash('sha256').update(Buffer.from(policy, 'base64')).digest('hex');
    const tokenFile = world.addPod('newcomer', policy);
    const refusedBefore = world.sb.vault.stats.count('releaseKey', 403);
    const out = world.outputDir('admission');
    const run = runAgent(
      config({
        SECUREKEY_OUTPUT_DIR: out,
        SECUREKEY_PSP_TOKEN_FILE: tokenFile,
        SECUREKEY_KEYS: 'db=late-key',
        SECUREKEY_ADMISSION_WAIT: '30s',
      }),
    );
    // The operator sees the new pod a moment later and adds its digest.
    await sleep(1_500);
    await world.officer.updateKeyProperties('late-key', {
      releasePolicy: policyOf([ADMITTED_DIGEST, digest]),
    });
    const result = await run;
    expect(result.hostData).toBe(digest);
    expect(readFileSync(path.join(out, 'db'))).toHaveLength(32);
    expect(world.sb.vault.stats.count('releaseKey', 403) - refusedBefore).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('removes the readiness marker of an earlier attempt before trying again', async () => {
    const out = world.outputDir('stale-marker');
    mkdirSync(out, { recursive: true });
    const marker = path.join(out, '.securekey-ready');
    writeFileSync(marker, '{"ready":true}');
    await expect(
      runAgent(config({ SECUREKEY_OUTPUT_DIR: out, SECUREKEY_KEYS: 'db=no-such-key' })),
    ).rejects.toMatchObject({ kind: 'key-not-found', step: 'release' });
    expect(existsSync(marker)).toBe(false);
  }, 60_000);

  it('without the vault’s root among the trust roots, every release is refused (untrusted-chain)', async () => {
    const out = world.outputDir('system-roots');
    await expect(
      runAgent(
        config({
          SECUREKEY_OUTPUT_DIR: out,
          SECUREKEY_KEYS: 'db=oct-key',
          SECUREKEY_RELEASE_TRUST_ROOTS: undefined,
        }),
      ),
    ).rejects.toMatchObject({
      kind: 'release-unverified',
      step: 'release',
      hint: expect.stringContaining('SECUREKEY_RELEASE_TRUST_ROOTS'),
    });
    expect(existsSync(path.join(out, 'db'))).toBe(false);
  }, 60_000);

  it('configured trust roots that are not certificates fail before any report or MAA call is spent', async () => {
    const reports = () => Object.values(world.sb.psp.service.reportsIssued()).reduce((a, n) => a + n, 0);
    const before = reports();
    const attests = world.sb.maa.stats.attests();
    await expect(
      runAgent(
        config({
          SECUREKEY_OUTPUT_DIR: world.outputDir('bad-roots'),
          SECUREKEY_KEYS: 'db=oct-key',
          SECUREKEY_RELEASE_TRUST_ROOTS: undefined,
          SECUREKEY_RELEASE_TRUST_ROOTS_PEM:
            '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n',
        }),
      ),
    ).rejects.toMatchObject({ kind: 'config-invalid', step: 'config' });
    expect(reports()).toBe(before);
    expect(world.sb.maa.stats.attests()).toBe(attests);
  }, 60_000);

  describe('UVM endorsement', () => {
    const emptyContext = () => mkdtempSync(path.join(tmpdir(), 'security-context-'));
    /** The PSP's evidence without the reference info it hands over: a host that provides none. */
    const withoutHostReference = async (env: Record<string, string | undefined>): Promise<Attester> => {
      const inner = await attesterFor(config(env), { caPem: world.sb.ca.certPem });
      return {
        name: inner.name,
        report: async (reportData) => {
          const { uvmReferenceInfo: _dropped, ...evidence } = await inner.report(reportData);
          return evidence;
        },
      };
    };

    it('sends the reference info of the security context directory, or else the host’s', async () => {
      const fromFile = { SECUREKEY_OUTPUT_DIR: world.outputDir('uvm-file'), SECUREKEY_KEYS: 'db=oct-key' };
      await runAgent(config(fromFile), { attester: await withoutHostReference(fromFile) });
      expect(readFileSync(path.join(fromFile.SECUREKEY_OUTPUT_DIR, 'db'))).toHaveLength(32);
      const fromHost = {
        SECUREKEY_OUTPUT_DIR: world.outputDir('uvm-host'),
        SECUREKEY_KEYS: 'db=oct-key',
        UVM_SECURITY_CONTEXT_DIR: emptyContext(),
      };
      await runAgent(config(fromHost));
      expect(readFileSync(path.join(fromHost.SECUREKEY_OUTPUT_DIR, 'db'))).toHaveLength(32);
    }, 60_000);

    it('without reference info: a clear error before any release, naming where it looked', async () => {
      const context = emptyContext();
      const env = {
        SECUREKEY_OUTPUT_DIR: world.outputDir('uvm-none'),
        SECUREKEY_KEYS: 'db=oct-key',
        UVM_SECURITY_CONTEXT_DIR: context,
      };
      // Released keys only: the bearer challenge (a bodiless request answered 401) is made ahead (ADR 53).
      const releasesBefore = world.sb.vault.stats.count('releaseKey', 200);
      const err = (await runAgent(config(env), { attester: await withoutHostReference(env) }).catch(
        (e: unknown) => e,
      )) as AgentError;
      expect(err).toBeInstanceOf(AgentError);
      expect(err).toMatchObject({ kind: 'uvm-not-endorsed', step: 'attestation' });
      expect(describeAgentError(err)).toContain(path.join(context, 'reference-info-base64'));
      expect(err.message).toMatch(/no UVM reference info was found .* no x-ms-compliance-status/);
      expect(err.hint).toMatch(/reference-info-base64/);
      expect(world.sb.vault.stats.count('releaseKey', 200)).toBe(releasesBefore);
    }, 60_000);

    it('a reference info file that is not one fails the evidence step', async () => {
      const context = emptyContext();
      writeFileSync(path.join(context, 'reference-info-base64'), Buffer.from('not COSE').toString('base64'));
      const env = {
        SECUREKEY_OUTPUT_DIR: world.outputDir('uvm-bad'),
        SECUREKEY_KEYS: 'db=oct-key',
        UVM_SECURITY_CONTEXT_DIR: context,
      };
      await expect(runAgent(config(env))).rejects.toMatchObject({
        kind: 'evidence-malformed',
        step: 'evidence',
        message: expect.stringMatching(/is not UVM reference info/),
      });
    }, 60_000);
  });
});
