/**
 * Simulated Azure THIM (IMDS `/metadata/THIM/amd/certification`) and AMD KDS (`/vcek/v1/...`)
 * certificate endpoints (SecureKey simulator), backed by a sim/amd platform.
 */
export { MISSING_METADATA_HEADER, THIM_PATH, thimApp, type ThimAppOptions } from './app.ts';
export { startThim, type RunningThim, type StartThimOptions } from './start.ts';
export { ThimService, type KdsAnswer, type ThimAnswer, type ThimServiceOptions } from './thim-service.ts';
