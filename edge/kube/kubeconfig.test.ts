import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
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
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(counter, 'utf8').trim().split('\n')).toHaveLength(1);
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

  it('prefers $KUBECONFIG (its first file) like kubectl', () => {
    const file = kubeconfig('env.yaml', { token: 'x' });
    expect(defaultKubeAccess({ KUBECONFIG: `${file}${path.delimiter}/elsewhere` }).source).toBe(
      `kubeconfig ${file}`,
    );
  });
});
