/**
 * A test world for the agent: the sandbox (SIMULATORS ONLY) with three imported exportable keys (oct,
 * RSA, EC — imported, so the test knows their material without a backdoor into the vault) whose
 * release policy admits one digest, pods registered with the simulated PSP, and helpers to run the
 * agent as a child process (`node agent/main.ts`) or in process.
 */
import { spawn } from 'node:child_process';
import crypto, { type KeyObject } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { KeyClient } from '@azure/keyvault-keys';
import { policyDigest } from '../../../core/digest/index.ts';
import { buildPolicy, serializePolicy } from '../../../core/policy/index.ts';
import { keyClientFor, workloadIdentityCredential } from '../../../edge/azure/index.ts';
import { ReportSigner } from '../../../sim/amd/index.ts';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../../sim/sandbox/sandbox.ts';
import { repoRoot } from '../../../scripts/cluster/paths.ts';
import { testdata } from '../paths.ts';

export const KATA_POLICY = 'io.katacontainers.config.agent.policy';
/** sha256 of the real policy behind testdata/snp-real: the digest the keys admit. */
export const ADMITTED_DIGEST = 'cadd74f71ebb8fbf9782baab649612520f3c416bc5ce9ac768808ddc8d9b031c';
export const KEY_NAMES = { oct: 'oct-key', rsa: 'rsa-key', ec: 'ec-key' } as const;
export type KeyKind = keyof typeof KEY_NAMES;

export interface AgentWorld {
  sb: Sandbox;
  dir: string;
  /** The keys as imported into the vault. */
  material: Record<KeyKind, KeyObject>;
  /** The key_ops the vault holds for each key (what the JWK format writes). */
  keyOps: Record<KeyKind, string[]>;
  /** Operator-identity client (creates keys, reads stats). */
  officer: KeyClient;
  /** The release policy the keys were imported with (admits ADMITTED_DIGEST): for new versions. */
  releasePolicy: string;
  /** Registers a pod with the PSP; returns the path of its token file. */
  addPod(name: string, policyBase64: string): string;
  /** A token file of a pod whose policy the keys admit. */
  admittedTokenFile: string;
  /** That pod's policy (base64), for more pods the keys admit. */
  admittedPolicy: string;
  /** A fresh empty output directory. */
  outputDir(name: string): string;
  /** The agent's environment for a pod using the PSP (override or delete with `undefined`). */
  env(overrides?: Record<string, string | undefined>): Record<string, string>;
  /** A launched guest whose HOST_DATA is the admitted digest (for device-backed evidence). */
  admittedSigner(): ReportSigner;
  close(): Promise<void>;
}

const NO_RETRY = { maxRetries: 0 };

