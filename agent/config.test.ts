import { describe, expect, it } from 'vitest';
import { AGENT_OPTIONS, flagArg } from '../core/inject/agent-contract.ts';
import { parseAgentConfig, type AgentConfig } from './config.ts';
import { AgentError, type AgentErrorKind } from './errors.ts';

const BASE = {
  SECUREKEY_VAULT_URL: 'https://hsm1.managedhsm.azure.net',
  SECUREKEY_ATTESTATION_URL: 'https://maa1.weu.attest.azure.net',
  SECUREKEY_KEYS: 'db=db-key',
  AZURE_TENANT_ID: 'tenant',
  AZURE_CLIENT_ID: 'client',
  AZURE_FEDERATED_TOKEN_FILE: '/var/run/secrets/azure/tokens/azure-identity-token',
};

function refused(argv: string[], env: Record<string, string | undefined>, kind: AgentErrorKind): AgentError {
  try {
    parseAgentConfig(argv, env);
  } catch (err) {
    expect(err).toBeInstanceOf(AgentError);
    expect((err as AgentError).kind).toBe(kind);
    expect((err as AgentError).step).toBe('config');
    return err as AgentError;
  }
  throw new Error('expected the configuration to be refused');
}

describe('parseAgentConfig', () => {
  it('fills the defaults around the required settings', () => {
    const c = parseAgentConfig([], BASE);
    expect(c).toMatchObject({
      mode: 'init',
      evidence: 'tsm',
      vcekSource: 'auto',
      thimUrl: 'http://169.254.169.254',
      outputDir: '/run/securekey',
      readyFile: '/run/securekey/.securekey-ready',
      releaseEnc: 'RSA_AES_KEY_WRAP_256',
      timeoutMs: 120_000,
      admissionWaitMs: 0,
      simulators: false,
      identity: { tenantId: 'tenant', clientId: 'client', tokenFile: BASE.AZURE_FEDERATED_TOKEN_FILE },
    });
    expect(c.keys).toEqual([
      {
        alias: 'db',
        vaultUrl: 'https://hsm1.managedhsm.azure.net',
        name: 'db-key',
        attestationUrl: 'https://maa1.weu.attest.azure.net',
        format: 'raw',
        path: '/run/securekey/db',
      },
    ]);
    expect(c.releaseTrustRootsFile).toBeUndefined();
    expect(c.caFile).toBeUndefined();
  });

  it('reads key specs: version, format, a path inside the output directory; commas or spaces between', () => {
    const c = parseAgentConfig([], {
      ...BASE,
      SECUREKEY_OUTPUT_DIR: '/keys',
      SECUREKEY_KEYS: 'db=db-key@0123abcd:pem, tls=tls-key:jwk:certs/tls.json\nsig=sig-key:raw:/keys/s.bin',
    });
    expect(
      c.keys.map(({ alias, name, version, format, path }) => ({ alias, name, version, format, path })),
    ).toEqual([
      { alias: 'db', name: 'db-key', version: '0123abcd', format: 'pem', path: '/keys/db' },
      { alias: 'tls', name: 'tls-key', version: undefined, format: 'jwk', path: '/keys/certs/tls.json' },
      { alias: 'sig', name: 'sig-key', version: undefined, format: 'raw', path: '/keys/s.bin' },
    ]);
  });

  it('flags win over variables; --key repeats; --flag=value works', () => {
    const c = parseAgentConfig(
      [
        'init',
        '--vault-url',
        'https://kv2.vault.azure.net/',
        '--key',
        'a=key-a',
        '--key=b=key-b:jwk',
        '--output-dir=/out',
        '--timeout',
        '2m',
      ],
      BASE,
    );
    expect(c.keys.map((k) => k.vaultUrl)).toEqual([
      'https://kv2.vault.azure.net',
      'https://kv2.vault.azure.net',
    ]);
    expect(c.keys.map((k) => `${k.alias}:${k.path}`)).toEqual(['a:/out/a', 'b:/out/b']);
    expect(c.timeoutMs).toBe(120_000);
  });

  it('reads the arguments the injector writes (core/inject agentArgs): key IDs and per-key options', () => {
    const c = parseAgentConfig(
      [
        'init',
        '--key=db=https://h.managedhsm.azure.net/keys/db-key',
        '--format=db=pem',
        '--file=db=db.pem',
        '--authority=db=https://sharedeus.eus.attest.azure.net',
        '--key=tls=https://kv1.vault.azure.net:443/keys/tls-key/0123abcd/',
        '--format=tls=jwk',
        '--file=tls=tls',
        '--authority=tls=https://sharedeus.eus.attest.azure.net/',
      ],
      {
        ...BASE,
        SECUREKEY_VAULT_URL: undefined,
        SECUREKEY_ATTESTATION_URL: undefined,
        SECUREKEY_KEYS: undefined,
      },
    );
    expect(c.keys).toEqual([
      {
        alias: 'db',
        vaultUrl: 'https://h.managedhsm.azure.net',
        name: 'db-key',
        attestationUrl: 'https://sharedeus.eus.attest.azure.net',
        format: 'pem',
        path: '/run/securekey/db.pem',
      },
      {
        alias: 'tls',
        vaultUrl: 'https://kv1.vault.azure.net',
        name: 'tls-key',
        version: '0123abcd',
        attestationUrl: 'https://sharedeus.eus.attest.azure.net',
        format: 'jwk',
        path: '/run/securekey/tls',
      },
    ]);
    // Key IDs and the defaults mix; the inline format follows the key ID.
    const mixed = parseAgentConfig([], {
      ...BASE,
      SECUREKEY_KEYS: 'a=a-key,b=https://kv9.vault.azure.net/keys/b-key:jwk',
    });
    expect(mixed.keys.map((k) => `${k.alias} ${k.vaultUrl} ${k.format}`)).toEqual([
      'a https://hsm1.managedhsm.azure.net raw',
      'b https://kv9.vault.azure.net jwk',
    ]);
  });

  it('per-key options must name a key; key IDs must be https key URLs; every key needs a vault and an authority', () => {
    expect(refused(['--format', 'nope=pem'], BASE, 'config-invalid').message).toContain(
      '--format: no key has alias nope',
    );
    expect(refused(['--file', 'db'], BASE, 'config-invalid').message).toContain('is not alias=value');
    expect(refused(['--authority', 'db=http://maa'], BASE, 'config-invalid').message).toContain(
      '--authority db',
    );
    expect(
      refused([], { ...BASE, SECUREKEY_KEYS: 'db=http://kv1.vault.azure.net/keys/k' }, 'config-invalid')
        .message,
    ).toContain('is not a key ID');
    expect(
      refused([], { ...BASE, SECUREKEY_KEYS: 'db=https://kv1.vault.azure.net/secrets/k' }, 'config-invalid')
        .message,
    ).toContain('is not a key ID');
    const noVault = refused([], { ...BASE, SECUREKEY_VAULT_URL: undefined }, 'config-missing');
    expect(noVault.message).toContain(
      'key db names no vault: SECUREKEY_VAULT_URL (or --vault-url) is not set',
    );
    const noAuthority = refused([], { ...BASE, SECUREKEY_ATTESTATION_URL: undefined }, 'config-missing');
    expect(noAuthority.message).toContain('SECUREKEY_ATTESTATION_URL');
    expect(noAuthority.hint).toContain('--authority db=');
  });

  it('simulated evidence needs simulators on, and its own settings', () => {
    const e = refused([], { ...BASE, SECUREKEY_EVIDENCE: 'psp' }, 'config-invalid');
    expect(e.message).toContain('SECUREKEY_EVIDENCE=psp');
    expect(e.hint).toContain('SECUREKEY_SIMULATORS=true');
    const sim = { ...BASE, SECUREKEY_SIMULATORS: 'true' };
    expect(refused([], { ...sim, SECUREKEY_EVIDENCE: 'psp' }, 'config-missing').message).toContain(
      'SECUREKEY_PSP_URL',
    );
    expect(
      refused(
        [],
        { ...sim, SECUREKEY_EVIDENCE: 'psp', SECUREKEY_PSP_URL: 'https://psp.localhost' },
        'config-missing',
      ).message,
    ).toContain('SECUREKEY_PSP_TOKEN_FILE');
    expect(refused(['--simulators', '--evidence', 'tsm-socket'], BASE, 'config-missing').message).toContain(
      'SECUREKEY_DEVICE_SOCKET',
    );
    const ok = parseAgentConfig(
      ['--simulators', '--evidence=sev-guest-socket', '--device-socket', '/run/sev.sock'],
      BASE,
    );
    expect(ok).toMatchObject({
      evidence: 'sev-guest-socket',
      deviceSocket: '/run/sev.sock',
      simulators: true,
    });
  });

  it('the device backends (sev-guest, ACI sev) run the native helper: default path, or an absolute one', () => {
    expect(parseAgentConfig([], { ...BASE, SECUREKEY_EVIDENCE: 'sev-guest' })).toMatchObject({
      evidence: 'sev-guest',
      sevHelper: '/usr/local/lib/securekey/sev-report',
      simulators: false,
    });
    expect(parseAgentConfig(['--evidence', 'sev', '--sev-helper', '/opt/sk/sev-report'], BASE)).toMatchObject(
      { evidence: 'sev', sevHelper: '/opt/sk/sev-report' },
    );
    expect(
      parseAgentConfig([], { ...BASE, SECUREKEY_SEV_HELPER: '/opt/sk/sev-report' }).sevHelper,
    ).toBeUndefined();
    const relative = refused(['--evidence=sev', '--sev-helper=bin/sev-report'], BASE, 'config-invalid');
    expect(relative.message).toBe('--sev-helper="bin/sev-report" must be an absolute path');
    const fromEnv = refused(
      [],
      { ...BASE, SECUREKEY_EVIDENCE: 'sev-guest', SECUREKEY_SEV_HELPER: 'x' },
      'config-invalid',
    );
    expect(fromEnv.message).toContain('SECUREKEY_SEV_HELPER="x"');
    expect(refused(['--evidence', 'sev-snp'], BASE, 'config-invalid').message).toContain(
      'expected one of tsm, sev-guest, sev, psp, sev-guest-socket, tsm-socket',
    );
  });

  it.each([
    [{ SECUREKEY_KEYS: ' ' }, 'config-missing', 'SECUREKEY_KEYS'],
    [{ AZURE_CLIENT_ID: undefined }, 'config-missing', 'AZURE_CLIENT_ID'],
    [{ AZURE_FEDERATED_TOKEN_FILE: 'token' }, 'config-invalid', 'AZURE_FEDERATED_TOKEN_FILE'],
    [{ SECUREKEY_VAULT_URL: 'http://hsm1.managedhsm.azure.net' }, 'config-invalid', 'must be an https URL'],
    [
      { SECUREKEY_VAULT_URL: 'https://hsm1.managedhsm.azure.net/keys' },
      'config-invalid',
      'must be an origin',
    ],
    [{ SECUREKEY_VAULT_URL: 'not a url' }, 'config-invalid', 'is not a URL'],
    [{ SECUREKEY_EVIDENCE: 'dev-mem' }, 'config-invalid', 'SECUREKEY_EVIDENCE="dev-mem"'],
    [{ SECUREKEY_VCEK_SOURCE: 'vlek' }, 'config-invalid', 'SECUREKEY_VCEK_SOURCE'],
    [{ SECUREKEY_RELEASE_ENC: 'A256KW' }, 'config-invalid', 'SECUREKEY_RELEASE_ENC'],
    [{ SECUREKEY_TIMEOUT: '10' }, 'config-invalid', 'SECUREKEY_TIMEOUT="10"'],
    [{ SECUREKEY_TIMEOUT: '10ms' }, 'config-invalid', 'at least 1000 ms'],
    [{ SECUREKEY_SIMULATORS: 'yes' }, 'config-invalid', 'SECUREKEY_SIMULATORS'],
    [{ SECUREKEY_OUTPUT_DIR: 'run/securekey' }, 'config-invalid', 'must be an absolute path'],
    [{ SECUREKEY_FILE_OWNER: 'app' }, 'config-invalid', 'SECUREKEY_FILE_OWNER'],
    [{ SECUREKEY_KEYS: 'db' }, 'config-invalid', 'is not a key'],
    [{ SECUREKEY_KEYS: 'd/b=db-key' }, 'config-invalid', 'alias "d/b"'],
    [{ SECUREKEY_KEYS: 'db=db_key' }, 'config-invalid', 'is not a vault key name'],
    [{ SECUREKEY_KEYS: 'db=db-key@v-1' }, 'config-invalid', 'is not a key version'],
    [{ SECUREKEY_KEYS: 'db=db-key:der' }, 'config-invalid', 'format "der"'],
    [{ SECUREKEY_KEYS: 'db=db-key:raw:../etc/db' }, 'config-invalid', 'outside the output directory'],
    [{ SECUREKEY_KEYS: 'db=db-key:raw:/etc/db' }, 'config-invalid', 'outside the output directory'],
    [{ SECUREKEY_KEYS: 'db=a-key,db=b-key' }, 'config-invalid', 'alias db is given twice'],
    [{ SECUREKEY_ROTATIONS: 'db=30m' }, 'config-invalid', 'SECUREKEY_ROTATIONS db="30m"'],
    [{ SECUREKEY_ROTATIONS: 'web=1h' }, 'config-invalid', 'web'],
    [{ SECUREKEY_KEYS: 'a=a-key:raw:k,b=b-key:raw:k' }, 'config-invalid', 'would both be written to'],
    [{ SECUREKEY_KEYS: 'a=a-key:raw:.securekey-ready' }, 'config-invalid', 'readiness file'],
  ] as const)('%j → %s naming %s', (env, kind, text) => {
    expect(refused([], { ...BASE, ...env }, kind).message).toContain(text);
  });

  it('refuses unknown flags, repeated flags and modes this agent does not run', () => {
    expect(refused(['--vault', 'x'], BASE, 'config-invalid').message).toContain('unknown flag --vault');
    expect(refused(['--timeout', '1m', '--timeout', '2m'], BASE, 'config-invalid').message).toContain(
      'given twice',
    );
    expect(refused(['--timeout'], BASE, 'config-missing').message).toContain('--timeout needs a value');
    expect(refused(['node'], BASE, 'config-invalid').message).toContain('mode "node"');
    expect(refused(['init', 'extra'], BASE, 'config-invalid').message).toContain('unexpected argument');
  });

  it('reads argv with parseArgs: flags only from the contract, a value for each, each once unless per key', () => {
    // A flag where a value belongs is refused, not taken as the value.
    const dash = refused(['--timeout', '--key', 'a=a-key'], BASE, 'config-missing');
    expect(dash.message).toBe('--timeout needs a value (the argument after it starts with a dash)');
    expect(dash.hint).toBe('give a value that starts with a dash as --timeout=<value>');
    expect(refused(['--timeout=-1s'], BASE, 'config-invalid').message).toContain('--timeout="-1s"');
    // Short options are not the agent's; neither is a flag of another mode.
    expect(refused(['-t', '2m'], BASE, 'config-invalid').message).toBe('unknown flag -t');
    const nodeFlag = refused(['--node-agent-url=https://n'], BASE, 'config-invalid');
    expect(nodeFlag.message).toBe('unknown flag --node-agent-url');
    expect(nodeFlag.hint).toContain('--vault-url, --key, --format');
    expect(refused(['--vault-url=https://a', '--vault-url=https://b'], BASE, 'config-invalid').message).toBe(
      '--vault-url is given twice',
    );
    expect(refused(['--simulators', '--simulators'], BASE, 'config-invalid').message).toBe(
      '--simulators is given twice',
    );
    // The switch: bare, or =true / =false.
    expect(parseAgentConfig(['--simulators=false'], BASE).simulators).toBe(false);
    expect(parseAgentConfig(['sidecar', '--simulators'], BASE)).toMatchObject({
      mode: 'sidecar',
      simulators: true,
    });
    expect(refused(['--simulators=yes'], BASE, 'config-invalid').message).toContain('--simulators="yes"');
    // After `--` everything is an argument, so a second one is refused.
    expect(refused(['init', '--', '--timeout'], BASE, 'config-invalid').message).toBe(
      'unexpected argument "--timeout"',
    );
    // Per-key flags repeat and add up, from the flag only (it wins over the variable).
    const c = parseAgentConfig(['--key=a=a-key', '--key', 'b=b-key', '--format=a=pem', '--format', 'b=jwk'], {
      ...BASE,
      SECUREKEY_FORMATS: 'a=jwk',
    });
    expect(c.keys.map((k) => `${k.alias}:${k.format}`)).toEqual(['a:pem', 'b:jwk']);
  });

  it('AMD KDS: --kds-url names it; --vcek-source kds uses AMD’s own unless one is named; https only', () => {
    expect(parseAgentConfig([], BASE).kdsUrl).toBeUndefined();
    expect(parseAgentConfig(['--kds-url=https://kds.example/'], BASE).kdsUrl).toBe('https://kds.example');
    expect(parseAgentConfig(['--vcek-source', 'kds'], BASE).kdsUrl).toBe('https://kdsintf.amd.com');
    expect(
      parseAgentConfig([], { ...BASE, SECUREKEY_VCEK_SOURCE: 'kds', SECUREKEY_KDS_URL: 'https://kds.local' })
        .kdsUrl,
    ).toBe('https://kds.local');
    expect(refused(['--kds-url', 'http://kds.local'], BASE, 'config-invalid').message).toBe(
      '--kds-url="http://kds.local" must be an https URL',
    );
  });

  it('names the flag when the bad value came from a flag', () => {
    expect(refused(['--evidence', 'nope'], BASE, 'config-invalid').message).toContain('--evidence="nope"');
  });
});

