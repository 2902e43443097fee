/**
 * ATTESTATION_REPORT byte layout (SNP Firmware ABI 56860, Table 23; verified against go-sev-guest
 * `abi/abi.go` and virtee `snp.rs`). All integers are little-endian.
 */
export const REPORT_SIZE = 0x4a0;
/** The signature covers bytes 0x000–0x29F. */
export const SIGNED_LENGTH = 0x2a0;

export const OFFSET = {
  VERSION: 0x000,
  GUEST_SVN: 0x004,
  POLICY: 0x008,
  FAMILY_ID: 0x010,
  IMAGE_ID: 0x020,
  VMPL: 0x030,
  SIGNATURE_ALGO: 0x034,
  CURRENT_TCB: 0x038,
  PLATFORM_INFO: 0x040,
  SIGNER_INFO: 0x048,
  RESERVED_04C: 0x04c,
  REPORT_DATA: 0x050,
  MEASUREMENT: 0x090,
  HOST_DATA: 0x0c0,
  ID_KEY_DIGEST: 0x0e0,
  AUTHOR_KEY_DIGEST: 0x110,
  REPORT_ID: 0x140,
  REPORT_ID_MA: 0x160,
  REPORTED_TCB: 0x180,
  CPUID_FAM_ID: 0x188,
  CPUID_MOD_ID: 0x189,
  CPUID_STEP: 0x18a,
  RESERVED_18B: 0x18b,
  CHIP_ID: 0x1a0,
  COMMITTED_TCB: 0x1e0,
  CURRENT_BUILD: 0x1e8,
  CURRENT_MINOR: 0x1e9,
  CURRENT_MAJOR: 0x1ea,
  RESERVED_1EB: 0x1eb,
  COMMITTED_BUILD: 0x1ec,
  COMMITTED_MINOR: 0x1ed,
  COMMITTED_MAJOR: 0x1ee,
  RESERVED_1EF: 0x1ef,
  LAUNCH_TCB: 0x1f0,
  LAUNCH_MIT_VECTOR: 0x1f8,
  CURRENT_MIT_VECTOR: 0x200,
  RESERVED_208: 0x208,
  SIGNATURE: 0x2a0,
  SIGNATURE_R: 0x2a0,
  SIGNATURE_S: 0x2e8,
  SIGNATURE_RESERVED: 0x330,
} as const;

export const SIZE = {
  FAMILY_ID: 16,
  IMAGE_ID: 16,
  REPORT_DATA: 64,
  MEASUREMENT: 48,
  HOST_DATA: 32,
  ID_KEY_DIGEST: 48,
  AUTHOR_KEY_DIGEST: 48,
  REPORT_ID: 32,
  REPORT_ID_MA: 32,
  CHIP_ID: 64,
  /** r and s are each 72 bytes little-endian; a P-384 scalar fills the first 48. */
  SIGNATURE_COMPONENT: 72,
} as const;

/** SIGNATURE_ALGO 1: ECDSA P-384 with SHA-384, the only algorithm the ABI defines. */
export const SIGNATURE_ALGO_ECDSA_P384_SHA384 = 1;
