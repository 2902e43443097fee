/**
 * The measured boot of a Linux confidential VM with UEFI secure boot, as the simulated vTPM's
 * "firmware" performs it at provisioning: the events firmware, shim and GRUB log on such a VM (the
 * order of the GCE and Hyper-V logs: S-CRTM version and firmware volume on PCR 0, the secure boot
 * variables on PCR 7, boot variables on PCR 1, the separators, then the boot applications on PCR 4,
 * the authority that verified them on PCR 7, GRUB's command line and files on PCR 8/9, ExitBootServices
 * on PCR 5). The images are stand-ins: their digests are of fixed text, not of real binaries.
 *
 * Each event's sha256 digest is extended into the TPM (TPM2_PCR_Extend) and the log is kept, so
 * the log replays to the PCRs, as on a real machine.
 */
import {
  EFI_GLOBAL_VARIABLE,
  EFI_IMAGE_SECURITY_DATABASE,
  encodeTcgLog,
  eventDigest,
  EV,
  uefiVariableData,
  type EventToLog,
} from '../../core/tcg-log/index.ts';

export interface FirmwareOptions {
  /** The SecureBoot variable firmware measures (default: the VM configuration's `secure-boot`). */
  readonly secureBoot: boolean;
  /**
   * A log that does not match what was measured, for tests: `secure-boot-flipped` logs the opposite
   * SecureBoot value with its own digest (the log then replays to other PCRs than the TPM's);
   * `data-altered` logs the opposite value under the measured digest (the event no longer hashes to
   * its digest, though the log replays).
   */
  readonly tamper?: 'secure-boot-flipped' | 'data-altered';
}

/** The banks the simulated log carries: sha256 only, the bank Azure Attestation quotes. */
export const FIRMWARE_LOG_BANKS = ['sha256'] as const;

const text16 = (s: string) => Buffer.from(`${s}\0`, 'utf16le');
const ascii0 = (s: string) => Buffer.from(`${s}\0`, 'latin1');

function variable(pcr: number, type: number, guid: string, name: string, data: Uint8Array): EventToLog {
  return { pcr, type, data: uefiVariableData({ guid, name, data }) };
}

/** UEFI_IMAGE_LOAD_EVENT (location, length, link-time address, empty device path); the digest is the image's. */
function application(name: string): EventToLog {
  const image = Buffer.from(`securekey simulated ${name}`);
  const data = Buffer.alloc(32);
  data.writeBigUInt64LE(0x7e000000n, 0);
  data.writeBigUInt64LE(BigInt(image.length), 8);
  return { pcr: 4, type: EV.EFI_BOOT_SERVICES_APPLICATION, data, measured: image };
}

/** The events, in boot order, for a VM whose SecureBoot variable is `secureBoot`. */
export function linuxCvmBootEvents(secureBoot: boolean): EventToLog[] {
  const db = Buffer.from('securekey simulated db: Microsoft UEFI CA 2011');
  const blob = Buffer.alloc(16);
  blob.writeBigUInt64LE(0xffc00000n, 0);
  blob.writeBigUInt64LE(0x400000n, 8);
  const events: EventToLog[] = [
    { pcr: 0, type: EV.S_CRTM_VERSION, data: text16('SecureKey simulated UEFI 1.0') },
    {
      pcr: 0,
      type: EV.EFI_PLATFORM_FIRMWARE_BLOB,
      data: blob,
      measured: Buffer.from('securekey simulated firmware volume'),
    },
    variable(
      7,
      EV.EFI_VARIABLE_DRIVER_CONFIG,
      EFI_GLOBAL_VARIABLE,
      'SecureBoot',
      Buffer.from([secureBoot ? 1 : 0]),
    ),
    variable(
      7,
      EV.EFI_VARIABLE_DRIVER_CONFIG,
      EFI_GLOBAL_VARIABLE,
      'PK',
      Buffer.from('securekey simulated PK'),
    ),
    variable(
      7,
      EV.EFI_VARIABLE_DRIVER_CONFIG,
      EFI_GLOBAL_VARIABLE,
      'KEK',
      Buffer.from('securekey simulated KEK'),
    ),
    variable(7, EV.EFI_VARIABLE_DRIVER_CONFIG, EFI_IMAGE_SECURITY_DATABASE, 'db', db),
    variable(
      7,
      EV.EFI_VARIABLE_DRIVER_CONFIG,
      EFI_IMAGE_SECURITY_DATABASE,
      'dbx',
      Buffer.from('securekey simulated dbx'),
    ),
    { pcr: 7, type: EV.SEPARATOR, data: Buffer.alloc(4) },
    variable(1, EV.EFI_VARIABLE_BOOT, EFI_GLOBAL_VARIABLE, 'BootOrder', Buffer.from([0, 0])),
    variable(1, EV.EFI_VARIABLE_BOOT, EFI_GLOBAL_VARIABLE, 'Boot0000', text16('ubuntu')),
    { pcr: 4, type: EV.EFI_ACTION, data: Buffer.from('Calling EFI Application from Boot Option') },
    ...[0, 1, 2, 3, 4, 5, 6].map((pcr) => ({ pcr, type: EV.SEPARATOR, data: Buffer.alloc(4) })),
    application('shimx64.efi'),
    // With secure boot on, firmware logs the db entry that verified shim.
    ...(secureBoot ? [variable(7, EV.EFI_VARIABLE_AUTHORITY, EFI_IMAGE_SECURITY_DATABASE, 'db', db)] : []),
    application('grubx64.efi'),
    { pcr: 8, type: EV.IPL, data: ascii0('kernel_cmdline: /vmlinuz root=/dev/sda1 ro console=ttyS0') },
    { pcr: 9, type: EV.IPL, data: ascii0('/boot/vmlinuz') },
    { pcr: 9, type: EV.IPL, data: ascii0('/boot/initrd.img') },
    application('vmlinuz'),
    { pcr: 5, type: EV.EFI_ACTION, data: Buffer.from('Exit Boot Services Invocation') },
    { pcr: 5, type: EV.EFI_ACTION, data: Buffer.from('Exit Boot Services Returned with Success') },
  ];
  return events;
}

/** Where linuxCvmBootEvents puts the SecureBoot variable. */
const SECURE_BOOT_EVENT = 2;

/** What to extend (PCR, sha256 digest) and the log to publish, possibly tampered. */
export function firmwareMeasurements(o: FirmwareOptions): {
  extends: Array<{ pcr: number; digest: Buffer }>;
  log: Buffer;
} {
  const measured = linuxCvmBootEvents(o.secureBoot);
  const extendsList = measured
    .filter((e) => e.type !== EV.NO_ACTION)
    .map((e) => ({ pcr: e.pcr, digest: eventDigest(e, 'sha256') }));
  let logged = measured;
  if (o.tamper !== undefined) {
    const flipped = linuxCvmBootEvents(!o.secureBoot)[SECURE_BOOT_EVENT]!;
    logged = measured.map((e, i) =>
      i !== SECURE_BOOT_EVENT
        ? e
        : o.tamper === 'secure-boot-flipped'
          ? flipped
          : { ...flipped, digests: { sha256: eventDigest(e, 'sha256') } },
    );
  }
  return { extends: extendsList, log: encodeTcgLog(FIRMWARE_LOG_BANKS, logged) };
}