/** `sandbox`: the clocks of a world whose time is simulated (see sim/sandbox's options). */
export async function startAgentWorld(
  o: { sandbox?: Pick<SandboxOptions, 'vaultNow' | 'entraTokenLifetimeSeconds'> } = {},
): Promise<AgentWorld> {
  const dir = mkdtempSync(path.join(tmpdir(), 'securekey-agent-'));
  const sb = await startSandbox({ dir: path.join(dir, 'sandbox'), ...o.sandbox });
  try {
    const env = sb.env('operator');
    const officer = keyClientFor({
      vaultUrl: sb.vault.url,
      credential: workloadIdentityCredential({
        tenantId: env['AZURE_TENANT_ID']!,
        clientId: env['AZURE_CLIENT_ID']!,
        tokenFilePath: env['AZURE_FEDERATED_TOKEN_FILE']!,
        authorityHost: env['AZURE_AUTHORITY_HOST']!,
        caPem: sb.ca.certPem,
        retryOptions: NO_RETRY,
      }),
      caPem: sb.ca.certPem,
      retryOptions: NO_RETRY,
    });
    const policy = serializePolicy(
      buildPolicy({
        authorities: [sb.maa.issuer],
        digests: [ADMITTED_DIGEST],
        complianceStatuses: ['azure-signed-katacc-uvm'],
      }),
    );
    const material: Record<KeyKind, KeyObject> = {
      oct: crypto.createSecretKey(crypto.randomBytes(32)),
      rsa: crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
      ec: crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey,
    };
    const keyOps = {} as Record<KeyKind, string[]>;
    for (const kind of Object.keys(KEY_NAMES) as KeyKind[]) {
      const imported = await officer.importKey(KEY_NAMES[kind], sdkJwk(material[kind]) as never, {
        hardwareProtected: true,
        exportable: true,
        releasePolicy: { encodedPolicy: Buffer.from(policy) },
      });
      keyOps[kind] = imported.keyOperations ?? [];
    }
    const tokens = path.join(dir, 'pod-tokens');
    mkdirSync(tokens, { mode: 0o700 });
    const addPod = (name: string, policyBase64: string): string => {
      const token = `pod-token-${name}-${crypto.randomBytes(8).toString('hex')}`;
      sb.pods.addPod(
        {
          namespace: 'default',
          podName: name,
          podUid: crypto.randomUUID(),
          annotations: { [KATA_POLICY]: policyBase64 },
        },
        token,
      );
      const file = path.join(tokens, name);
      writeFileSync(file, token, { mode: 0o600 });
      return file;
    };
    const admittedPolicy = readFileSync(testdata('snp-real/policy.base64'), 'utf8').trim();
    if (policyDigest('kata-agent-policy', { [KATA_POLICY]: admittedPolicy }).digest !== ADMITTED_DIGEST) {
      throw new Error('the test policy no longer hashes to the admitted digest');
    }
    const admittedTokenFile = addPod('db', admittedPolicy);
    let outputs = 0;
    return {
      sb,
      dir,
      material,
      keyOps,
      officer,
      releasePolicy: policy,
      addPod,
      admittedTokenFile,
      admittedPolicy,
      outputDir: (name) => path.join(dir, 'out', `${name}-${++outputs}`),
      env: (overrides = {}) => {
        const base: Record<string, string | undefined> = {
          PATH: process.env['PATH'],
          ...sb.env('agent'),
          SECUREKEY_EVIDENCE: 'psp',
          SECUREKEY_PSP_TOKEN_FILE: admittedTokenFile,
          SECUREKEY_RELEASE_TRUST_ROOTS: sb.caFile,
          SECUREKEY_TIMEOUT: '60s',
          // Output directories are under the OS temp directory, often a disk: the tests' escape hatch.
          SECUREKEY_ALLOW_DISK_OUTPUT: 'true',
          ...overrides,
        };
        return Object.fromEntries(
          Object.entries(base).filter((e): e is [string, string] => e[1] !== undefined),
        );
      },
      admittedSigner: () => new ReportSigner(sb.amd, { hostData: Buffer.from(ADMITTED_DIGEST, 'hex') }),
      close: async () => {
        await sb.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await sb.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** The SDK's JsonWebKey for an import: binary members as bytes, `-HSM` key types. */
function sdkJwk(key: KeyObject): Record<string, unknown> {
  if (key.type === 'secret') return { kty: 'oct-HSM', k: key.export() };
  const jwk = key.export({ format: 'jwk' }) as Record<string, string>;
  const out: Record<string, unknown> = { kty: `${jwk['kty']}-HSM` };
  for (const [k, v] of Object.entries(jwk)) {
    if (k !== 'kty') out[k] = k === 'crv' ? v : Buffer.from(v, 'base64url');
  }
  return out;
}

export interface AgentRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The JSON lines of stderr. */
  events: Record<string, unknown>[];
  /** The stdout result line, when the agent succeeded. */
  result: Record<string, unknown> | undefined;
  /** The error event, when it failed. */
  error: Record<string, unknown> | undefined;
}

/**
 * Runs `node agent/main.ts init` with exactly `env`. `main`: the entry to run — the source by default, or the
 * shipped bundle's `main.cjs` (scripts/bundle-agent.ts); `nodeArgs` go to Node before it.
 */
export function runAgentProcess(
  env: Record<string, string>,
  args: string[] = ['init'],
  main = path.join(repoRoot, 'agent/main.ts'),
  nodeArgs: string[] = [],
): Promise<AgentRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, main, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const events = jsonLines(stderr);
      const result = jsonLines(stdout).at(-1);
      resolve({
        code,
        stdout,
        stderr,
        events,
        result,
        error: events.find((e) => e['level'] === 'error' && e['msg'] === 'failed'),
      });
    });
  });
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
