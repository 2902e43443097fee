// Writes core/api/securekey.generated.ts from crds/securekey.yaml.
import { readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';
import { generateApiTypes, type Crd } from '../core/api/generate.ts';

const crd = parse(readFileSync(new URL('../crds/securekey.yaml', import.meta.url), 'utf8')) as Crd;
writeFileSync(new URL('../core/api/securekey.generated.ts', import.meta.url), generateApiTypes(crd));
