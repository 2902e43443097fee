/** TPM 2.0 constants (TCG TPM 2.0 Library, Part 2: Structures), only those SecureKey uses. */

export const TPM_ST = {
  NO_SESSIONS: 0x8001,
  SESSIONS: 0x8002,
  ATTEST_CERTIFY: 0x8017,
  ATTEST_QUOTE: 0x8018,
  CREATION: 0x8021,
} as const;

export const TPM_CC = {
  EvictControl: 0x120,
  NV_UndefineSpace: 0x122,
  NV_DefineSpace: 0x12a,
  CreatePrimary: 0x131,
  NV_Write: 0x137,
  Startup: 0x144,
  Certify: 0x148,
  NV_Read: 0x14e,
  Quote: 0x158,
  RSA_Decrypt: 0x159,
  FlushContext: 0x165,
  NV_ReadPublic: 0x169,
  ReadPublic: 0x173,
  StartAuthSession: 0x176,
  GetCapability: 0x17a,
  GetRandom: 0x17b,
  PCR_Read: 0x17e,
  PolicyPCR: 0x17f,
  PCR_Extend: 0x182,
} as const;

/** Permanent handles. */
export const TPM_RH = {
  OWNER: 0x40000001,
  NULL: 0x40000007,
  /** TPM_RS_PW: the password authorisation session. */
  PW: 0x40000009,
  ENDORSEMENT: 0x4000000b,
  PLATFORM: 0x4000000c,
} as const;

export const TPM_ALG = {
  RSA: 0x0001,
  SHA1: 0x0004,
  AES: 0x0006,
  SHA256: 0x000b,
  SHA384: 0x000c,
  SHA512: 0x000d,
  NULL: 0x0010,
  RSASSA: 0x0014,
  RSAES: 0x0015,
  RSAPSS: 0x0016,
  OAEP: 0x0017,
  ECDSA: 0x0018,
  ECC: 0x0023,
  CFB: 0x0043,
} as const;

export type TpmHash = 'sha1' | 'sha256' | 'sha384' | 'sha512';

export const HASH_ALG: Readonly<Record<TpmHash, number>> = {
  sha1: TPM_ALG.SHA1,
  sha256: TPM_ALG.SHA256,
  sha384: TPM_ALG.SHA384,
  sha512: TPM_ALG.SHA512,
};

export const HASH_SIZE: Readonly<Record<TpmHash, number>> = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 };

/** The hash named by a TPM_ALG_ID, or undefined. */
export function hashName(alg: number): TpmHash | undefined {
  return (Object.keys(HASH_ALG) as TpmHash[]).find((h) => HASH_ALG[h] === alg);
}

export const TPM_CAP = { HANDLES: 0x00000001, TPM_PROPERTIES: 0x00000006 } as const;

export const TPM_PT = {
  /** TPM_PT_FIXED + 44: the most bytes one TPM2_NV_Read or TPM2_NV_Write moves. */
  NV_BUFFER_MAX: 0x100 + 44,
  PCR_COUNT: 0x100 + 18,
} as const;

/** TPM_HT: the top byte of a handle. */
export const TPM_HT = {
  NV_INDEX: 0x01,
  HMAC_SESSION: 0x02,
  POLICY_SESSION: 0x03,
  TRANSIENT: 0x80,
  PERSISTENT: 0x81,
} as const;

export const TPMA_OBJECT = {
  fixedTPM: 1 << 1,
  stClear: 1 << 2,
  fixedParent: 1 << 4,
  sensitiveDataOrigin: 1 << 5,
  userWithAuth: 1 << 6,
  adminWithPolicy: 1 << 7,
  noDA: 1 << 10,
  restricted: 1 << 16,
  decrypt: 1 << 17,
  sign: 1 << 18,
} as const;

export const TPMA_NV = {
  PPWRITE: 1 << 0,
  OWNERWRITE: 1 << 1,
  AUTHWRITE: 1 << 2,
  POLICYWRITE: 1 << 3,
  WRITEDEFINE: 1 << 13,
  PPREAD: 1 << 16,
  OWNERREAD: 1 << 17,
  AUTHREAD: 1 << 18,
  NO_DA: 1 << 25,
  WRITTEN: 1 << 29,
  PLATFORMCREATE: 1 << 30,
} as const;

export const TPM_SE = { HMAC: 0x00, POLICY: 0x01, TRIAL: 0x03 } as const;

/** TPM_GENERATED_VALUE: the first four bytes of every TPMS_ATTEST the TPM signs. */
export const TPM_GENERATED_VALUE = 0xff544347;

/** The largest TPM response SecureKey accepts: TPM2_PT_MAX_RESPONSE_SIZE is 4096 on every TPM we know. */
export const MAX_RESPONSE_SIZE = 4096;
export const MAX_COMMAND_SIZE = 4096;

/** Limits of the TPM2B buffers (TPM_PT values of a reference TPM; generous so a bigger TPM still parses). */
export const LIMIT = {
  DIGEST: 64,
  /** TPM2B_DATA: a TPMT_HA (2 + 64). */
  DATA: 66,
  NAME: 2 + 64,
  RSA_KEY_BYTES: 512,
  NV_BUFFER: 2048,
  ATTEST: 2048,
  PUBLIC: 1024,
  AUTH: 64,
  NONCE: 64,
  CREATION_DATA: 2048,
} as const;
