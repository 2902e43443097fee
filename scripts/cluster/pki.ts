/**
 * Certificates for a local control plane: a cluster CA, the API server's serving certificate, client
 * certificates (admin in system:masters) and the service-account signing key.
 */
import crypto from 'node:crypto';
import {
  createCertificateAuthority,
  issueLeaf,
  privateKeyPem,
  type NameAttributeInput,
} from '../../core/x509/index.ts';

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

/** `extraIps`: more addresses for the API server's certificate (the node IP, when pods reach it there). */
export function createClusterPki(extraIps: string[] = []): ClusterPki {
  const ca = createCertificateAuthority({
    subject: [{ type: 'CN', value: 'securekey-test-cluster-ca' }],
    notBefore: inDays(-1),
    notAfter: inDays(365),
  });

  const issue: ClusterPki['issue'] = (subject, usage, sans) => {
    const name: NameAttributeInput[] = [
      ...(subject.orgs ?? []).map((o) => ({ type: 'O', value: o })),
      { type: 'CN', value: subject.cn },
    ];
    const leaf = issueLeaf(ca, {
      subject: name,
      notBefore: inDays(-1),
      notAfter: inDays(365),
      keyUsage: ['digitalSignature', 'keyEncipherment'],
      extKeyUsage: [usage === 'server' ? 'serverAuth' : 'clientAuth'],
      ...(sans ? { subjectAltNames: sans } : {}),
    });
    return { keyPem: privateKeyPem(leaf.key), certPem: leaf.certPem };
  };

  const sa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    ca: { keyPem: privateKeyPem(ca.key), certPem: ca.certPem },
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
      privatePem: privateKeyPem(sa.privateKey),
      publicPem: sa.publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    },
    issue,
  };
}