describe('the agent identity', () => {
  const { AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE, ...noWorkload } = BASE;
  const MI_RESOURCE =
    '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/skr';

  it('auto: workload identity when its token file is set, as the AKS webhook sets it', () => {
    expect(parseAgentConfig([], BASE).identity).toEqual({
      kind: 'workload',
      tenantId: AZURE_TENANT_ID,
      clientId: AZURE_CLIENT_ID,
      tokenFile: AZURE_FEDERATED_TOKEN_FILE,
    });
  });

  it('auto: the managed identity through IMDS otherwise (ACI, VN2), AZURE_CLIENT_ID alone not read', () => {
    expect(parseAgentConfig([], noWorkload).identity).toEqual({
      kind: 'managed',
      imdsUrl: 'http://169.254.169.254',
    });
    expect(parseAgentConfig([], { ...noWorkload, AZURE_CLIENT_ID }).identity).toEqual({
      kind: 'managed',
      imdsUrl: 'http://169.254.169.254',
    });
  });

  it('a half-configured workload identity is refused, naming what is missing, not replaced by IMDS', () => {
    const e = refused([], { ...noWorkload, AZURE_FEDERATED_TOKEN_FILE }, 'config-missing');
    expect(e.message).toContain('AZURE_TENANT_ID');
    expect(refused(['--identity=workload'], noWorkload, 'config-missing').message).toContain(
      'AZURE_TENANT_ID',
    );
  });

  it('managed wins over the workload variables when asked for', () => {
    expect(parseAgentConfig(['--identity', 'managed'], BASE).identity.kind).toBe('managed');
  });

  it('names a user-assigned identity by client id or resource id; refuses anything else', () => {
    const by = (id: string) =>
      parseAgentConfig([], { ...noWorkload, SECUREKEY_MANAGED_IDENTITY: id }).identity;
    expect(by(MI_RESOURCE)).toEqual({
      kind: 'managed',
      imdsUrl: 'http://169.254.169.254',
      resourceId: MI_RESOURCE,
    });
    const e = refused([], { ...noWorkload, SECUREKEY_MANAGED_IDENTITY: 'skr-identity' }, 'config-invalid');
    expect(e.message).toContain('SECUREKEY_MANAGED_IDENTITY');
    refused(['--identity=both'], BASE, 'config-invalid');
    refused([], { ...noWorkload, SECUREKEY_IMDS_URL: 'ftp://imds' }, 'config-invalid');
  });
});

