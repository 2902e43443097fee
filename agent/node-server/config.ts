/**
 * `securekey-agent node-server`'s configuration (the node agent, ADR 39), from arguments and environment
 * only: where it listens and with which certificate, the node it serves (NODE_NAME, from the downward
 * API), which runtime classes its pods may have, its bounds, and which key source releases. No I/O;
 * errors are AgentErrors (step `config`) naming the flag or variable.
 */
import { LINUX_TCG_LOG_PATH } from '../../core/azure-guest/attestation-info.ts';
import type { AgentOption } from '../../core/inject/agent-contract.ts';
import { readArgs, type Env } from '../config/options.ts';
import { absolutePath, duration, invalid, missing, oneOf, port, type Sourced } from '../config/validators.ts';

export const NODE_SERVER_MODE = 'node-server';

export const NODE_SERVER_OPTIONS = {
  port: { flag: '--port', variable: 'SECUREKEY_NODE_SERVER_PORT' },
  tlsCert: { flag: '--tls-cert', variable: 'SECUREKEY_NODE_SERVER_TLS_CERT' },
  tlsKey: { flag: '--tls-key', variable: 'SECUREKEY_NODE_SERVER_TLS_KEY' },
  nodeName: { flag: '--node-name', variable: 'NODE_NAME' },
  runtimeClasses: { flag: '--runtime-classes', variable: 'SECUREKEY_NODE_RUNTIME_CLASSES' },
  maxInFlight: { flag: '--max-in-flight', variable: 'SECUREKEY_NODE_MAX_IN_FLIGHT' },
  requestTimeout: { flag: '--request-timeout', variable: 'SECUREKEY_NODE_REQUEST_TIMEOUT' },
  secureKeyTtl: { flag: '--securekey-ttl', variable: 'SECUREKEY_NODE_SECUREKEY_TTL' },
  keySource: { flag: '--key-source', variable: 'SECUREKEY_NODE_KEY_SOURCE' },
  /** The vTPM the azure-guest source uses: a device, `unix:<path>` or `tcp:<host>:<port>`. */
  tpm: { flag: '--tpm', variable: 'SECUREKEY_TPM' },
  /** The vTPM's measured-boot event log the azure-guest source sends with its quote. */
  tcgLog: { flag: '--tcg-log', variable: 'SECUREKEY_TCG_LOG' },
} as const satisfies Record<string, AgentOption>;

/**
 * Where released keys come from. `azure-guest`: the node's own attestation through its vTPM and releases
 * wrapped to the TPM (azure-guest-source.ts), for confidential-VM nodes. `pod-attestation`: pod mode's
 * release path, simulators only (pod-attestation-source.ts).
 */
export const KEY_SOURCES = ['azure-guest', 'pod-attestation'] as const;
export type KeySourceName = (typeof KEY_SOURCES)[number];

export interface NodeServerConfig {
  port: number;
  certFile: string;
  keyFile: string;
  nodeName: string;
  /** Runtime classes a served pod may have besides none (pods on a CVM node run runc). */
  runtimeClasses: string[];
  maxInFlight: number;
  requestTimeoutMs: number;
  secureKeyTtlMs: number;
  keySource: KeySourceName;
  /** The vTPM (azure-guest): `/dev/tpmrm0` unless set. */
  tpm: string;
  /** The TCG event log (azure-guest), an absolute path: Linux's securityfs file unless set. */
  tcgLog: string;
}

const NODE_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export function parseNodeServerConfig(argv: readonly string[], env: Env): NodeServerConfig {
  const { mode, get } = readArgs(argv, NODE_SERVER_OPTIONS, env);
  if (mode !== NODE_SERVER_MODE) throw invalid(`mode ${JSON.stringify(mode)} is not ${NODE_SERVER_MODE}`);
  const required = (option: keyof typeof NODE_SERVER_OPTIONS, hint?: string): Sourced => {
    const v = get(option);
    if (v === undefined) {
      const { flag, variable } = NODE_SERVER_OPTIONS[option];
      throw missing(`${variable} (or ${flag}) is not set`, hint);
    }
    return v;
  };
  const or = (option: keyof typeof NODE_SERVER_OPTIONS, fallback: string): Sourced =>
    get(option) ?? { value: fallback, from: NODE_SERVER_OPTIONS[option].variable };
  const nodeName = required('nodeName', 'set it from the downward API: fieldRef spec.nodeName');
  if (!NODE_NAME.test(nodeName.value))
    throw invalid(`${nodeName.from}=${JSON.stringify(nodeName.value)} is not a node name`);
  const maxInFlight = Number(or('maxInFlight', '64').value);
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1 || maxInFlight > 10_000) {
    throw invalid(`${NODE_SERVER_OPTIONS.maxInFlight.variable}: expected a whole number from 1 to 10000`);
  }
  return {
    port: port(or('port', '8443')),
    certFile: absolutePath(required('tlsCert', 'the node-local serving certificate (PEM)')),
    keyFile: absolutePath(required('tlsKey', 'the serving certificate’s private key (PEM)')),
    nodeName: nodeName.value,
    runtimeClasses: (get('runtimeClasses')?.value ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
    maxInFlight,
    requestTimeoutMs: duration(or('requestTimeout', '30s'), 1_000),
    secureKeyTtlMs: duration(or('secureKeyTtl', '5s'), 0),
    keySource: oneOf(required('keySource', `one of ${KEY_SOURCES.join(', ')}`), KEY_SOURCES),
    tpm: or('tpm', '/dev/tpmrm0').value,
    tcgLog: absolutePath(or('tcgLog', LINUX_TCG_LOG_PATH)),
  };
}
