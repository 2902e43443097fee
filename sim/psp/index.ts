/**
 * Mock PSP for clusters (SecureKey simulator, docs/design.md, "Simulated mode"): signs SEV-SNP reports for
 * pods, with HOST_DATA pinned from the requesting pod's own policy annotation.
 */
export { PSP_REPORT_PATH, pspApp, type PspAppOptions } from './app.ts';
export { PSP_ERROR_CODE, PSP_ERROR_STATUS, PspError, type PspErrorKind } from './errors.ts';
export {
  KubernetesPodIdentityResolver,
  POD_NAME_EXTRA,
  POD_UID_EXTRA,
  type KubernetesPodIdentityOptions,
} from './kubernetes-pod-identity.ts';
export type { PodIdentity, PodIdentityResolver } from './pod-identity.ts';
export { PspService, type PspReport, type PspServiceOptions } from './psp-service.ts';
export { parseReportRequest, type ReportRequestBody } from './report-request.ts';
export { startPsp, type RunningPsp, type StartPspOptions } from './start.ts';
export { StaticPodIdentityResolver, type StaticPod } from './static-pod-identity.ts';