const PEM = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----';

type Option = keyof typeof AGENT_OPTIONS;

/** One option's value, what else it needs (as variables), and where it lands in the configuration. */
interface Case {
  value: string;
  with?: Partial<Record<Option, string>>;
  read: (c: AgentConfig) => unknown;
  want: unknown;
}

const db = (c: AgentConfig) => c.keys[0]!;
const psp = { evidence: 'psp', simulators: 'true' } as const;

/** Typed by the contract: an option added there without a case here does not compile. */
const CASES: Record<Option, Case> = {
  vaultUrl: {
    value: 'https://kv2.vault.azure.net',
    read: (c) => db(c).vaultUrl,
    want: 'https://kv2.vault.azure.net',
  },
  keys: {
    value: 'tls=tls-key:pem',
    read: (c) => `${db(c).alias} ${db(c).name} ${db(c).format}`,
    want: 'tls tls-key pem',
  },
  format: { value: 'db=jwk', read: (c) => db(c).format, want: 'jwk' },
  file: { value: 'db=db.bin', read: (c) => db(c).path, want: '/run/securekey/db.bin' },
  authority: {
    value: 'db=https://maa2.weu.attest.azure.net',
    read: (c) => db(c).attestationUrl,
    want: 'https://maa2.weu.attest.azure.net',
  },
  attestationUrl: {
    value: 'https://maa3.weu.attest.azure.net',
    read: (c) => db(c).attestationUrl,
    want: 'https://maa3.weu.attest.azure.net',
  },
  releaseTrustRoots: {
    value: '/etc/roots.pem',
    read: (c) => c.releaseTrustRootsFile,
    want: '/etc/roots.pem',
  },
  caFile: { value: '/etc/ca.pem', read: (c) => c.caFile, want: '/etc/ca.pem' },
  caPem: { value: PEM, read: (c) => c.caPem, want: PEM + '\n' },
  releaseTrustRootsPem: { value: PEM, read: (c) => c.releaseTrustRootsPem, want: PEM + '\n' },
  evidence: { value: 'sev-guest', read: (c) => c.evidence, want: 'sev-guest' },
  pspUrl: {
    value: 'https://psp.sims.svc:8446',
    with: { ...psp, pspTokenFile: '/var/run/psp/token' },
    read: (c) => c.pspUrl,
    want: 'https://psp.sims.svc:8446',
  },
  pspTokenFile: {
    value: '/var/run/psp/token',
    with: { ...psp, pspUrl: 'https://psp.sims.svc' },
    read: (c) => c.pspTokenFile,
    want: '/var/run/psp/token',
  },
  deviceSocket: {
    value: '/run/sev.sock',
    with: { evidence: 'tsm-socket', simulators: 'true' },
    read: (c) => c.deviceSocket,
    want: '/run/sev.sock',
  },
  sevHelper: {
    value: '/opt/sev-report',
    with: { evidence: 'sev' },
    read: (c) => c.sevHelper,
    want: '/opt/sev-report',
  },
  vcekSource: { value: 'thim', read: (c) => c.vcekSource, want: 'thim' },
  thimUrl: { value: 'http://thim.local:8080', read: (c) => c.thimUrl, want: 'http://thim.local:8080' },
  uvmSecurityContextDir: {
    value: '/security-context',
    read: (c) => c.uvmSecurityContextDir,
    want: '/security-context',
  },
  kdsUrl: { value: 'https://kds.example', read: (c) => c.kdsUrl, want: 'https://kds.example' },
  outputDir: { value: '/keys', read: (c) => [c.outputDir, db(c).path], want: ['/keys', '/keys/db'] },
  readyFile: { value: '/run/securekey/ready', read: (c) => c.readyFile, want: '/run/securekey/ready' },
  releaseEnc: { value: 'CKM_RSA_AES_KEY_WRAP', read: (c) => c.releaseEnc, want: 'CKM_RSA_AES_KEY_WRAP' },
  timeout: { value: '45s', read: (c) => c.timeoutMs, want: 45_000 },
  admissionWait: { value: '2m', read: (c) => c.admissionWaitMs, want: 120_000 },
  refresh: { value: '30s', read: (c) => c.refreshMs, want: 30_000 },
  rotation: { value: 'db=720h', read: (c) => db(c).rotationMs, want: 720 * 3_600_000 },
  probePort: { value: '8181', read: (c) => c.probePort, want: 8181 },
  skrApiPort: { value: '8080', read: (c) => c.skrApiPort, want: 8080 },
  fileOwner: { value: '1000:2000', read: (c) => c.fileOwner, want: { uid: 1000, gid: 2000 } },
  fileMode: { value: '0440', read: (c) => c.fileMode, want: '0440' },
  allowDiskOutput: { value: 'true', read: (c) => c.allowDiskOutput, want: true },
  simulators: { value: 'true', read: (c) => c.simulators, want: true },
  identity: { value: 'managed', read: (c) => c.identity.kind, want: 'managed' },
  imdsUrl: {
    value: 'http://127.0.0.1:8080',
    with: { identity: 'managed' },
    read: (c) => (c.identity.kind === 'managed' ? c.identity.imdsUrl : undefined),
    want: 'http://127.0.0.1:8080',
  },
  managedIdentity: {
    value: '0f4c2b6e-9a3d-4f1e-8c7b-2d5e6f708192',
    with: { identity: 'managed' },
    read: (c) => (c.identity.kind === 'managed' ? c.identity.clientId : undefined),
    want: '0f4c2b6e-9a3d-4f1e-8c7b-2d5e6f708192',
  },
};

