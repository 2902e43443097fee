/**
 * The agent as an init container runs it — `node agent/main.ts init`, configured only by its
 * environment — against the sandbox: a pod's report from the simulated PSP, one token from the
 * simulated Azure Attestation, releases from the simulated Managed HSM through the real SDK. The main
 * specs run twice: from source and as the image ships it (the bundle of scripts/bundle-agent.ts, ADR 19).
 */
import crypto from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentArgs } from '../core/inject/index.ts';
import { bundleAgent, type AgentBundle } from '../scripts/bundle-agent.ts';
import {
  ADMITTED_DIGEST,
  runAgentProcess,
  startAgentWorld,
  type AgentWorld,
  type KeyKind,
} from '../test/support/agent/world.ts';
import { AGENT_MANAGED_IDENTITY } from '../sim/sandbox/identities.ts';
import { startReleaseMitm, type ReleaseMitm, type Tampering } from '../test/support/agent/release-mitm.ts';

let world: AgentWorld;
let bundle: AgentBundle;

beforeAll(async () => {
  world = await startAgentWorld();
  bundle = await bundleAgent(path.join(world.dir, 'bundle'));
}, 60_000);

type Entry = 'source' | 'bundle';
const ENTRIES: Entry[] = ['source', 'bundle'];
const runEntry = (entry: Entry, env: Record<string, string>, args?: string[]) =>
  runAgentProcess(env, args, entry === 'bundle' ? bundle.main : undefined);
afterAll(async () => {
  await world?.close();
});

/** Every spelling of the key's secret bytes an accidental log line could carry. */
function secretSpellings(kind: KeyKind): string[] {
  const key = world.material[kind];
  if (key.type === 'secret') {
    const bytes = key.export();
    return [bytes.toString('hex'), bytes.toString('base64'), bytes.toString('base64url')];
  }
  const d = (key.export({ format: 'jwk' }) as { d: string }).d;
  const der = key.export({ format: 'der', type: 'pkcs8' });
  return [d, der.toString('base64').slice(0, 64), der.toString('hex').slice(0, 64)];
}

