export {
  ALGORITHM_OIDS,
  encodeSignatureAlgorithm,
  HASH_OIDS,
  parseSignatureAlgorithm,
  signatureAlgorithm,
  signWith,
  type BuilderSignatureAlgorithm,
  type HashName,
  type SignatureAlgorithm,
} from './algorithms.ts';
export {
  certificateAuthority,
  createCertificateAuthority,
  generateKey,
  issueIntermediate,
  issueLeaf,
  privateKeyPem,
  randomSerial,
  type AuthorityOptions,
  type CertificateAuthority,
  type IssuedLeaf,
  type LeafOptions,
} from './authority.ts';
export { buildCertificate, type CertificateOptions, type CustomExtension } from './builder.ts';
export {
  certificateDer,
  certificateFields,
  getExtension,
  getExtensions,
  publicKeyOf,
  type CertificateFields,
  type CertificateInput,
  type Extension,
} from './certificate.ts';
export { X509Error, type X509ErrorKind } from './errors.ts';
export { ipAddressBytes } from './ip-address.ts';
export {
  attributeValues,
  encodeName,
  issuerAttributes,
  NAME_ATTRIBUTE_OIDS,
  parseName,
  subjectAttributes,
  subjectNameDer,
  type NameAttribute,
  type NameAttributeInput,
  type NameAttributeType,
} from './names.ts';
export {
  certificatesFromBytes,
  certificatesOnlyProblem,
  parsePemBlocks,
  parsePemCertificates,
  splitPemCertificates,
  toPem,
  type PemBlock,
} from './pem.ts';
export {
  decodeBasicConstraints,
  decodeExtKeyUsage,
  decodeKeyUsage,
  decodeSubjectAltDnsNames,
  encodeAuthorityKeyIdentifier,
  encodeBasicConstraints,
  encodeCrlDistributionPoints,
  encodeExtKeyUsage,
  encodeKeyUsage,
  encodeSubjectAltNames,
  encodeSubjectKeyIdentifier,
  EXTENDED_KEY_USAGE_OIDS,
  EXTENSION_OIDS,
  KEY_USAGE_BITS,
  keyIdentifier,
  type BasicConstraints,
  type ExtendedKeyUsage,
  type KeyUsage,
  type SubjectAltNames,
} from './standard-extensions.ts';
