/**
 * The webhook's own TLS: a CA (10 years) and a serving certificate (1 year) for the Service's DNS
 * names, kept in a Secret. Pure: given what the Secret holds and `now`, say what it should hold. A
 * serving certificate is reissued 30 days before it expires (or when its names change); the CA 1 year
 * before, together with a new serving certificate. The caBundle carries the old CA too while it is
 * still valid, so replicas with the previous certificate keep working during a rotation.
 */
import crypto, { X509Certificate } from 'node:crypto';
import {
  certificateAuthority,
  createCertificateAuthority,
  issueLeaf,
  privateKeyPem,
  splitPemCertificates,
  toPem,
} from '../../core/x509/index.ts';

export interface WebhookTls {
  caCertPem: string;
  caKeyPem: string;
  certPem: string;
  keyPem: string;
  /** What the MutatingWebhookConfiguration's caBundle should trust (PEM, one or two CAs). */
  caBundlePem: string;
}

const DAY = 86_400_000;
const CA_LIFETIME = 3650 * DAY;
const SERVING_LIFETIME = 365 * DAY;
const SERVING_RENEW_BEFORE = 30 * DAY;
const CA_RENEW_BEFORE = 365 * DAY;

function newCa(now: Date): { certPem: string; keyPem: string } {
  const ca = createCertificateAuthority({
    subject: [
      { type: 'O', value: 'SecureKey' },
      { type: 'CN', value: `securekey-webhook-ca-${now.toISOString().slice(0, 10)}` },
    ],
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + CA_LIFETIME),
  });
  return { certPem: ca.certPem, keyPem: privateKeyPem(ca.key) };
}

function newServing(
  ca: { certPem: string; keyPem: string },
  dns: readonly string[],
  now: Date,
): { certPem: string; keyPem: string } {
  const isIp = (name: string): boolean => /^[\d.]+$/.test(name);
  const leaf = issueLeaf(
    certificateAuthority(new X509Certificate(ca.certPem), crypto.createPrivateKey(ca.keyPem)),
    {
      subject: [{ type: 'CN', value: dns[0] ?? 'securekey-webhook' }],
      notBefore: new Date(now.getTime() - 60_000),
      notAfter: new Date(now.getTime() + SERVING_LIFETIME),
      extKeyUsage: ['serverAuth'],
      subjectAltNames: { dns: dns.filter((d) => !isIp(d)), ip: dns.filter(isIp) },
    },
  );
  return { certPem: leaf.certPem, keyPem: privateKeyPem(leaf.key) };
}

function validUntil(pem: string): number {
  return new Date(new X509Certificate(pem).validTo).getTime();
}

function names(pem: string): string[] {
  const alt = new X509Certificate(pem).subjectAltName ?? '';
  return alt
    .split(',')
    .map((s) => s.trim().replace(/^(DNS|IP Address):/, ''))
    .filter((s) => s !== '')
    .sort();
}

/**
 * What the Secret should hold at `now` for a webhook served under `dns`; `changed` says whether to write
 * it (and patch caBundle). `current` is what the Secret holds, or undefined.
 */
export function planWebhookTls(
  current: WebhookTls | undefined,
  dns: readonly string[],
  now: Date,
): { tls: WebhookTls; changed: boolean; reason: string } {
  const t = now.getTime();
  let ca = current && { certPem: current.caCertPem, keyPem: current.caKeyPem };
  let previousCa: string | undefined;
  let reason = 'up to date';
  if (!ca) {
    ca = newCa(now);
    reason = 'created';
  } else if (validUntil(ca.certPem) - t < CA_RENEW_BEFORE) {
    previousCa = ca.certPem;
    ca = newCa(now);
    reason = 'CA rotated';
  }
  let serving =
    current && reason === 'up to date' ? { certPem: current.certPem, keyPem: current.keyPem } : undefined;
  if (serving && validUntil(serving.certPem) - t < SERVING_RENEW_BEFORE) {
    serving = undefined;
    reason = 'serving certificate renewed';
  }
  if (serving && names(serving.certPem).join() !== [...dns].sort().join()) {
    serving = undefined;
    reason = 'serving certificate names changed';
  }
  const changed = serving === undefined;
  serving ??= newServing(ca, dns, now);
  const bundle = [ca.certPem];
  // Older CAs stay trusted while they are valid: replicas may still serve certificates they issued.
  const older = [
    ...(previousCa ? [previousCa] : []),
    ...(current ? splitPemCertificates(current.caBundlePem).map((der) => toPem(der)) : []),
  ];
  for (const pem of older) {
    if (
      pem.trim() !== ca.certPem.trim() &&
      validUntil(pem) > t &&
      !bundle.some((b) => b.trim() === pem.trim())
    ) {
      bundle.push(pem);
    }
  }
  return {
    tls: {
      caCertPem: ca.certPem,
      caKeyPem: ca.keyPem,
      certPem: serving.certPem,
      keyPem: serving.keyPem,
      caBundlePem: bundle.join(''),
    },
    changed,
    reason,
  };
}