describe('agent init', () => {
  it.each(ENTRIES)(
    '%s: writes each vault key byte for byte in raw, pem and jwk, mode 0400, then the readiness marker',
    async (entry) => {
      const out = world.outputDir(`formats-${entry}`);
      const keys = [
        'oct-raw=oct-key:raw',
        'oct-jwk=oct-key:jwk',
        'rsa-raw=rsa-key:raw',
        'rsa-pem=rsa-key:pem',
        'rsa-jwk=rsa-key:jwk',
        'ec-raw=ec-key:raw',
        'ec-pem=ec-key:pem:tls/ec.pem',
        'ec-jwk=ec-key:jwk',
      ];
      const run = await runEntry(
        entry,
        world.env({ SECUREKEY_OUTPUT_DIR: out, SECUREKEY_KEYS: keys.join(',') }),
      );
      expect(run.error).toBeUndefined();
      expect(run.code).toBe(0);

      const file = (name: string): Buffer => readFileSync(path.join(out, name));
      const { oct, rsa, ec } = world.material;
      expect(file('oct-raw').equals(oct.export())).toBe(true);
      expect(file('rsa-raw').equals(rsa.export({ format: 'der', type: 'pkcs8' }))).toBe(true);
      expect(file('ec-raw').equals(ec.export({ format: 'der', type: 'pkcs8' }))).toBe(true);
      expect(file('rsa-pem').toString()).toBe(rsa.export({ format: 'pem', type: 'pkcs8' }));
      expect(file('tls/ec.pem').toString()).toBe(ec.export({ format: 'pem', type: 'pkcs8' }));
      // JWK: the key's own members plus the vault key's key_ops, members sorted, no whitespace.
      const jwk = (kind: KeyKind, name: string): void => {
        const expected = { ...world.material[kind].export({ format: 'jwk' }), key_ops: world.keyOps[kind] };
        const sorted = Object.fromEntries(Object.entries(expected).sort(([a], [b]) => (a < b ? -1 : 1)));
        expect(file(name).toString()).toBe(JSON.stringify(sorted));
      };
      jwk('oct', 'oct-jwk');
      jwk('rsa', 'rsa-jwk');
      jwk('ec', 'ec-jwk');

      for (const name of [
        'oct-raw',
        'oct-jwk',
        'rsa-raw',
        'rsa-pem',
        'rsa-jwk',
        'ec-raw',
        'tls/ec.pem',
        'ec-jwk',
      ]) {
        expect(statSync(path.join(out, name)).mode & 0o777, name).toBe(0o400);
      }
      // No temporary files left beside the keys.
      expect(readdirSync(out).filter((n) => n.endsWith('.tmp'))).toEqual([]);

      const marker = JSON.parse(file('.securekey-ready').toString()) as {
        ready: boolean;
        keys: { alias: string }[];
      };
      expect(marker.ready).toBe(true);
      expect(marker.keys.map((k) => k.alias).sort()).toEqual(keys.map((k) => k.split('=')[0]).sort());

      const result = run.result as { hostData: string; timings: { step: string; durationMs: number }[] };
      expect(result.hostData).toBe(ADMITTED_DIGEST);
      const steps = result.timings.map((t) => t.step);
      for (const step of [
        'identity-token',
        'runtime-key',
        'evidence',
        'certificates',
        'attestation',
        'release',
        'unwrap',
        'write',
      ]) {
        expect(steps).toContain(step);
      }
      expect(steps.filter((s) => s.startsWith('release:'))).toHaveLength(keys.length);

      const printed = run.stdout + run.stderr;
      for (const kind of ['oct', 'rsa', 'ec'] as const) {
        for (const secret of secretSpellings(kind)) expect(printed).not.toContain(secret);
      }
    },
    60_000,
  );

  it.each(ENTRIES)(
    '%s: three keys cost exactly one attestation call, one Entra token, one vault challenge and three releases',
    async (entry) => {
      const out = world.outputDir(`one-attestation-${entry}`);
      const agentClientId = world.sb.env('agent')['AZURE_CLIENT_ID']!;
      const entraTokens = world.sb.entra.tokenRequests(agentClientId);
      const attests = world.sb.maa.stats.attests();
      const releases = world.sb.vault.stats.count('releaseKey', 200);
      const challenges = world.sb.vault.stats.count('releaseKey', 401);
      const run = await runEntry(
        entry,
        world.env({ SECUREKEY_OUTPUT_DIR: out, SECUREKEY_KEYS: 'a=oct-key b=rsa-key:pem c=ec-key:jwk' }),
      );
      expect(run.error).toBeUndefined();
      expect(run.code).toBe(0);
      expect(world.sb.maa.stats.attests() - attests).toBe(1);
      expect(world.sb.maa.stats.attests('token')).toBeGreaterThan(0);
      expect(world.sb.entra.tokenRequests(agentClientId) - entraTokens).toBe(1);
      expect(world.sb.vault.stats.count('releaseKey', 200) - releases).toBe(3);
      // One client for the vault: its bearer challenge (a 401 to the request without a body) once (ADR 53).
      expect(world.sb.vault.stats.count('releaseKey', 401) - challenges).toBe(1);
      // The three releases overlapped: each started before the first one finished.
      const timings = (run.result as { timings: { step: string; startMs: number; durationMs: number }[] })
        .timings;
      const per = timings.filter((t) => t.step.startsWith('release:'));
      const firstEnd = Math.min(...per.map((t) => t.startMs + t.durationMs));
      expect(per.every((t) => t.startMs < firstEnd)).toBe(true);
    },
    60_000,
  );

  it('runs with the arguments the injector writes (core/inject agentArgs)', async () => {
    const out = world.outputDir('injected');
    const args = agentArgs(
      (['oct', 'ec'] as const).map((kind) => ({
        alias: `${kind}-alias`,
        secureKey: `${kind}-securekey`,
        format: kind === 'ec' ? ('pem' as const) : ('raw' as const),
        file: `${kind}.key`,
        vaultUrl: world.sb.vault.url,
        keyName: `${kind}-key`,
        authority: world.sb.maa.url,
      })),
    );
    // Only what the injector and the pod's environment provide: no default vault or authority.
    const env = world.env({
      SECUREKEY_OUTPUT_DIR: out,
      SECUREKEY_VAULT_URL: undefined,
      SECUREKEY_ATTESTATION_URL: undefined,
    });
    const run = await runAgentProcess(env, args);
    expect(run.error).toBeUndefined();
    expect(run.code).toBe(0);
    expect(readFileSync(path.join(out, 'oct.key')).equals(world.material.oct.export())).toBe(true);
    expect(readFileSync(path.join(out, 'ec.key'), 'utf8')).toBe(
      world.material.ec.export({ format: 'pem', type: 'pkcs8' }),
    );
  }, 60_000);

  it.each(ENTRIES)(
    '%s: with no workload identity, takes the managed identity from IMDS (ACI, VN2) and writes the key',
    async (entry) => {
      const out = world.outputDir(`managed-identity-${entry}`);
      const agentClientId = world.sb.env('agent')['AZURE_CLIENT_ID']!;
      const entraTokens = world.sb.entra.tokenRequests(agentClientId);
      const imdsIssued = world.sb.imds.service.counters.tokensIssued[AGENT_MANAGED_IDENTITY.clientId] ?? 0;
      // The container group's environment: IMDS, no AZURE_* workload-identity variables.
      const env = world.env({
        AZURE_AUTHORITY_HOST: undefined,
        AZURE_TENANT_ID: undefined,
        AZURE_CLIENT_ID: undefined,
        AZURE_FEDERATED_TOKEN_FILE: undefined,
        SECUREKEY_IMDS_URL: world.sb.imds.url,
        SECUREKEY_OUTPUT_DIR: out,
        SECUREKEY_KEYS: 'db=oct-key',
      });
      const run = await runEntry(entry, env);
      expect(run.error).toBeUndefined();
      expect(run.code).toBe(0);
      expect(readFileSync(path.join(out, 'db')).equals(world.material.oct.export())).toBe(true);
      expect(world.sb.imds.service.counters.tokensIssued[AGENT_MANAGED_IDENTITY.clientId]).toBe(
        imdsIssued + 1,
      );
      expect(world.sb.entra.tokenRequests(agentClientId)).toBe(entraTokens);

      // An identity the container group does not have: told so, naming IMDS's reason.
      const stranger = await runEntry(entry, {
        ...env,
        SECUREKEY_OUTPUT_DIR: world.outputDir(`managed-identity-stranger-${entry}`),
        SECUREKEY_MANAGED_IDENTITY: '5a4db0c2-0000-4000-8000-00000000dead',
      });
      expect(stranger.code).toBe(1);
      expect(stranger.error).toMatchObject({ step: 'release', kind: 'identity-not-allowed' });
      expect(String(stranger.error?.['message'])).toContain(
        'the managed identity 5a4db0c2-0000-4000-8000-00000000dead could not get a vault token: IMDS refused',
      );
      expect(String(stranger.error?.['message'])).toContain('Identity not found');
    },
    60_000,
  );

  it.each(ENTRIES)(
    '%s: a pod whose HOST_DATA is not admitted exits non-zero with an error naming its digest',
    async (entry) => {
      const policy = Buffer.from(
        'package agent_policy\ndefault AllowRequestsFailingPolicy := true\n',
      ).toString('base64');
      const digest = crypto.createHash('sha256').update(Buffer.from(policy, 'base64')).digest('hex');
      const tokenFile = world.addPod(`intruder-${entry}`, policy);
      const out = world.outputDir(`not-admitted-${entry}`);
      const run = await runEntry(
        entry,
        world.env({
          SECUREKEY_OUTPUT_DIR: out,
          SECUREKEY_PSP_TOKEN_FILE: tokenFile,
          SECUREKEY_KEYS: 'db=oct-key',
        }),
      );
      expect(run.code).toBe(1);
      expect(run.error).toMatchObject({ step: 'release', kind: 'digest-not-admitted', key: 'db' });
      expect(String(run.error?.['message'])).toContain(`digest ${digest} not admitted`);
      expect(run.stderr).toContain(`securekey-agent: [release] digest ${digest} not admitted`);
      expect(existsSync(path.join(out, 'db'))).toBe(false);
      expect(existsSync(path.join(out, '.securekey-ready'))).toBe(false);
    },
    60_000,
  );

  it('an identity without the release role is told so, not blamed on the digest', async () => {
    const assignments = world.sb.vault.roleAssignments;
    const saved = assignments.splice(0, assignments.length);
    assignments.push(...saved.filter((a) => !a.roles.includes('release-user')));
    try {
      const run = await runAgentProcess(
        world.env({ SECUREKEY_OUTPUT_DIR: world.outputDir('no-role'), SECUREKEY_KEYS: 'db=oct-key' }),
      );
      expect(run.code).toBe(1);
      expect(run.error).toMatchObject({ step: 'release', kind: 'identity-not-allowed' });
      expect(String(run.error?.['message'])).toContain(world.sb.env('agent')['AZURE_CLIENT_ID']);
    } finally {
      assignments.splice(0, assignments.length, ...saved);
    }
  }, 60_000);

  it('a key the vault does not have → key-not-found', async () => {
    const run = await runAgentProcess(
      world.env({
        SECUREKEY_OUTPUT_DIR: world.outputDir('missing'),
        SECUREKEY_KEYS: 'db=oct-key,x=no-such-key',
      }),
    );
    expect(run.code).toBe(1);
    expect(run.error).toMatchObject({ step: 'release', kind: 'key-not-found', key: 'x' });
  }, 60_000);

  it('a pod the PSP does not know → evidence-refused', async () => {
    const tokenFile = path.join(world.dir, 'stranger.token');
    writeFileSync(tokenFile, 'not-a-registered-token');
    const run = await runAgentProcess(
      world.env({
        SECUREKEY_OUTPUT_DIR: world.outputDir('stranger'),
        SECUREKEY_PSP_TOKEN_FILE: tokenFile,
        SECUREKEY_KEYS: 'db=oct-key',
      }),
    );
    expect(run.code).toBe(1);
    expect(run.error).toMatchObject({ step: 'evidence', kind: 'evidence-refused' });
    expect(String(run.error?.['message'])).toContain('401');
    expect(run.stdout + run.stderr).not.toContain('not-a-registered-token');
  }, 60_000);

  it('configuration errors name the variable', async () => {
    const run = await runAgentProcess(
      world.env({ SECUREKEY_VAULT_URL: undefined, SECUREKEY_KEYS: 'db=oct-key' }),
    );
    expect(run.code).toBe(1);
    expect(run.error).toMatchObject({ step: 'config', kind: 'config-missing' });
    expect(String(run.error?.['message'])).toContain('SECUREKEY_VAULT_URL');
  });
});

