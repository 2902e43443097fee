import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isErrorOf } from '../errors.ts';
import { containerDigest, kubeletMismatch } from './container-digest.ts';
import { WorkloadError } from './errors.ts';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;
const spec = () => ({
  initContainers: [{ name: 'securekey-agent', image: `reg/agent@${A}`, args: ['node', '--key=db=db-key'] }],
  containers: [{ name: 'app', image: `reg/app@${B}`, command: ['/app'], env: [{ name: 'X', value: '1' }] }],
});

describe('containerDigest', () => {
  it('is SHA-256 over the canonical JSON of every container’s name, image, command and args', () => {
    const canonical =
      '{"containers":[{"args":null,"command":["/app"],"image":"reg/app@' +
      B +
      '","name":"app"}],"ephemeralContainers":[],"initContainers":[{"args":["node","--key=db=db-key"],"command":null,"image":"reg/agent@' +
      A +
      '","name":"securekey-agent"}],"scheme":"node-containers","v":1}';
    const d = containerDigest(spec());
    expect(d.digest).toBe(crypto.createHash('sha256').update(canonical).digest('hex'));
    expect(d.containers.map((c) => [c.list, c.name, c.imageDigest])).toEqual([
      ['initContainers', 'securekey-agent', A],
      ['containers', 'app', B],
    ]);
  });

  it('changes with any image, command, arg, name, order or added container; not with env', () => {
    const base = containerDigest(spec()).digest;
    const variants = [
      (s: ReturnType<typeof spec>) => (s.containers[0]!.image = `reg/app@${A}`),
      (s: ReturnType<typeof spec>) => (s.containers[0]!.command = ['/bin/sh']),
      (s: ReturnType<typeof spec>) => (s.initContainers[0]!.args = ['node']),
      (s: ReturnType<typeof spec>) => (s.containers[0]!.name = 'app2'),
      (s: ReturnType<typeof spec>) => s.containers.push({ ...s.containers[0]!, name: 'b' }),
      (s: ReturnType<typeof spec>) => s.containers.unshift({ ...s.containers[0]!, name: 'b' }),
      (s: ReturnType<typeof spec>) =>
        Object.assign(s, { ephemeralContainers: [{ name: 'debug', image: `busybox@${A}` }] }),
      // A container moved from init to regular is another pod.
      (s: ReturnType<typeof spec>) => s.containers.push(s.initContainers.pop()! as never),
    ];
    for (const change of variants) {
      const s = spec();
      change(s);
      expect(containerDigest(s).digest).not.toBe(base);
    }
    const withEnv = spec();
    withEnv.containers[0]!.env.push({ name: 'AZURE_CLIENT_ID', value: 'x' });
    expect(containerDigest(withEnv).digest).toBe(base);
  });

  it('refuses an image that is not pinned by digest, naming the container', () => {
    for (const image of [
      'reg/app:1',
      'reg/app',
      `reg/app@${B}x`,
      `reg/app:latest@sha256:${'A'.repeat(64)}`,
    ]) {
      const s = spec();
      s.containers[0]!.image = image;
      const err = (() => {
        try {
          return containerDigest(s);
        } catch (e) {
          return e;
        }
      })();
      expect(isErrorOf(err, WorkloadError, 'unpinned-image')).toBe(true);
      expect((err as Error).message).toContain('container app runs image');
    }
    expect(() => containerDigest({ containers: [{ name: 'app' }] })).toThrow(/not pinned/);
    expect(() => containerDigest({ containers: [{ name: 'x', image: `r@${A}`, args: 'sh' }] })).toThrow(
      /args is not a list of strings/,
    );
  });
});

describe('kubeletMismatch', () => {
  const d = containerDigest(spec());
  it('accepts imageIDs that carry the pinned digests, and containers not started yet', () => {
    expect(
      kubeletMismatch(d, {
        initContainerStatuses: [{ name: 'securekey-agent', imageID: `docker.io/reg/agent@${A}` }],
        containerStatuses: [{ name: 'app', imageID: '' }],
      }),
    ).toBeUndefined();
    expect(kubeletMismatch(d, {})).toBeUndefined();
  });

  it('names a container running other bytes than its pin, or one the spec lacks', () => {
    expect(kubeletMismatch(d, { containerStatuses: [{ name: 'app', imageID: `reg/app@${A}` }] })).toBe(
      `the kubelet reports container app running reg/app@${A}, not ${B}`,
    );
    expect(kubeletMismatch(d, { containerStatuses: [{ name: 'app', imageID: 'reg/app:1' }] })).toMatch(
      /running reg\/app:1/,
    );
    expect(kubeletMismatch(d, { containerStatuses: [{ name: 'evil', imageID: `x@${B}` }] })).toMatch(
      /container evil, which the pod spec does not have/,
    );
    // An init container's status is not a regular container's.
    expect(kubeletMismatch(d, { initContainerStatuses: [{ name: 'app', imageID: `reg/app@${B}` }] })).toMatch(
      /container app, which the pod spec does not have/,
    );
  });
});
