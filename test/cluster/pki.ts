/**
 * Certificates for a local control plane: a cluster CA, the API server's serving certificate, client
 * certificates (admin in system:masters) and the service-account signing key.
 */
import crypto, { type KeyObject } from 'node:crypto';
import { buildCertificate, toPem, type NameAttributeInput } from '../../core/x509/index.ts';

export interface KeyAndCert {
  keyPem: string;
  certPem: string;
}

export interface ClusterPki {
  ca: KeyAndCert;
  apiserver: KeyAndCert;
  admin: KeyAndCert;
  /** RSA key pair that signs and verifies service-account tokens. */
  serviceAccount: { privatePem: string; publicPem: string };
  issue(
    subject: { cn: string; orgs?: string[] },
    usage: 'client' | 'server',
    sans?: { dns?: string[]; ip?: string[] },
  ): KeyAndCert;
}

const inDays = (n: number): Date => new Date(Date.now() + n * 86_400_000);
let serial = BigInt(Date.now()) << 8n;

function pem(key: KeyObject): string {
  return key.export({ format: 'pem', type: 'pkcs8' }).toString();
}

/** `extraIps`: more addresses for the API server's certificate (the node IP, when pods reach it there). */
export function createClusterPki(extraIps: string[] = []): ClusterPki {
  const caKey = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const caName: NameAttributeInput[] = [{ type: 'CN', value: 'securekey-test-cluster-ca' }];
  const caDer = buildCertificate({
    serial: ++serial,
    subject: caName,
    issuer: caName,
    notBefore: inDays(-1),
    notAfter: inDays(365),
    publicKey: caKey,
    signingKey: caKey,
    signatureAlgorithm: 'ecdsa-sha256',
    basicConstraints: { ca: true },
    keyUsage: ['keyCertSign', 'cRLSign', 'digitalSignature'],
    subjectKeyIdentifier: true,
  });

  const issue: ClusterPki['issue'] = (subject, usage, sans) => {
    const key = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const name: NameAttributeInput[] = [
      ...(subject.orgs ?? []).map((o) => ({ type: 'O', value: o })),
      { type: 'CN', value: subject.cn },
    ];
    const der = buildCertificate({
      serial: ++serial,
      subject: name,
      issuer: caName,
      notBefore: inDays(-1),
      notAfter: inDays(365),
      publicKey: key,
      signingKey: caKey,
      signatureAlgorithm: 'ecdsa-sha256',
      basicConstraints: { ca: false },
      keyUsage: ['digitalSignature', 'keyEncipherment'],
      extKeyUsage: [usage === 'server' ? 'serverAuth' : 'clientAuth'],
      ...(sans ? { subjectAltNames: sans } : {}),
      authorityKeyIdentifier: true,
    });
    return { keyPem: pem(key), certPem: toPem(der) };
  };

  const sa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    ca: { keyPem: pem(caKey), certPem: toPem(caDer) },
    apiserver: issue({ cn: 'kube-apiserver' }, 'server', {
      dns: [
        'localhost',
        'kubernetes',
        'kubernetes.default',
        'kubernetes.default.svc',
        'kubernetes.default.svc.cluster.local',
      ],
      ip: ['127.0.0.1', '10.96.0.1', ...extraIps],
    }),
    admin: issue({ cn: 'securekey-admin', orgs: ['system:masters'] }, 'client'),
    serviceAccount: {
      privatePem: pem(sa.privateKey),
      publicPem: sa.publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    },
    issue,
  };
}
