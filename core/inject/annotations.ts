/**
 * Every label and annotation SecureKey reads or writes on pods, in one place (vault-k8s keeps its
 * annotations the same way). A pod opts in with the label and names its keys by alias:
 *
 *   securekey.io/inject: "true"                       (label)
 *   securekey.io/key-<alias>: <SecureKey name>        a key to deliver, from a SecureKey in the pod's namespace
 *   securekey.io/format-<alias>: raw | pem | jwk      default raw
 *   securekey.io/path-<alias>: <file name>            default <alias>, under /run/securekey
 *   securekey.io/containers: app,sidecar              containers that get the key volume (default all)
 *   securekey.io/agent-mode: init | sidecar | node   init: fetch once before the app starts (default);
 *                                                    sidecar: a native sidecar that also follows rotation;
 *                                                    node: fetch from the node agent (confidential-VM nodes),
 *                                                    chosen by the SecureKeys' spec.mode (agent-mode.ts)
 *   securekey.io/skr-api: "<port>"                   sidecar mode only: the agent also serves the SKR
 *                                                    sidecar's local API on localhost:<port> (ADR 52)
 *
 * The agent's own arguments and variables are in agent-contract.ts.
 */
export const INJECT_LABEL = 'securekey.io/inject';
export const INJECT_LABEL_VALUE = 'true';
export const ANNOTATION_PREFIX = 'securekey.io/';
export const KEY_ANNOTATION_PREFIX = 'securekey.io/key-';
export const FORMAT_ANNOTATION_PREFIX = 'securekey.io/format-';
export const PATH_ANNOTATION_PREFIX = 'securekey.io/path-';
export const CONTAINERS_ANNOTATION = 'securekey.io/containers';
/** Written by the injector; its presence makes a second admission a no-op. */
export const STATUS_ANNOTATION = 'securekey.io/status';
export const AGENT_MODE_ANNOTATION = 'securekey.io/agent-mode';
export const SKR_API_ANNOTATION = 'securekey.io/skr-api';
export const STATUS_INJECTED = 'injected';

export const AGENT_CONTAINER = 'securekey-agent';
export const KEYS_VOLUME = 'securekey-keys';
export const TOKEN_VOLUME = 'securekey-azure-identity-token';
export const TOKEN_MOUNT_PATH = '/var/run/secrets/securekey/azure';
/** The audience Entra expects on a federated service-account token. */
export const TOKEN_AUDIENCE = 'api://AzureADTokenExchange';
/** Simulators only: the token the mock PSP identifies the pod by (sim/psp). */
export const PSP_TOKEN_VOLUME = 'securekey-psp-token';
export const PSP_TOKEN_MOUNT_PATH = '/var/run/secrets/securekey/psp';
/** Node mode: the pod's token for the node agent (ADR 14) and the CA it checks the node agent by. */
export const NODE_TOKEN_VOLUME = 'securekey-node-token';
export const NODE_TOKEN_AUDIENCE = 'securekey-node';
export const NODE_CA_VOLUME = 'securekey-node-ca';
export const NODE_CA_MOUNT_PATH = '/etc/securekey/node-ca';
export { KEY_FORMATS, type KeyFormat } from '../keys/output-formats.ts';
