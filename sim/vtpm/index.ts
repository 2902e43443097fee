/** Simulated Azure vTPM: swtpm provisioned as Azure's, behind a paravisor that regenerates the HCL report. */
export { SWTPM_PACKAGES, VtpmSimError, type VtpmSimErrorKind } from './errors.ts';
export {
  FIRMWARE_LOG_BANKS,
  firmwareMeasurements,
  linuxCvmBootEvents,
  type FirmwareOptions,
} from './firmware-log.ts';
export { runtimeClaims, type VmConfiguration } from './runtime-claims.ts';
export {
  EK_HANDLE,
  HCL_REPORT_NV_SIZE,
  launchSimulatedVtpm,
  type SimulatedVtpm,
  type SimulatedVtpmOptions,
} from './simulated-vtpm.ts';
export { simulatedVtpmCa } from './vtpm-ca.ts';
