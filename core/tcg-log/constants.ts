/**
 * Numbers of the TCG PC Client Platform Firmware Profile (event types, §10.4.1) and the TPM 2.0
 * algorithm registry (TPM_ALG_ID) that an event log uses.
 */

export const EV = {
  PREBOOT_CERT: 0x0,
  POST_CODE: 0x1,
  NO_ACTION: 0x3,
  SEPARATOR: 0x4,
  ACTION: 0x5,
  EVENT_TAG: 0x6,
  S_CRTM_CONTENTS: 0x7,
  S_CRTM_VERSION: 0x8,
  CPU_MICROCODE: 0x9,
  PLATFORM_CONFIG_FLAGS: 0xa,
  TABLE_OF_DEVICES: 0xb,
  COMPACT_HASH: 0xc,
  IPL: 0xd,
  IPL_PARTITION_DATA: 0xe,
  NONHOST_CODE: 0xf,
  NONHOST_CONFIG: 0x10,
  NONHOST_INFO: 0x11,
  OMIT_BOOT_DEVICE_EVENTS: 0x12,
  EFI_VARIABLE_DRIVER_CONFIG: 0x80000001,
  EFI_VARIABLE_BOOT: 0x80000002,
  EFI_BOOT_SERVICES_APPLICATION: 0x80000003,
  EFI_BOOT_SERVICES_DRIVER: 0x80000004,
  EFI_RUNTIME_SERVICES_DRIVER: 0x80000005,
  EFI_GPT_EVENT: 0x80000006,
  EFI_ACTION: 0x80000007,
  EFI_PLATFORM_FIRMWARE_BLOB: 0x80000008,
  EFI_HANDOFF_TABLES: 0x80000009,
  EFI_PLATFORM_FIRMWARE_BLOB2: 0x8000000a,
  EFI_HANDOFF_TABLES2: 0x8000000b,
  EFI_VARIABLE_BOOT2: 0x8000000c,
  EFI_HCRTM_EVENT: 0x80000010,
  EFI_VARIABLE_AUTHORITY: 0x800000e0,
} as const;

/** A PC Client TPM has PCRs 0–23. */
export const PCR_COUNT = 24;

/** The banks a log may carry, by TPM_ALG_ID, with their digest sizes and Node hash names. */
export const TCG_ALG = {
  sha1: { id: 0x0004, size: 20 },
  sha256: { id: 0x000b, size: 32 },
  sha384: { id: 0x000c, size: 48 },
  sha512: { id: 0x000d, size: 64 },
} as const;
export type TcgHash = keyof typeof TCG_ALG;

export function hashOfAlgId(id: number): TcgHash | undefined {
  return (Object.keys(TCG_ALG) as TcgHash[]).find((h) => TCG_ALG[h].id === id);
}

/** The signature of the crypto-agile log's first event (TCG_EfiSpecIDEvent), NUL included. */
export const SPEC_ID_EVENT03 = 'Spec ID Event03\0';
/** EV_NO_ACTION on PCR 0 that says from which locality the TPM was started (PFP §10.4.5.3). */
export const STARTUP_LOCALITY = 'StartupLocality\0';

/** EFI_GLOBAL_VARIABLE: SecureBoot, PK, KEK. */
export const EFI_GLOBAL_VARIABLE = '8be4df61-93ca-11d2-aa0d-00e098032b8c';
/** EFI_IMAGE_SECURITY_DATABASE_GUID: db, dbx. */
export const EFI_IMAGE_SECURITY_DATABASE = 'd719b2cb-3d3a-4596-a3bc-dad00e67656f';

/** Bounds of the parser: a real firmware log is tens of KiB with a few hundred events. */
export const TCG_LOG_LIMITS = {
  /** The whole log. */
  maxBytes: 1024 * 1024,
  maxEvents: 10_000,
  /** One event's data (a dbx variable is the largest seen, some tens of KiB). */
  maxEventBytes: 256 * 1024,
} as const;
export type TcgLogLimits = { readonly [K in keyof typeof TCG_LOG_LIMITS]: number };
