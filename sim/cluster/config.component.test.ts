import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSimulatorCa } from '../common/tls.ts';
import { parseClusterSimulatorsConfig } from './config.ts';

const ENV = {
  SECUREKEY_SIM_CA_DIR: '/etc/securekey/simulators-ca',
  SECUREKEY_SIM_VAULT_HOST: 'sandbox.managedhsm.securekey-system.svc.cluster.local',
  SECUREKEY_SIM_VAULT_RESOURCE: 'https://managedhsm.securekey-system.svc.cluster.local',
  SECUREKEY_SIM_HOST: 'securekey-simulators.securekey-system.svc.cluster.local',
  SECUREKEY_SIM_OPERATOR_SERVICE_ACCOUNT: 'securekey-system/securekey-operator',
  SECUREKEY_SIM_WORKLOAD_SERVICE_ACCOUNTS: 'default/default, shop/api',
};

describe('in-cluster simulators configuration', () => {
  it('reads the chart’s environment, service accounts as federated-credential subjects', () => {
    const c = parseClusterSimulatorsConfig(ENV);
    expect(c.operatorSubject).toBe('system:serviceaccount:securekey-system:securekey-operator');
    expect(c.workloadSubjects).toEqual([
      'system:serviceaccount:default:default',
      'system:serviceaccount:shop:api',
    ]);
    expect(c.ports).toEqual({ vault: 8443, maa: 8444, entra: 8445, psp: 8446, thim: 8447 });
    expect(c.pspAudience).toBe('securekey-psp');
    expect(c.adminToken).toBeUndefined();
  });

  it('refuses a vault host the Key Vault SDK would refuse, naming both variables', () => {
    expect(() =>
      parseClusterSimulatorsConfig({ ...ENV, SECUREKEY_SIM_VAULT_HOST: 'vault.securekey-system.svc' }),
    ).toThrow(
      /SECUREKEY_SIM_VAULT_HOST=vault.securekey-system.svc must end with \.managedhsm.*SECUREKEY_SIM_VAULT_RESOURCE/,
    );
  });

  it('names the variable that is missing or wrong', () => {
    const { SECUREKEY_SIM_HOST: _, ...noHost } = ENV;
    expect(() => parseClusterSimulatorsConfig(noHost)).toThrow(/SECUREKEY_SIM_HOST is required/);
    expect(() =>
      parseClusterSimulatorsConfig({ ...ENV, SECUREKEY_SIM_WORKLOAD_SERVICE_ACCOUNTS: 'Not A/Name' }),
    ).toThrow(/SECUREKEY_SIM_WORKLOAD_SERVICE_ACCOUNTS: "Not A\/Name" is not a service account/);
    expect(() =>
      parseClusterSimulatorsConfig({ ...ENV, SECUREKEY_SIM_WORKLOAD_SERVICE_ACCOUNTS: '' }),
    ).toThrow(/name at least one/);
    expect(() => parseClusterSimulatorsConfig({ ...ENV, SECUREKEY_SIM_PSP_PORT: '70000' })).toThrow(
      /SECUREKEY_SIM_PSP_PORT="70000": not a port/,
    );
  });
});

