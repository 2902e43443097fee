/**
 * A throwaway certificate authority for the simulators: every simulated service serves HTTPS with a
 * certificate from it, and clients trust exactly this CA (never "skip verification").
 */
import crypto, { type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDer } from '../../core/asn1/index.ts';
import {
  buildCertificate,
  certificateFields,
  EXTENSION_OIDS,
  getExtension,
  parsePemCertificates,
  toPem,
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

let serial = BigInt(Date.now()) << 16n;
const nextSerial = (): bigint => ++serial;

function days(n: number): Date {
  return new Date(Date.now() + n * 86_400_000);
}

/** A new CA named `name` (subject CN); every issued certificate is marked as a simulator's. */
export function createSimulatorCa(name = 'SecureKey Simulator CA'): SimulatorCa {
  const { privateKey: caKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const subject = [
    { type: 'O', value: 'SecureKey simulators (not for production)' },
    { type: 'CN', value: name },
  ];
  const certDer = buildCertificate({
    serial: nextSerial(),
    subject,
    issuer: subject,
    notBefore: days(-1),
    notAfter: days(3650),
    publicKey: caKey,
    signingKey: caKey,
    signatureAlgorithm: 'ecdsa-sha256',
    basicConstraints: { ca: true },
    keyUsage: ['keyCertSign', 'cRLSign', 'digitalSignature'],
    subjectKeyIdentifier: true,
  });
  return simulatorCa(name, caKey, certDer);
}

/**
 * A CA made elsewhere (the Helm chart's `genCAWithKey`, so every pod of a release knows it at install):
 * its certificate and EC or RSA private key, PEM.
 */
export function loadSimulatorCa(certPem: string, keyPem: string): SimulatorCa {
  const [cert] = parsePemCertificates(certPem);
  if (!cert) throw new Error('the simulators CA file holds no certificate');
  const caKey = crypto.createPrivateKey(keyPem);
  // A key that is not the certificate's would only show later, as every client's TLS failure.
  const certKey = cert.publicKey.export({ format: 'der', type: 'spki' });
  if (!crypto.createPublicKey(caKey).export({ format: 'der', type: 'spki' }).equals(certKey)) {
    throw new Error('the simulators CA key does not belong to its certificate');
  }
  const cn = /CN=([^\n]+)/.exec(cert.subject)?.[1] ?? 'SecureKey simulators CA';
  return simulatorCa(cn, caKey, cert.raw);
}

function simulatorCa(name: string, caKey: KeyObject, certDer: Buffer): SimulatorCa {
  const certPem = toPem(certDer);
  const caSubject = certificateFields(certDer).subject.raw;
  const caSignature = caKey.asymmetricKeyType === 'rsa' ? 'sha256-rsa' : 'ecdsa-sha256';
  // The leaves' authority key id must be the CA's own subject key id, however it was derived (Go 1.25+
  // derives it from SHA-256, OpenSSL from SHA-1): verifiers match the two when building the chain.
  const ski = getExtension(certDer, EXTENSION_OIDS.subjectKeyIdentifier);
  const authorityKeyIdentifier: Uint8Array | true = ski ? parseDer(ski.value).value : true;
  return {
    name,
    certPem,
    certDer,
    issue(o) {
      const keyType = o.keyType ?? (o.usage === 'signing' ? 'rsa' : 'ec');
      const { privateKey } =
        keyType === 'rsa'
          ? crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
          : crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const leafDer = buildCertificate({
        serial: nextSerial(),
        subject: [
          { type: 'O', value: 'SecureKey simulators (not for production)' },
          { type: 'CN', value: o.commonName },
        ],
        issuer: caSubject,
        notBefore: days(-1),
        notAfter: days(o.days ?? 825),
        publicKey: privateKey,
        signingKey: caKey,
        signatureAlgorithm: caSignature,
        basicConstraints: { ca: false },
        keyUsage: keyType === 'rsa' ? ['digitalSignature', 'keyEncipherment'] : ['digitalSignature'],
        ...(o.usage === 'signing' ? {} : { extKeyUsage: ['serverAuth'] }),
        ...(o.dns?.length || o.ip?.length ? { subjectAltNames: { dns: o.dns ?? [], ip: o.ip ?? [] } } : {}),
        subjectKeyIdentifier: true,
        authorityKeyIdentifier,
      });
      const certPem = toPem(leafDer);
      return {
        keyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
        certPem,
        chainPem: certPem + this.certPem,
        key: privateKey,
        certDer: leafDer,
        chainDer: [leafDer, certDer],
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
