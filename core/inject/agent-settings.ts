/**
 * How the injected agent is configured: everything it trusts is on its command line or in its
 * environment, so it is measured with the pod (the Kata policy is generated after injection) and never
 * fetched at run time. One `--key` per alias: `<alias>=<vault URL>/keys/<name>`, with its format, file and
 * attestation authority.
 */
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

export function agentArgs(keys: readonly ResolvedKey[]): string[] {
  return [
    'init',
    `--admission-wait=${INJECTED_ADMISSION_WAIT}`,
    ...keys.flatMap((k) => [
      `--key=${k.alias}=${k.vaultUrl.replace(/\/+$/, '')}/keys/${k.keyName}`,
      `--format=${k.alias}=${k.format}`,
      `--file=${k.alias}=${k.file}`,
      `--authority=${k.alias}=${k.authority}`,
    ]),
  ];
}

export function agentSettings(input: AgentSettingsInput): AgentSettings {
  const env: EnvVar[] = [];
  if (input.tenantId) env.push({ name: 'AZURE_TENANT_ID', value: input.tenantId });
  if (input.clientId) env.push({ name: 'AZURE_CLIENT_ID', value: input.clientId });
  if (input.authorityHost) env.push({ name: 'AZURE_AUTHORITY_HOST', value: input.authorityHost });
  if (input.evidence && !input.simulators) env.push({ name: 'SECUREKEY_EVIDENCE', value: input.evidence });
  if (input.simulators) {
    // The CA is the agent's trust root for TLS and for the release's signing chain: in its measured
    // environment, like everything else it trusts.
    env.push(
      { name: 'SECUREKEY_SIMULATORS', value: 'true' },
      { name: 'SECUREKEY_CA_PEM', value: input.simulators.caPem },
      { name: 'SECUREKEY_RELEASE_TRUST_ROOTS_PEM', value: input.simulators.caPem },
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
