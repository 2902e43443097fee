import type { DeploymentMode } from '../api/securekey.generated.ts';
import { AGENT_MODES, type AgentMode } from './agent-contract.ts';
import { AGENT_MODE_ANNOTATION } from './annotations.ts';
import { InjectError } from './errors.ts';

/** What agentModeFor reads of each key: its SecureKey and that SecureKey's spec.mode (absent: Pod). */
interface ModeOfKey {
  alias: string;
  secureKey: string;
  mode?: DeploymentMode;
}

const names = (keys: readonly ModeOfKey[]): string => [...new Set(keys.map((k) => k.secureKey))].join(', ');

/**
 * The agent mode a pod gets. The SecureKeys decide between the two deployment modes (ADR 37): keys of
 * node-mode SecureKeys come from the node agent, so their pods get the node client whether or not they
 * say so; keys of pod-mode SecureKeys are released to the pod's own attestation, so such a pod may choose
 * init (default) or sidecar but not node. One agent serves one mode: a pod asking for both is refused.
 */
export function agentModeFor(
  annotations: Readonly<Record<string, unknown>>,
  keys: readonly ModeOfKey[],
): AgentMode {
  const raw = annotations[AGENT_MODE_ANNOTATION];
  if (raw !== undefined && !(AGENT_MODES as readonly unknown[]).includes(raw)) {
    throw new InjectError(
      'bad-annotation',
      `annotation ${AGENT_MODE_ANNOTATION}: ${JSON.stringify(raw)} is not one of ${AGENT_MODES.join(', ')}`,
    );
  }
  const asked = raw as AgentMode | undefined;
  const node = keys.filter((k) => k.mode === 'Node');
  const pod = keys.filter((k) => k.mode !== 'Node');
  if (node.length > 0 && pod.length > 0) {
    throw new InjectError(
      'mode-mismatch',
      `the pod asks for keys of node-mode SecureKeys (${names(node)}) and of pod-mode SecureKeys (${names(pod)}): one agent serves one mode`,
      { hint: 'ask for keys of one mode per pod' },
    );
  }
  if (node.length > 0) {
    if (asked !== undefined && asked !== 'node') {
      throw new InjectError(
        'mode-mismatch',
        `annotation ${AGENT_MODE_ANNOTATION}: ${asked}, but SecureKey ${names(node)} serves node mode: its keys come from the node agent`,
        { hint: `remove the annotation or set it to node` },
      );
    }
    return 'node';
  }
  if (asked === 'node') {
    throw new InjectError(
      'mode-mismatch',
      `annotation ${AGENT_MODE_ANNOTATION}: node, but SecureKey ${names(pod)} serves pod mode: the node agent does not release its key`,
      {
        hint: 'remove the annotation, or use a SecureKey with spec.mode Node (the mode of a SecureKey is immutable)',
      },
    );
  }
  return asked ?? 'init';
}
