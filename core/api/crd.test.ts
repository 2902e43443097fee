import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../scripts/cluster/paths.ts';
import { generateApiTypes, type Crd, type JsonSchema } from './generate.ts';
import { KEY_TYPES, POLICY_SCHEMES, SCHEMA_DEFAULTS, type SecureKey } from './securekey.generated.ts';

interface FullCrd extends Crd {
  apiVersion: string;
  kind: string;
  spec: Crd['spec'] & {
    scope: string;
    names: { kind: string; plural: string; singular: string; shortNames: string[]; categories: string[] };
    versions: Array<
      Crd['spec']['versions'][number] & {
        served: boolean;
        subresources?: { status?: object };
        additionalPrinterColumns: Array<{ name: string; type: string; jsonPath: string; priority?: number }>;
      }
    >;
  };
}

type Node = JsonSchema & {
  'x-kubernetes-validations'?: Array<{ rule: string; message?: string; fieldPath?: string }>;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
};

const crdPath = path.join(repoRoot, 'crds/securekey.yaml');
const crd = parse(readFileSync(crdPath, 'utf8')) as FullCrd;
const version = crd.spec.versions[0]!;
const root = version.schema.openAPIV3Schema as Node;

function walk(node: Node, at: string, visit: (n: Node, at: string) => void): void {
  visit(node, at);
  for (const [k, v] of Object.entries(node.properties ?? {})) walk(v as Node, `${at}.${k}`, visit);
  if (node.items) walk(node.items as Node, `${at}[]`, visit);
  if (typeof node.additionalProperties === 'object')
    walk(node.additionalProperties as Node, `${at}{}`, visit);
}

function schemaAt(jsonPath: string): Node | undefined {
  // `.status.conditions[?(@.type=="Ready")].status` → status, conditions, [], status
  const parts = jsonPath
    .replace(/\[\?\(.*?\)\]/g, '.[]')
    .split('.')
    .filter(Boolean);
  let node: Node | undefined = root;
  for (const p of parts) {
    if (!node) return undefined;
    node = p === '[]' ? (node.items as Node | undefined) : (node.properties?.[p] as Node | undefined);
  }
  return node;
}

describe('SecureKey CRD', () => {
  it('reads the same as YAML 1.1, as Helm and kubectl read it (y, n, yes, no, on, off stay strings)', () => {
    const text = readFileSync(crdPath, 'utf8');
    expect(parse(text, { version: '1.1' })).toEqual(parse(text));
  });

  it('names the API as users asked', () => {
    expect(crd.apiVersion).toBe('apiextensions.k8s.io/v1');
    expect(crd.kind).toBe('CustomResourceDefinition');
    expect(crd.spec.group).toBe('securekey.io');
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names).toMatchObject({
      kind: 'SecureKey',
      plural: 'securekeys',
      singular: 'securekey',
      shortNames: ['sk'],
      categories: ['securekey'],
    });
    expect(crd.spec.versions.map((v) => v.name)).toEqual(['v1alpha1']);
    expect(version.served && version.storage).toBe(true);
    expect(version.subresources?.status).toEqual({});
  });

  it('has a structural schema: every node typed, every required property declared', () => {
    const problems: string[] = [];
    walk(root, 'root', (n, at) => {
      if (!n.type && !n['x-kubernetes-preserve-unknown-fields']) problems.push(`${at}: no type`);
      for (const r of n.required ?? [])
        if (!n.properties?.[r]) problems.push(`${at}: required ${r} undeclared`);
      if (n.properties && n.additionalProperties !== undefined)
        problems.push(`${at}: properties + additional`);
      if (
        at !== 'root' &&
        at !== 'root.metadata' &&
        n.type === 'object' &&
        !n.description &&
        !at.endsWith('[]')
      ) {
        if (!at.includes('podSelector') && !at.endsWith('{}')) problems.push(`${at}: no description`);
      }
    });
    expect(problems).toEqual([]);
  });

  it('gives every CEL rule a message that names the field', () => {
    const rules: Array<{ at: string; rule: string; message?: string }> = [];
    walk(root, 'root', (n, at) => {
      for (const v of n['x-kubernetes-validations'] ?? []) rules.push({ at, ...v });
    });
    expect(rules.length).toBeGreaterThanOrEqual(10);
    for (const r of rules) expect(r.message, `${r.at}: ${r.rule}`).toMatch(/spec\.[a-zA-Z]+/);
    const all = rules.map((r) => r.rule).join('\n');
    // The rules the API promises: oct-HSM only on Managed HSM, size/curve per type, digest format,
    // immutability of vault, key name and type, https authorities.
    expect(all).toContain("self.key.type != 'oct-HSM'");
    expect(all).toMatch(/self\.size in \[2048, 3072, 4096\]/);
    expect(all).toContain("self.matches('^[0-9a-f]{64}$')");
    expect(all).toContain('self == oldSelf');
    expect(all).toContain('self.name == oldSelf.name');
    expect(all).toContain('self.type == oldSelf.type');
    expect(all).toContain("url(self).getScheme() == 'https'");
    // Bounded durations: a huge retention or interval would overflow the operator's timers.
    expect(all).toContain("duration(self) <= duration('720h')");
    expect(all).toContain("duration(self) <= duration('8760h')");
  });

  it('prints columns whose paths exist in the schema', () => {
    const cols = version.additionalPrinterColumns;
    expect(cols.filter((c) => !c.priority).map((c) => c.name)).toEqual([
      'Ready',
      'Vault',
      'Key',
      'Mode',
      'Version',
      'Digests',
      'Age',
    ]);
    for (const c of cols) {
      if (c.jsonPath === '.metadata.creationTimestamp') continue;
      expect(schemaAt(c.jsonPath), c.jsonPath).toBeDefined();
    }
  });

  it('agrees with the generated TypeScript types', () => {
    const committed = readFileSync(path.join(repoRoot, 'core/api/securekey.generated.ts'), 'utf8');
    expect(committed).toBe(generateApiTypes(crd));
    expect(KEY_TYPES).toEqual(schemaAt('.spec.key.type')?.enum);
    expect(POLICY_SCHEMES).toEqual(schemaAt('.spec.workloads.policyScheme')?.enum);
    expect(SCHEMA_DEFAULTS['spec.deletionPolicy']).toBe('Retain');
  });

  it('types a realistic SecureKey', () => {
    const sk: SecureKey = {
      apiVersion: 'securekey.io/v1alpha1',
      kind: 'SecureKey',
      metadata: { name: 'db-key', namespace: 'prod' },
      spec: {
        vault: { url: 'https://contoso.managedhsm.azure.net' },
        key: { name: 'db-key', type: 'oct-HSM', size: 256 },
        attestation: { authorities: ['https://sharedeus.eus.attest.azure.net'] },
        workloads: { podSelector: { matchLabels: { app: 'db' } }, policyScheme: 'kata-agent-policy' },
        deletionPolicy: 'Retain',
      },
    };
    expect(sk.spec.key.type).toBe('oct-HSM');
  });
});
