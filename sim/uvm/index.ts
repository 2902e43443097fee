export {
  referenceInfoFileContent,
  signUvmReferenceInfo,
  SIMULATED_UVM_MEASUREMENT,
  simulatedUvmIssuer,
  simulatedUvmSigningRoot,
  type ReferenceInfoOptions,
} from './reference-info.ts';
