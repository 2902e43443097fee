/**
 * Keeps the webhook's TLS in a Secret and the MutatingWebhookConfiguration's caBundle in step with it
 * (the self-managed mode; with cert-manager, `watchCertificateFiles` reloads what it mounts instead).
 *
 * Every replica loads the Secret (creating it if it is missing: 409 means another replica won — read
 * theirs) and reloads it when it changes. Only the leader rotates it and patches caBundle, so there is
 * one writer.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { KubeApiError } from '../../edge/kube/errors.ts';
import type { KubeHttp } from '../../edge/kube/kube-http.ts';
import { planWebhookTls, type WebhookTls } from './certificates.ts';

export interface TlsSecretRef {
  namespace: string;
  name: string;
}

const FIELDS: Record<keyof WebhookTls, string> = {
  caCertPem: 'ca.crt',
  caKeyPem: 'ca.key',
  certPem: 'tls.crt',
  keyPem: 'tls.key',
  caBundlePem: 'ca-bundle.crt',
};

interface SecretJson {
  metadata?: { resourceVersion?: string };
  data?: Record<string, string>;
}

function secretPath(ref: TlsSecretRef, named = true): string {
  const base = `/api/v1/namespaces/${encodeURIComponent(ref.namespace)}/secrets`;
  return named ? `${base}/${encodeURIComponent(ref.name)}` : base;
}

function decode(secret: SecretJson): WebhookTls | undefined {
  const data = secret.data ?? {};
  const out: Partial<WebhookTls> = {};
  for (const [field, key] of Object.entries(FIELDS) as Array<[keyof WebhookTls, string]>) {
    const v = data[key];
    if (!v) return undefined;
    out[field] = Buffer.from(v, 'base64').toString('utf8');
  }
  return out as WebhookTls;
}

function encode(tls: WebhookTls): Record<string, string> {
  const data: Record<string, string> = {};
  for (const [field, key] of Object.entries(FIELDS) as Array<[keyof WebhookTls, string]>) {
    data[key] = Buffer.from(tls[field]).toString('base64');
  }
  return data;
}

export async function readTlsSecret(
  http: KubeHttp,
  ref: TlsSecretRef,
): Promise<{ tls?: WebhookTls; rv?: string }> {
  const res = await http.request<SecretJson>('GET', secretPath(ref));
  if (res.status === 404) return {};
  if (res.status !== 200) throw KubeApiError.fromResponse('GET', secretPath(ref), res.status, res.body);
  const tls = decode(res.body);
  return {
    ...(tls ? { tls } : {}),
    ...(res.body.metadata?.resourceVersion ? { rv: res.body.metadata.resourceVersion } : {}),
  };
}

/**
 * Makes the Secret hold valid TLS for `dns` at `now` (creating or rotating it) and returns it. With
 * `rotate: false` (non-leaders) an existing Secret is returned as it is.
 */
export async function ensureTlsSecret(
  http: KubeHttp,
  ref: TlsSecretRef,
  dns: readonly string[],
  options: { now?: Date; rotate?: boolean } = {},
): Promise<{ tls: WebhookTls; changed: boolean; reason: string }> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const current = await readTlsSecret(http, ref);
    if (current.tls && options.rotate === false) return { tls: current.tls, changed: false, reason: 'read' };
    const plan = planWebhookTls(current.tls, dns, options.now ?? new Date());
    if (!plan.changed && current.tls) return plan;
    const body = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: {
        name: ref.name,
        namespace: ref.namespace,
        labels: { 'app.kubernetes.io/managed-by': 'securekey-operator' },
        ...(current.rv ? { resourceVersion: current.rv } : {}),
      },
      data: encode(plan.tls),
    };
    const res =
      current.rv === undefined
        ? await http.request('POST', secretPath(ref, false), { body })
        : await http.request('PUT', secretPath(ref), { body });
    if (res.status === 200 || res.status === 201) return plan;
    if (res.status !== 409) throw KubeApiError.fromResponse('WRITE', secretPath(ref), res.status, res.body);
    // Another replica wrote first: read theirs and decide again.
  }
  throw new KubeApiError(
    'conflict',
    `webhook TLS Secret ${ref.namespace}/${ref.name}: kept losing write races`,
  );
}

/** Sets caBundle on every webhook of the configuration; no write when it already matches. */
export async function syncCaBundle(
  http: KubeHttp,
  configuration: string,
  caBundlePem: string,
): Promise<boolean> {
  const p = `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${encodeURIComponent(configuration)}`;
  const res = await http.request<{ webhooks?: Array<{ clientConfig?: { caBundle?: string } }> }>('GET', p);
  if (res.status === 404) return false; // not installed (yet): the chart creates it
  if (res.status !== 200) throw KubeApiError.fromResponse('GET', p, res.status, res.body);
  const bundle = Buffer.from(caBundlePem).toString('base64');
  const webhooks = res.body.webhooks ?? [];
  if (webhooks.every((w) => w.clientConfig?.caBundle === bundle)) return false;
  const ops = webhooks.map((_, i) => ({
    op: 'add',
    path: `/webhooks/${i}/clientConfig/caBundle`,
    value: bundle,
  }));
  await http.expect('PATCH', p, [200], { body: ops, contentType: 'application/json-patch+json' });
  return true;
}

/** cert-manager mode: reload tls.crt/tls.key from a mounted directory when they change (polled). */
export function watchCertificateFiles(
  dir: string,
  onChange: (certPem: string, keyPem: string) => void,
  intervalMs = 30_000,
): { initial: { certPem: string; keyPem: string }; stop(): void } {
  const read = () => ({
    certPem: readFileSync(path.join(dir, 'tls.crt'), 'utf8'),
    keyPem: readFileSync(path.join(dir, 'tls.key'), 'utf8'),
  });
  let last = read();
  const timer = setInterval(() => {
    try {
      const next = read();
      if (next.certPem !== last.certPem || next.keyPem !== last.keyPem) {
        last = next;
        onChange(next.certPem, next.keyPem);
      }
    } catch {
      // Mid-update (kubelet swaps the symlink): try again next time.
    }
  }, intervalMs);
  timer.unref();
  return { initial: last, stop: () => clearInterval(timer) };
}
