/**
 * Generates the TypeScript types of the SecureKey API from the CRD's OpenAPI schema, so the schema in
 * `crds/securekey.yaml` stays the one source of truth. Pure: takes the parsed CRD, returns source text.
 * `npm run gen:api` writes the result; a unit test fails when the committed file differs.
 */

export interface JsonSchema {
  type?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  default?: unknown;
  format?: string;
  additionalProperties?: JsonSchema | boolean;
}

export interface CrdVersion {
  name: string;
  storage?: boolean;
  schema: { openAPIV3Schema: JsonSchema };
}

export interface Crd {
  spec: { group: string; names: { kind: string; plural: string }; versions: CrdVersion[] };
}

/** Interface names for nested objects, by JSON path below the root; unnamed paths get a PascalCase path. */
const NAMES: Record<string, string> = {
  '': 'SecureKey',
  spec: 'SecureKeySpec',
  'spec.vault': 'VaultSpec',
  'spec.key': 'KeySpec',
  'spec.attestation': 'AttestationSpec',
  'spec.attestation.claims[]': 'ClaimCondition',
  'spec.workloads': 'WorkloadsSpec',
  'spec.workloads.podSelector': 'LabelSelector',
  'spec.workloads.podSelector.matchExpressions[]': 'LabelSelectorRequirement',
  'spec.rotation': 'RotationSpec',
  status: 'SecureKeyStatus',
  'status.conditions[]': 'Condition',
  'status.key': 'KeyStatus',
  'status.policy': 'PolicyStatus',
  'status.policy.digests[]': 'DigestStatus',
};

/** Enums worth a named union and a runtime list of their values, by JSON path: [type, list]. */
const ENUM_NAMES: Record<string, [string, string]> = {
  'spec.mode': ['DeploymentMode', 'DEPLOYMENT_MODES'],
  'spec.vault.type': ['VaultType', 'VAULT_TYPES'],
  'spec.key.type': ['KeyType', 'KEY_TYPES'],
  'spec.key.curve': ['KeyCurve', 'KEY_CURVES'],
  'spec.key.operations[]': ['KeyOperation', 'KEY_OPERATIONS'],
  'spec.workloads.policyScheme': ['PolicyScheme', 'POLICY_SCHEMES'],
  'spec.deletionPolicy': ['DeletionPolicy', 'DELETION_POLICIES'],
  'status.conditions[].status': ['ConditionStatus', 'CONDITION_STATUSES'],
  'status.policy.digests[].source': ['DigestSource', 'DIGEST_SOURCES'],
};

function pascal(path: string): string {
  return path
    .replace(/\[\]/g, 'Item')
    .split(/[.\-_]/)
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('');
}

function comment(text: string | undefined, indent: string): string {
  if (!text) return '';
  const words = text.replace(/\s+/g, ' ').trim().split(' ');
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && line.length + w.length + 1 > 96) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  if (lines.length === 1) return `${indent}/** ${lines[0]} */\n`;
  return `${indent}/**\n${lines.map((l) => `${indent} * ${l}`).join('\n')}\n${indent} */\n`;
}

function literal(v: unknown): string {
  return typeof v === 'string' ? `'${v.replace(/'/g, "\\'")}'` : JSON.stringify(v);
}

class Emitter {
  readonly blocks: string[] = [];
  readonly enums: string[] = [];
  readonly defaults: string[] = [];

  typeOf(schema: JsonSchema, path: string): string {
    if (schema.enum) {
      const union = schema.enum.map(literal).join(' | ');
      const names = ENUM_NAMES[path];
      if (!names) return union;
      const [name, list] = names;
      this.enums.push(
        `export const ${list} = [${schema.enum.map(literal).join(', ')}] as const;\n` +
          `export type ${name} = (typeof ${list})[number];\n`,
      );
      return name;
    }
    switch (schema.type) {
      case 'string':
        return 'string';
      case 'integer':
      case 'number':
        return 'number';
      case 'boolean':
        return 'boolean';
      case 'array':
        if (!schema.items) throw new Error(`${path}: array without items`);
        return `${this.wrapArray(this.typeOf(schema.items, `${path}[]`))}`;
      case 'object':
        if (path === 'metadata') return 'ObjectMeta';
        if (schema.properties) return this.object(schema, path);
        if (typeof schema.additionalProperties === 'object') {
          return `Record<string, ${this.typeOf(schema.additionalProperties, `${path}{}`)}>`;
        }
        return 'Record<string, unknown>';
      default:
        throw new Error(`${path || '<root>'}: schema without a supported type`);
    }
  }

  wrapArray(t: string): string {
    return /^[A-Za-z0-9_]+$/.test(t) ? `${t}[]` : `Array<${t}>`;
  }

  object(schema: JsonSchema, path: string): string {
    const name = NAMES[path] ?? pascal(path);
    // Reserve the slot first so interfaces appear parent before child, in schema order.
    const slot = this.blocks.push('') - 1;
    const required = new Set(schema.required ?? []);
    let body = '';
    for (const [prop, sub] of Object.entries(schema.properties ?? {})) {
      const subPath = path ? `${path}.${prop}` : prop;
      const t = this.typeOf(sub, subPath);
      let doc = sub.description;
      if (sub.default !== undefined) {
        doc = `${doc ?? ''} Default: ${JSON.stringify(sub.default)}.`.trim();
        this.defaults.push(`  '${subPath}': ${literal(sub.default)},`);
      }
      body += comment(doc, '  ');
      body += `  ${prop}${required.has(prop) ? '' : '?'}: ${t};\n`;
    }
    this.blocks[slot] = `${comment(schema.description, '')}export interface ${name} {\n${body}}\n`;
    return name;
  }
}

/** TypeScript source for the storage version of `crd`. */
export function generateApiTypes(crd: Crd): string {
  const version = crd.spec.versions.find((v) => v.storage) ?? crd.spec.versions[0];
  if (!version) throw new Error('CRD has no versions');
  const e = new Emitter();
  e.object(version.schema.openAPIV3Schema, '');
  const header =
    `// Generated from crds/securekey.yaml by \`npm run gen:api\`. Do not edit by hand.\n` +
    `import type { ObjectMeta } from './meta.ts';\n\n` +
    `export const GROUP = '${crd.spec.group}';\n` +
    `export const VERSION = '${version.name}';\n` +
    `export const API_VERSION = '${crd.spec.group}/${version.name}';\n` +
    `export const KIND = '${crd.spec.names.kind}';\n` +
    `export const PLURAL = '${crd.spec.names.plural}';\n\n`;
  const defaults = `/** Schema defaults, by JSON path; the API server applies them on write. */\nexport const SCHEMA_DEFAULTS = {\n${e.defaults.join('\n')}\n} as const;\n`;
  return header + e.enums.join('\n') + '\n' + e.blocks.join('\n') + '\n' + defaults;
}
