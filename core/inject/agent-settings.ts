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
}

export function agentArgs(keys: readonly ResolvedKey[]): string[] {
  return [
    'init',
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
  if (input.evidence) env.push({ name: 'SECUREKEY_EVIDENCE', value: input.evidence });
  env.push(...(input.extraEnv ?? []));
  return {
    image: input.image,
    args: agentArgs,
    env,
    ...(input.nodeAgentUrl && input.nodeAgentCaConfigMap
      ? { node: { url: input.nodeAgentUrl, caConfigMap: input.nodeAgentCaConfigMap } }
      : {}),
  };
}
