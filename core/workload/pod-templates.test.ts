import { describe, expect, it } from 'vitest';
import { podTemplates } from './pod-templates.ts';

const template = { metadata: { labels: { app: 'a' }, annotations: { x: '1', n: 2 } }, spec: {} };

describe('podTemplates', () => {
  it('finds the template of each workload kind', () => {
    const cases: Array<[object, string]> = [
      [{ kind: 'Pod', metadata: { name: 'p', ...template.metadata } }, 'metadata'],
      [{ kind: 'Deployment', metadata: { name: 'd' }, spec: { template } }, 'spec.template.metadata'],
      [{ kind: 'StatefulSet', metadata: { name: 's' }, spec: { template } }, 'spec.template.metadata'],
      [{ kind: 'DaemonSet', metadata: { name: 'ds' }, spec: { template } }, 'spec.template.metadata'],
      [{ kind: 'Job', metadata: { name: 'j' }, spec: { template } }, 'spec.template.metadata'],
      [
        { kind: 'CronJob', metadata: { name: 'c' }, spec: { jobTemplate: { spec: { template } } } },
        'spec.jobTemplate.spec.template.metadata',
      ],
    ];
    for (const [m, path] of cases) {
      const [ref] = podTemplates(m);
      expect(ref?.path).toBe(path);
      expect(ref?.labels).toEqual({ app: 'a' });
      // Non-string annotation values are not annotations the API server would accept; they are dropped.
      expect(ref?.annotations).toEqual({ x: '1' });
    }
  });

  it('walks List items and ignores kinds without pods', () => {
    const list = {
      kind: 'List',
      items: [
        { kind: 'Service', metadata: { name: 'svc' } },
        { kind: 'Deployment', metadata: { name: 'web', namespace: 'prod' }, spec: { template } },
      ],
    };
    expect(podTemplates(list).map((r) => [r.owner, r.namespace])).toEqual([['Deployment/web', 'prod']]);
    expect(podTemplates({ kind: 'ConfigMap' })).toEqual([]);
    expect(podTemplates('not a manifest')).toEqual([]);
  });
});