describe('a man in the middle between agent and vault', () => {
  let mitm: ReleaseMitm;
  beforeAll(async () => {
    mitm = await startReleaseMitm({ ca: world.sb.ca, vaultUrl: world.sb.vault.url });
  });
  afterAll(async () => {
    await mitm?.close();
  });

  const run = (tampering: Tampering, out: string, entry: Entry = 'source') => {
    mitm.tampering = tampering;
    return runEntry(
      entry,
      world.env({ SECUREKEY_VAULT_URL: mitm.url, SECUREKEY_OUTPUT_DIR: out, SECUREKEY_KEYS: 'db=oct-key' }),
    );
  };

  it('changes nothing when it only forwards', async () => {
    const out = world.outputDir('mitm-none');
    const r = await run('none', out);
    expect(r.code).toBe(0);
    expect(readFileSync(path.join(out, 'db')).equals(world.material.oct.export())).toBe(true);
  }, 60_000);

  it.each([
    ['alter-payload', 'signature-invalid', 'source'],
    ['resign-foreign-ca', 'untrusted-chain', 'source'],
    ['resign-other-host', 'host-mismatch', 'source'],
    ['replay', 'nonce-mismatch', 'source'],
    ['alter-payload', 'signature-invalid', 'bundle'],
    ['resign-foreign-ca', 'untrusted-chain', 'bundle'],
  ] as const)(
    '%s is refused (%s) before anything is unwrapped (%s)',
    async (tampering, reason, entry) => {
      // A replay needs a genuine response from an earlier run to play back.
      if (tampering === 'replay') expect((await run('none', world.outputDir('mitm-record'))).code).toBe(0);
      const out = world.outputDir(`mitm-${tampering}-${entry}`);
      const before = mitm.tampered;
      const r = await run(tampering, out, entry);
      expect(mitm.tampered).toBe(before + 1);
      expect(r.code).toBe(1);
      expect(r.error).toMatchObject({ step: 'release', kind: 'release-unverified', reason, key: 'db' });
      expect(r.events.some((e) => e['msg'] === 'released')).toBe(false);
      expect(existsSync(path.join(out, 'db'))).toBe(false);
      expect(r.stdout + r.stderr).not.toContain(mitm.attackerKey.toString('hex'));
    },
    60_000,
  );
});
