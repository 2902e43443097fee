/** scripts/cluster/forward.ts: the cluster's traffic accepted when Docker's FORWARD policy drops it. */
import { describe, expect, it } from 'vitest';
import { acceptClusterForwarding, CHAIN, forwardPolicy } from '../../scripts/cluster/forward.ts';

// `iptables -S FORWARD` on a host where Docker is installed.
const DOCKER_FORWARD = [
  '-P FORWARD DROP',
  '-A FORWARD -j DOCKER-USER',
  '-A FORWARD -j DOCKER-FORWARD',
  '',
].join('\n');

/** A fake iptables recording its calls; deleting a chain that is not there fails, as iptables does. */
function iptables(policyRules: string) {
  const calls: string[][] = [];
  let chain = false;
  const run = (args: string[]) => {
    calls.push(args);
    if (args[0] === '-S') return policyRules;
    if (args[0] === '-N') chain = true;
    if (['-D', '-F', '-X'].includes(args[0]!) && !chain)
      throw new Error(`No chain/target/match by that name`);
    if (args[0] === '-X') chain = false;
    return '';
  };
  return { run, calls, hasChain: () => chain };
}

const CIDRS = { pods: '10.244.0.0/24', services: '10.96.0.0/16' };

describe('FORWARD policy DROP (Docker)', () => {
  it('reads the policy', () => {
    expect(forwardPolicy(DOCKER_FORWARD)).toBe('DROP');
    expect(forwardPolicy('-P FORWARD ACCEPT\n')).toBe('ACCEPT');
  });

  it('accepts the pod and service ranges first in FORWARD, says why, and removes it all on undo', () => {
    const ipt = iptables(DOCKER_FORWARD);
    const lines: string[] = [];
    const undo = acceptClusterForwarding(ipt.run, CIDRS, (l) => lines.push(l));
    const added = ipt.calls.filter((c) => ['-N', '-A', '-I'].includes(c[0]!));
    expect(added).toEqual([
      ['-N', CHAIN],
      ['-A', CHAIN, '-s', '10.244.0.0/24', '-j', 'ACCEPT'],
      ['-A', CHAIN, '-d', '10.244.0.0/24', '-j', 'ACCEPT'],
      ['-A', CHAIN, '-s', '10.96.0.0/16', '-j', 'ACCEPT'],
      ['-A', CHAIN, '-d', '10.96.0.0/16', '-j', 'ACCEPT'],
      ['-I', 'FORWARD', '1', '-j', CHAIN],
    ]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /FORWARD policy is DROP \(Docker sets it\).*SECUREKEY-FORWARD, removed when the cluster stops/,
    );

    ipt.calls.length = 0;
    undo();
    expect(ipt.calls).toEqual([
      ['-D', 'FORWARD', '-j', CHAIN],
      ['-F', CHAIN],
      ['-X', CHAIN],
    ]);
    expect(ipt.hasChain()).toBe(false);
  });

  it('leaves an ACCEPT policy alone, silently', () => {
    const ipt = iptables('-P FORWARD ACCEPT\n');
    const lines: string[] = [];
    acceptClusterForwarding(ipt.run, CIDRS, (l) => lines.push(l))();
    expect(ipt.calls.filter((c) => ['-N', '-A', '-I'].includes(c[0]!))).toEqual([]);
    expect(lines).toEqual([]);
  });

  it('replaces a chain left by a run that did not stop', () => {
    const ipt = iptables(DOCKER_FORWARD);
    acceptClusterForwarding(ipt.run, CIDRS, () => {}); // never undone
    ipt.calls.length = 0;
    acceptClusterForwarding(ipt.run, CIDRS, () => {});
    expect(ipt.calls.slice(0, 3)).toEqual([
      ['-D', 'FORWARD', '-j', CHAIN],
      ['-F', CHAIN],
      ['-X', CHAIN],
    ]);
    expect(ipt.calls.filter((c) => c[0] === '-I')).toHaveLength(1);
  });
});
