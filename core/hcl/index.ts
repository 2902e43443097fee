/** Azure's HCL report (the vTPM-held paravisor report of a confidential VM): parse, check, build. */
export { HclReportError, type HclReportErrorKind } from './errors.ts';
export * from './hcl-report.ts';
