import https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';

export function kubeConfigFrom(file: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  return kc;
}

/** A raw API request with the kubeconfig's credentials, for what the typed client does not expose. */
export async function rawRequest(
  kc: KubeConfig,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: unknown }> {
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  if (!cluster || !user) throw new Error('kubeconfig has no current cluster or user');
  const b64 = (v: string | undefined) => (v ? Buffer.from(v, 'base64').toString() : undefined);
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      new URL(path, cluster.server),
      {
        method,
        ca: b64(cluster.caData),
        cert: b64(user.certData),
        key: b64(user.keyData),
        headers: { 'content-type': 'application/json', accept: 'application/json', ...options.headers },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as unknown) : undefined }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
