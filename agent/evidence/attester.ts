/**
 * Where an SNP report comes from. Every backend — the configfs-tsm interface, `/dev/sev-guest`, the
 * simulated PSP, the simulated devices on a Unix socket — answers the same question: "a report whose
 * REPORT_DATA is this", plus whatever certificates it hands over with it.
 */

export interface Evidence {
  /** The 0x4A0-byte ATTESTATION_REPORT. */
  report: Buffer;
  /** VCEK, then ASK and ARK, PEM — when the source delivers a chain (the PSP, THIM-style). */
  vcekChainPem?: string;
  /** The GHCB certificate table (extended report, configfs-tsm `auxblob`) when the host attached one. */
  certTable?: Buffer;
  /** Where it came from, for logs and errors, e.g. `configfs-tsm /sys/kernel/config/tsm/report`. */
  source: string;
  /** The UVM reference info the source hands over with the report (the simulated PSP does, as a host would). */
  uvmReferenceInfo?: UvmReferenceInfo;
}

/**
 * The signed reference info of the guest's UVM image (a COSE_Sign1), sent to Azure Attestation as the
 * UVM endorsement: what it is believed to derive `x-ms-compliance-status` from (docs/adr/0045).
 */
export interface UvmReferenceInfo {
  cose: Buffer;
  /** The file or service it came from, for logs and errors. */
  source: string;
}

export interface Attester {
  /** The backend's name as configured (`tsm`, `psp`, …). */
  readonly name: string;
  /** One report with exactly this REPORT_DATA (64 bytes). */
  report(reportData: Buffer): Promise<Evidence>;
  /** Releases connections; optional. */
  close?(): Promise<void>;
}
