/** Getting the agent into pods: annotations, key requests, the mutation, and the patch that expresses it. */
export * from './agent-contract.ts';
export { agentModeFor } from './agent-mode.ts';
export * from './annotations.ts';
export { InjectError, type InjectErrorKind } from './errors.ts';
export { keyFileAccess, type KeyFileAccess } from './key-file-access.ts';
export { applyPatch, diff, type PatchOperation } from './json-patch.ts';
export {
  injectAgent,
  nodeArgs,
  type AgentSettings,
  type EnvVar,
  type InjectResult,
  type ResolvedKey,
} from './mutate.ts';
export { ALIAS, FILE, keyRequests, NAME, targetContainers, type KeyRequest } from './requests.ts';
export { agentArgs, agentSettings, type AgentSettingsInput } from './agent-settings.ts';
