import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { isErrorOf } from '../../core/errors.ts';
import { KubeApiError } from './errors.ts';
import { defaultKubeAccess, inClusterAccess, kubeAccessFromFile } from './kubeconfig.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'kubeconfig-test-'));

function write(name: string, content: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, content);
  return file;
}

function kubeconfig(
  name: string,
  user: Record<string, unknown>,
  cluster: Record<string, unknown> = {},
): string {
  return write(
    name,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'ctx',
      contexts: [
        { name: 'other', context: { cluster: 'nowhere', user: 'nobody' } },
        { name: 'ctx', context: { cluster: 'c', user: 'u' } },
      ],
      clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:6443/', ...cluster } }],
      users: [{ name: 'u', user }],
    }),
  );
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('kubeconfig', () => {
  it('reads server, CA and client certificate from data or relative files', async () => {
    write('ca.pem', 'CA-PEM');
    const a = kubeAccessFromFile(
      kubeconfig(
        'data.yaml',
        { 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY') },
        { 'certificate-authority-data': b64('CA') },
      ),
    );
    expect(a.server).toBe('https://127.0.0.1:6443');
    expect(a.tls).toEqual({ ca: 'CA', cert: 'CERT', key: 'KEY' });
    expect(await a.authorization()).toBeUndefined();
    const f = kubeAccessFromFile(
      kubeconfig('files.yaml', {}, { 'certificate-authority': 'ca.pem', 'tls-server-name': 'kubernetes' }),
    );
    expect(f.tls).toEqual({ ca: 'CA-PEM', servername: 'kubernetes' });
  });

  it('bearer tokens: inline, or a token file re-read on every use', async () => {
    expect(await kubeAccessFromFile(kubeconfig('t.yaml', { token: 'abc' })).authorization()).toBe(
      'Bearer abc',
    );
    const tokenFile = write('token', 'first\n');
    const a = kubeAccessFromFile(kubeconfig('tf.yaml', { tokenFile }));
    expect(await a.authorization()).toBe('Bearer first');
    writeFileSync(tokenFile, 'rotated');
    expect(await a.authorization()).toBe('Bearer rotated');
  });

  it('runs an exec credential plugin once and caches its token until it expires', async () => {
    const counter = write('count', '');
    const plugin = write(
      'plugin.sh',
      `#!/bin/sh\necho x >> ${counter}\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"from-plugin-'$EXTRA'","expirationTimestamp":"2999-01-01T00:00:00Z"}}'\n`,
    );
    chmodSync(plugin, 0o755);
    const a = kubeAccessFromFile(
      kubeconfig('exec.yaml', {
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1',
          command: plugin,
          env: [{ name: 'EXTRA', value: 'env' }],
        },
      }),
    );
    expect(await a.authorization()).toBe('Bearer from-plugin-env');
    expect(await a.authorization()).toBe('Bearer from-plugin-env');
    expect(readFileSync(counter, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('never quotes a secret in its errors: not a broken line, a plugin argument or its output', async () => {
    const secret = 'c2VjcmV0LXRva2VuLXZhbHVl';
    const broken = write('leaky.yaml', `users:\n- name: u\n  user:\n    token: ${secret}\n    : [\n`);
    expect(() => kubeAccessFromFile(broken)).toThrow(
      /leaky\.yaml: cannot be read: not valid YAML at line \d+/,
    );
    expect(() => kubeAccessFromFile(broken)).not.toThrow(new RegExp(secret));
    const failing = write('fail.sh', '#!/bin/sh\nexit 3\n');
    const garbled = write('garbled.sh', `#!/bin/sh\necho '{"status":{"token":"${secret}"'\n`);
    chmodSync(failing, 0o755);
    chmodSync(garbled, 0o755);
    for (const [command, problem] of [
      [failing, /failed \(exit 3\)/],
      [garbled, /printed no ExecCredential JSON/],
    ] as const) {
      const access = kubeAccessFromFile(
        kubeconfig(`${path.basename(command)}.yaml`, {
          exec: { command, args: ['--client-secret', secret] },
        }),
      );
      const err = await access.authorization().then(
        () => new Error('accepted'),
        (e: unknown) => e as Error,
      );
      expect(err.message).toMatch(problem);
      expect(err.message).not.toContain(secret);
    }
  });

  it('refuses what it cannot use, naming the file and the problem', () => {
    const refused = (file: string, text: RegExp) => {
      try {
        kubeAccessFromFile(file);
      } catch (err) {
        expect(isErrorOf(err, KubeApiError, 'no-cluster')).toBe(true);
        expect((err as Error).message).toMatch(text);
        return;
      }
      throw new Error('accepted');
    };
    refused(write('nocontext.yaml', stringify({ clusters: [] })), /nocontext\.yaml: has no current-context/);
    refused(
      kubeconfig('ap.yaml', { 'auth-provider': { name: 'azure' } }),
      /auth-provider plugins are not supported/,
    );
    refused(path.join(dir, 'absent.yaml'), /absent\.yaml: cannot be read/);
  });

  it('in-cluster: service host and port, the mounted CA, and the rotating token', async () => {
    const sa = mkdtempSync(path.join(dir, 'sa-'));
    writeFileSync(path.join(sa, 'ca.crt'), 'CLUSTER-CA');
    writeFileSync(path.join(sa, 'token'), 'sa-token');
    const a = inClusterAccess({ KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' }, sa);
    expect(a.server).toBe('https://10.0.0.1:443');
    expect(a.tls.ca).toBe('CLUSTER-CA');
    expect(await a.authorization()).toBe('Bearer sa-token');
    expect(inClusterAccess({ KUBERNETES_SERVICE_HOST: 'fd00::1' }, sa).server).toBe('https://[fd00::1]:443');
  });

  describe('$KUBECONFIG with several files, merged as kubectl merges them', () => {
    const a = mkdtempSync(path.join(dir, 'a-'));
    const b = mkdtempSync(path.join(dir, 'b-'));
    writeFileSync(path.join(a, 'ca.pem'), 'CA-OF-A');
    writeFileSync(path.join(b, 'ca.pem'), 'CA-OF-B');
    // No current-context here: the first file to set one is b.
    const first = path.join(a, 'config');
    writeFileSync(
      first,
      stringify({
        clusters: [
          { name: 'shared', cluster: { server: 'https://a.example', 'certificate-authority': 'ca.pem' } },
        ],
        users: [{ name: 'u', user: { token: 'from-a' } }],
      }),
    );
    const second = path.join(b, 'config');
    writeFileSync(
      second,
      stringify({
        'current-context': 'in-b',
        contexts: [{ name: 'in-b', context: { cluster: 'shared', user: 'u' } }],
        clusters: [
          {
            name: 'shared',
            cluster: {
              server: 'https://b.example',
              'certificate-authority': 'ca.pem',
              'tls-server-name': 'b',
            },
          },
        ],
        users: [{ name: 'u', user: { token: 'from-b' } }],
      }),
    );
    const third = write(
      'third.yaml',
      stringify({
        'current-context': 'in-c',
        contexts: [{ name: 'in-c', context: { cluster: 'shared', user: 'u' } }],
      }),
    );
    const list = (...files: string[]) => files.join(path.delimiter);

    it('reads every file, skipping missing ones; the first to name an entry or set current-context wins', async () => {
      const access = defaultKubeAccess({ KUBECONFIG: list(path.join(dir, 'missing'), first, second, third) });
      // current-context from the second file (the first sets none), not the third.
      // Cluster and user from the first file, whole: b's tls-server-name is discarded too, and the CA path
      // resolves against the first file's directory.
      expect(access.server).toBe('https://a.example');
      expect(access.tls).toEqual({ ca: 'CA-OF-A' });
      expect(await access.authorization()).toBe('Bearer from-a');
      expect(access.source).toContain(second);
    });

    it('a later file never overrides an earlier one', async () => {
      const access = defaultKubeAccess({ KUBECONFIG: list(third, second, first) });
      expect(access.server).toBe('https://b.example');
      expect(access.tls).toEqual({ ca: 'CA-OF-B', servername: 'b' });
      expect(await access.authorization()).toBe('Bearer from-b');
    });

    it('takes another context than the current one, as kubectl --context', () => {
      const access = defaultKubeAccess({ KUBECONFIG: list(first, second, third) }, 'in-c');
      expect(access.server).toBe('https://a.example');
      expect(() => defaultKubeAccess({ KUBECONFIG: list(first, second) }, 'nope')).toThrow(
        /has no context "nope"/,
      );
    });

    it('an empty $KUBECONFIG means ~/.kube/config', () => {
      const home = mkdtempSync(path.join(dir, 'home-'));
      mkdirSync(path.join(home, '.kube'));
      writeFileSync(
        path.join(home, '.kube', 'config'),
        stringify({
          'current-context': 'home',
          contexts: [{ name: 'home', context: { cluster: 'h', user: 'h' } }],
          clusters: [{ name: 'h', cluster: { server: 'https://home.example' } }],
          users: [{ name: 'h', user: { token: 'from-home' } }],
        }),
      );
      const access = defaultKubeAccess({ KUBECONFIG: '', HOME: home });
      expect(access.source).toBe(`kubeconfig ${path.join(home, '.kube', 'config')}`);
      expect(access.server).toBe('https://home.example');
    });

    it('refuses a file it cannot parse, and a list of which none exists outside a pod', () => {
      const broken = write('broken.yaml', 'clusters: [');
      expect(() => defaultKubeAccess({ KUBECONFIG: list(first, broken) })).toThrow(
        /broken\.yaml: cannot be read/,
      );
      const none = list(path.join(dir, 'nope-1'), path.join(dir, 'nope-2'));
      expect(() => defaultKubeAccess({ KUBECONFIG: none })).toThrow(/nope-2: no such file/);
    });
  });
});