describe('a simulator CA made elsewhere (the chart’s)', () => {
  it('issues leaves an OpenSSL-made CA verifies, the authority key id copied from the CA (not re-derived)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sim-ca-'));
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-days',
          '2',
          '-subj',
          '/CN=chart simulators CA',
          // Go 1.25+ (Helm) derives key ids with SHA-256; any id other than our own derivation will do.
          '-addext',
          'subjectKeyIdentifier=00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33',
          '-addext',
          'authorityKeyIdentifier=none',
          '-keyout',
          path.join(dir, 'ca.key'),
          '-out',
          path.join(dir, 'ca.crt'),
        ],
        { stdio: 'ignore' },
      );
      const caPem = readFileSync(path.join(dir, 'ca.crt'), 'utf8');
      const ca = loadSimulatorCa(caPem, readFileSync(path.join(dir, 'ca.key'), 'utf8'));
      expect(ca.name).toBe('chart simulators CA');
      const leaf = ca.issue({ commonName: 'vault', dns: ['sandbox.managedhsm.ns.svc.cluster.local'] });
      const cert = new crypto.X509Certificate(leaf.certPem);
      const caCert = new crypto.X509Certificate(caPem);
      expect(cert.checkIssued(caCert)).toBe(true);
      expect(cert.verify(caCert.publicKey)).toBe(true);
      // OpenSSL builds the chain by subject and key id: the real verifier, not just the signature.
      const leafFile = path.join(dir, 'leaf.pem');
      execFileSync('sh', ['-c', `cat > '${leafFile}'`], { input: leaf.certPem });
      const out = execFileSync('openssl', ['verify', '-CAfile', path.join(dir, 'ca.crt'), leafFile], {
        encoding: 'utf8',
      });
      expect(out.trim()).toBe(`${leafFile}: OK`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads a SEC1 EC key (what Helm’s genPrivateKey "ecdsa" writes) and refuses a key that is not the certificate’s', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sim-ca-sec1-'));
    try {
      const run = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
      run('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', path.join(dir, 'ca.key'));
      run(
        'req',
        '-x509',
        '-new',
        '-key',
        path.join(dir, 'ca.key'),
        '-days',
        '2',
        '-subj',
        '/CN=sec1 CA',
        '-out',
        path.join(dir, 'ca.crt'),
      );
      run('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', path.join(dir, 'other.key'));
      const keyPem = readFileSync(path.join(dir, 'ca.key'), 'utf8');
      expect(keyPem).toContain('BEGIN EC PRIVATE KEY');
      const caPem = readFileSync(path.join(dir, 'ca.crt'), 'utf8');
      const leaf = loadSimulatorCa(caPem, keyPem).issue({ commonName: 'x', dns: ['x.svc'] });
      expect(
        new crypto.X509Certificate(leaf.certPem).verify(new crypto.X509Certificate(caPem).publicKey),
      ).toBe(true);
      expect(() => loadSimulatorCa(caPem, readFileSync(path.join(dir, 'other.key'), 'utf8'))).toThrow(
        'the simulators CA key does not belong to its certificate',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('signing keys that survive a simulators restart', () => {
  it('gives a restarted Entra the same token-signing key; TLS keys stay fresh; files are 0600', async () => {
    const { withPersistentSigningKeys, createSimulatorCa } = await import('../common/tls.ts');
    const { startEntra } = await import('../entra/start.ts');
    const { httpsRequest } = await import('../../test/support/https-request.ts');
    const { statSync, readdirSync } = await import('node:fs');
    const dir = mkdtempSync(path.join(tmpdir(), 'sim-signing-'));
    const base = createSimulatorCa('restart CA');
    const keysOf = async () => {
      const entra = await startEntra({
        ca: withPersistentSigningKeys(base, dir),
        tenantId: 't1',
        applications: [],
      });
      try {
        const res = await httpsRequest(`${entra.url}/t1/discovery/v2.0/keys`, { caPem: base.certPem });
        return (res.json as { keys: Array<{ kid: string; n: string }> }).keys;
      } finally {
        await entra.close();
      }
    };
    try {
      const first = await keysOf();
      const second = await keysOf();
      expect(first.map((k) => k.n)).toEqual(second.map((k) => k.n));
      expect(first).toHaveLength(1);
      for (const f of readdirSync(dir)) expect(statSync(path.join(dir, f)).mode & 0o777).toBe(0o600);
      // Another issue under the same name is another key (a rotation stays a rotation).
      const ca = withPersistentSigningKeys(base, dir);
      const a = ca.issue({ commonName: 'x', usage: 'signing' });
      const b = ca.issue({ commonName: 'x', usage: 'signing' });
      expect(a.keyPem).not.toBe(b.keyPem);
      expect(ca.issue({ commonName: 'tls' }).keyPem).not.toBe(ca.issue({ commonName: 'tls' }).keyPem);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
