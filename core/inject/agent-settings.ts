/**
 * How the injected agent is configured: everything it trusts is on its command line or in its
 * environment, so it is measured with the pod (the Kata policy is generated after injection) and never
 * fetched at run time. One `--key` per alias: `<alias>=<vault URL>/keys/<name>`, with its format, file and
 * attestation authority.
 */
import {
  AGENT_OPTIONS,
  flagArg,
  perKeyArg,
  WORKLOAD_IDENTITY_ENV,
  type AgentMode,
} from './agent-contract.ts';
import type { AgentSettings, EnvVar, ResolvedKey } from './mutate.ts';

export interface AgentSettingsInput {
  image: string;
  /** Workload identity of the agent (the release-only identity), by Entra tenant and client id. */
  tenantId?: string;
  clientId?: string;
  authorityHost?: string;
  /** Evidence backend the agent uses (e.g. sev-guest, tsm, psp). */
  evidence?: string;
  extraEnv?: EnvVar[];
  /** Node mode (confidential-VM nodes): the node agent's URL and the ConfigMap with its CA (`ca.crt`). */
  nodeAgentUrl?: string;
  nodeAgentCaConfigMap?: string;
  /** SIMULATORS ONLY: the mock PSP as evidence source, and the simulators' CA as the agent's trust root. */
  simulators?: { pspUrl: string; pspAudience: string; caPem: string };
}

/**
 * How long an injected agent keeps asking while its pod's digest is not yet admitted: the operator adds
 * it when it sees the pod (milliseconds normally; a leader hand-over can take a lease duration).
 */
export const INJECTED_ADMISSION_WAIT = '30s';

/** Init mode's command line (mutate.ts swaps the mode for sidecar): each key by key ID, and its settings. */
export function agentArgs(keys: readonly ResolvedKey[]): string[] {
  const init: AgentMode = 'init';
  return [
    init,
    flagArg(AGENT_OPTIONS.admissionWait, INJECTED_ADMISSION_WAIT),
    ...keys.flatMap((k) => [
      perKeyArg(AGENT_OPTIONS.keys, k.alias, `${k.vaultUrl.replace(/\/+$/, '')}/keys/${k.keyName}`),
      perKeyArg(AGENT_OPTIONS.format, k.alias, k.format),
      perKeyArg(AGENT_OPTIONS.file, k.alias, k.file),
      perKeyArg(AGENT_OPTIONS.authority, k.alias, k.authority),
    ]),
  ];
}

export function agentSettings(input: AgentSettingsInput): AgentSettings {
  const env: EnvVar[] = [];
  const { tenantId, clientId, authorityHost } = WORKLOAD_IDENTITY_ENV;
  if (input.tenantId) env.push({ name: tenantId, value: input.tenantId });
  if (input.clientId) env.push({ name: clientId, value: input.clientId });
  if (input.authorityHost) env.push({ name: authorityHost, value: input.authorityHost });
  if (input.evidence && !input.simulators) {
    env.push({ name: AGENT_OPTIONS.evidence.variable, value: input.evidence });
  }
  if (input.simulators) {
    // The CA is the agent's trust root for TLS and for the release's signing chain: in its measured
    // environment, like everything else it trusts.
    env.push(
      { name: AGENT_OPTIONS.simulators.variable, value: 'true' },
      { name: AGENT_OPTIONS.caPem.variable, value: input.simulators.caPem },
      { name: AGENT_OPTIONS.releaseTrustRootsPem.variable, value: input.simulators.caPem },
    );
  }
  env.push(...(input.extraEnv ?? []));
  return {
    image: input.image,
    args: agentArgs,
    env,
    ...(input.simulators
      ? { psp: { url: input.simulators.pspUrl, audience: input.simulators.pspAudience } }
      : {}),
    ...(input.nodeAgentUrl && input.nodeAgentCaConfigMap
      ? { node: { url: input.nodeAgentUrl, caConfigMap: input.nodeAgentCaConfigMap } }
      : {}),
  };
}
