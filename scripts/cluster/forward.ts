/**
 * Docker sets the iptables FORWARD policy to DROP, and then the local cluster's pods cannot reach one
 * another (bridged pod traffic passes FORWARD: node.ts turns on bridge-nf-call-iptables for kube-proxy) —
 * the operator timed out reaching the simulators. When the policy is DROP, the cluster's own traffic is
 * accepted in a chain of ours, jumped to first from FORWARD and removed when the cluster stops.
 */
export const CHAIN = 'SECUREKEY-FORWARD';

/** The FORWARD chain's policy from `iptables -S FORWARD` (`-P FORWARD DROP`). */
export function forwardPolicy(rules: string): string | undefined {
  return /^-P FORWARD (\S+)$/m.exec(rules)?.[1];
}

/** iptables arguments that remove our chain; each may fail when it is already gone. */
export function removalPlan(): string[][] {
  return [
    ['-D', 'FORWARD', '-j', CHAIN],
    ['-F', CHAIN],
    ['-X', CHAIN],
  ];
}

/** iptables arguments that accept traffic from and to `cidrs` before anything else in FORWARD. */
export function acceptPlan(cidrs: string[]): string[][] {
  return [
    ['-N', CHAIN],
    ...cidrs.flatMap((cidr) => [
      ['-A', CHAIN, '-s', cidr, '-j', 'ACCEPT'],
      ['-A', CHAIN, '-d', cidr, '-j', 'ACCEPT'],
    ]),
    ['-I', 'FORWARD', '1', '-j', CHAIN],
  ];
}

export interface Iptables {
  /** `iptables <args>`' standard output; throws when it fails. */
  (args: string[]): string;
}

/**
 * Accepts the cluster's forwarded traffic when FORWARD drops by default; returns what undoes it (nothing
 * to undo otherwise). A chain left by a run that did not stop cleanly is replaced.
 */
export function acceptClusterForwarding(
  iptables: Iptables,
  cidrs: { pods: string; services: string },
  log: (line: string) => void,
): () => void {
  const remove = () => {
    for (const args of removalPlan()) {
      try {
        iptables(args);
      } catch {
        // already gone
      }
    }
  };
  remove();
  const policy = forwardPolicy(iptables(['-S', 'FORWARD']));
  if (policy !== 'DROP') return () => {};
  log(
    `iptables FORWARD policy is DROP (Docker sets it), which would cut pods off from one another: ` +
      `accepting pod (${cidrs.pods}) and service (${cidrs.services}) traffic in chain ${CHAIN}, ` +
      `removed when the cluster stops`,
  );
  for (const args of acceptPlan([cidrs.pods, cidrs.services])) iptables(args);
  return remove;
}
