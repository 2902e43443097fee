/**
 * A throwaway certificate authority for the simulators: every simulated service serves HTTPS with a
 * certificate from it, and clients trust exactly this CA (never "skip verification").
 */
import crypto, { type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  certificateAuthority,
  createCertificateAuthority,
  generateKey,
  issueLeaf,
  parsePemCertificates,
  privateKeyPem,
  type CertificateAuthority,
} from '../../core/x509/index.ts';
import { writeFileAtomicSync } from '../../edge/files/atomic-file.ts';

export interface IssuedCertificate {
  /** PKCS#8 PEM of the private key. */
  keyPem: string;
  /** Leaf certificate, PEM. */
  certPem: string;
  /** Leaf then CA, PEM: what a TLS server presents. */
  chainPem: string;
  key: KeyObject;
  /** Leaf DER; `chainDer` is leaf then CA, for JWS `x5c` headers. */
  certDer: Buffer;
  chainDer: Buffer[];
}

export interface IssueOptions {
  commonName: string;
  dns?: string[];
  ip?: string[];
  /** `server` for TLS, `signing` for JWS/JWT signing certificates. Default `server`. */
  usage?: 'server' | 'signing';
  /** RSA keys sign RS256 JWS/JWT; EC P-256 otherwise. Default EC for server, RSA for signing. */
  keyType?: 'rsa' | 'ec';
  days?: number;
}

export interface SimulatorCa {
  name: string;
  certPem: string;
  certDer: Buffer;
  issue(options: IssueOptions): IssuedCertificate;
}

const ORGANIZATION = { type: 'O', value: 'SecureKey simulators (not for production)' };

function days(n: number): Date {
  return new Date(Date.now() + n * 86_400_000);
}

/** A new CA named `name` (subject CN); every issued certificate is marked as a simulator's. */
export function createSimulatorCa(name = 'SecureKey Simulator CA'): SimulatorCa {
  const ca = createCertificateAuthority({
    subject: [ORGANIZATION, { type: 'CN', value: name }],
    notBefore: days(-1),
    notAfter: days(3650),
  });
  return simulatorCa(name, ca);
}

/**
 * A CA made elsewhere (the Helm chart's `genCAWithKey`, so every pod of a release knows it at install):
 * its certificate and EC or RSA private key, PEM.
 */
export function loadSimulatorCa(certPem: string, keyPem: string): SimulatorCa {
  const [cert] = parsePemCertificates(certPem);
  if (!cert) throw new Error('the simulators CA file holds no certificate');
  const caKey = crypto.createPrivateKey(keyPem);
  let ca: CertificateAuthority;
  try {
    ca = certificateAuthority(cert, caKey);
  } catch (err) {
    throw new Error('the simulators CA key does not belong to its certificate', { cause: err });
  }
  const cn = /CN=([^\n]+)/.exec(cert.subject)?.[1] ?? 'SecureKey simulators CA';
  return simulatorCa(cn, ca);
}

function simulatorCa(name: string, ca: CertificateAuthority): SimulatorCa {
  return {
    name,
    certPem: ca.certPem,
    certDer: ca.certDer,
    issue(o) {
      const keyType = o.keyType ?? (o.usage === 'signing' ? 'rsa' : 'ec');
      const leaf = issueLeaf(ca, {
        subject: [ORGANIZATION, { type: 'CN', value: o.commonName }],
        notBefore: days(-1),
        notAfter: days(o.days ?? 825),
        key: generateKey(keyType),
        // A signing certificate that names a host is that host's TLS certificate, as the vault's is
        // (the agent requires serverAuth of the release signer); token signers name no host.
        ...(o.usage === 'signing' && !o.dns?.length ? {} : { extKeyUsage: ['serverAuth'] }),
        ...(o.dns?.length || o.ip?.length ? { subjectAltNames: { dns: o.dns ?? [], ip: o.ip ?? [] } } : {}),
      });
      return {
        keyPem: privateKeyPem(leaf.key),
        certPem: leaf.certPem,
        chainPem: leaf.certPem + ca.certPem,
        key: leaf.key,
        certDer: leaf.certDer,
        chainDer: [leaf.certDer, ca.certDer],
      };
    },
  };
}

/**
 * The same CA, but its signing keys (Entra's token key, Attestation's, the vault's release key) survive a
 * restart: kept in `dir` (the in-cluster simulators' state volume, which outlives a container restart),
 * so tokens and keys a client cached stay verifiable. The n-th signing issue for a name gets the n-th
 * stored key. TLS certificates are issued afresh as before.
 */
export function withPersistentSigningKeys(ca: SimulatorCa, dir: string): SimulatorCa {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const counts = new Map<string, number>();
  return {
    name: ca.name,
    certPem: ca.certPem,
    certDer: ca.certDer,
    issue(o) {
      if (o.usage !== 'signing') return ca.issue(o);
      const n = (counts.get(o.commonName) ?? 0) + 1;
      counts.set(o.commonName, n);
      const id = crypto.createHash('sha256').update(`${o.commonName}#${n}`).digest('hex').slice(0, 32);
      const file = path.join(dir, `signing-${id}.json`);
      if (existsSync(file)) {
        const saved = JSON.parse(readFileSync(file, 'utf8')) as { keyPem: string; certPem: string };
        const certDer = Buffer.from(new crypto.X509Certificate(saved.certPem).raw);
        return {
          keyPem: saved.keyPem,
          certPem: saved.certPem,
          chainPem: saved.certPem + ca.certPem,
          key: crypto.createPrivateKey(saved.keyPem),
          certDer,
          chainDer: [certDer, ca.certDer],
        };
      }
      const issued = ca.issue(o);
      writeFileAtomicSync(file, JSON.stringify({ keyPem: issued.keyPem, certPem: issued.certPem }), {
        mode: 0o600,
      });
      return issued;
    },
  };
}
