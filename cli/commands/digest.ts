import { parseArgs } from 'node:util';
import { POLICY_SCHEMES, type PolicyScheme } from '../../core/api/securekey.generated.ts';
import { detectPolicyScheme, policyDigest } from '../../core/digest/index.ts';
import { SecureKeyError } from '../../core/errors.ts';
import { podTemplates } from '../../core/workload/pod-templates.ts';
import { loadManifests } from '../manifests.ts';
import { table, UsageError, type Io } from '../io.ts';

export const usage = `securekey digest -f <file|dir|-> [-f …] [--scheme <scheme>] [-o table|json]

Prints the policy digest (the SEV-SNP HOST_DATA a pod launched with that policy reports) of every pod
template in the manifests: the value a SecureKey's release policy must admit. The scheme is detected
from the annotations unless --scheme (${POLICY_SCHEMES.join(' | ')}) is given.`;

interface Row {
  source: string;
  owner: string;
  namespace: string | undefined;
  scheme: PolicyScheme | undefined;
  digest?: string;
  error?: string;
}

export function digestCommand(argv: string[], io: Io): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      filename: { type: 'string', short: 'f', multiple: true },
      scheme: { type: 'string' },
      output: { type: 'string', short: 'o', default: 'table' },
    },
    strict: true,
  });
  const files = values.filename ?? [];
  if (files.length === 0) throw new UsageError('digest needs at least one -f <file>');
  const forced = values.scheme;
  if (forced !== undefined && !(POLICY_SCHEMES as readonly string[]).includes(forced)) {
    throw new UsageError(`--scheme must be one of ${POLICY_SCHEMES.join(', ')}`);
  }
  const rows: Row[] = [];
  for (const m of loadManifests(files)) {
    for (const t of podTemplates(m.doc)) {
      const scheme = (forced as PolicyScheme | undefined) ?? detectPolicyScheme(t.annotations);
      const row: Row = { source: m.source, owner: t.owner, namespace: t.namespace, scheme };
      if (!scheme) row.error = 'no policy annotation (generate the policy first, or pass --scheme)';
      else {
        try {
          row.digest = policyDigest(scheme, t.annotations).digest;
        } catch (err) {
          if (!(err instanceof SecureKeyError)) throw err;
          row.error = err.message;
        }
      }
      rows.push(row);
    }
  }
  if (values.output === 'json') io.out(JSON.stringify(rows, null, 2) + '\n');
  else
    io.out(
      table(
        ['OWNER', 'NAMESPACE', 'SCHEME', 'DIGEST'],
        rows.map((r) => [r.owner, r.namespace ?? '-', r.scheme ?? '-', r.digest ?? `error: ${r.error}`]),
      ),
    );
  if (rows.length === 0) io.err('no pod templates found\n');
  return rows.some((r) => r.error) || rows.length === 0 ? 1 : 0;
}