const variables = (options: Partial<Record<Option, string>> = {}) =>
  Object.fromEntries(Object.entries(options).map(([o, v]) => [AGENT_OPTIONS[o as Option].variable, v]));

describe('every option of the contract reaches the agent configuration', () => {
  it.each(Object.entries(CASES) as [Option, Case][])('%s, by flag and by variable', (option, c) => {
    const env = { ...BASE, ...variables(c.with) };
    expect(c.read(parseAgentConfig([flagArg(AGENT_OPTIONS[option], c.value)], env))).toEqual(c.want);
    expect(c.read(parseAgentConfig([], { ...env, ...variables({ [option]: c.value }) }))).toEqual(c.want);
    // Without the option the agent does something else (or refuses to start).
    let without: unknown;
    try {
      without = c.read(parseAgentConfig([], env));
    } catch (err) {
      without = err;
    }
    expect(without).not.toEqual(c.want);
  });
});

function pemRefusal(env: Record<string, string>): string {
  try {
    parseAgentConfig([], { ...BASE, ...env });
  } catch (err) {
    expect(err).toBeInstanceOf(AgentError);
    return (err as Error).message;
  }
  throw new Error('expected the configuration to be refused');
}

describe('trust roots as PEM in the environment (what the webhook injects, measured with the pod)', () => {
  it('reads SECUREKEY_CA_PEM and SECUREKEY_RELEASE_TRUST_ROOTS_PEM as given', () => {
    const c = parseAgentConfig([], {
      ...BASE,
      SECUREKEY_CA_PEM: PEM,
      SECUREKEY_RELEASE_TRUST_ROOTS_PEM: PEM,
    });
    expect(c.caPem).toBe(PEM + '\n');
    expect(c.releaseTrustRootsPem).toBe(PEM + '\n');
    expect(c.caFile).toBeUndefined();
  });

  it('refuses text that is not certificates, a private key, and both forms of one option', () => {
    expect(pemRefusal({ SECUREKEY_CA_PEM: 'not pem' })).toMatch(
      /SECUREKEY_CA_PEM: expected PEM certificates/,
    );
    expect(
      pemRefusal({ SECUREKEY_CA_PEM: `${PEM}\n-----BEGIN PRIVATE KEY-----\nAA\n-----END PRIVATE KEY-----` }),
    ).toMatch(/SECUREKEY_CA_PEM: expected PEM certificates \(and nothing else\)/);
    expect(pemRefusal({ SECUREKEY_CA_PEM: PEM, SECUREKEY_CA_FILE: '/etc/ca.pem' })).toMatch(
      /SECUREKEY_CA_PEM and SECUREKEY_CA_FILE are both set/,
    );
    expect(
      pemRefusal({ SECUREKEY_RELEASE_TRUST_ROOTS_PEM: PEM, SECUREKEY_RELEASE_TRUST_ROOTS: '/etc/roots.pem' }),
    ).toMatch(/SECUREKEY_RELEASE_TRUST_ROOTS_PEM and SECUREKEY_RELEASE_TRUST_ROOTS are both set/);
  });
});
