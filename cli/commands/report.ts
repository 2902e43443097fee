import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { SecureKeyError } from '../../core/errors.ts';
import {
  chainFromPem,
  decomposeTcb,
  parseReport,
  verifyAttestation,
  type AttestationReport,
  type VcekChain,
} from '../../core/snp/index.ts';
import { UsageError, type Io } from '../io.ts';

export const usage = `securekey report <report.bin> [--thim <thim.json> | --vcek <vcek> --chain <ask-ark>] [-o text|json]

Decodes an AMD SEV-SNP ATTESTATION_REPORT. With a certificate chain (a THIM document, or the VCEK and
AMD's ASK+ARK bundle, each PEM or DER as AMD's KDS serves them) it also verifies the report's signature
and the chain up to AMD's pinned root for the product, and that the VCEK's chip id and TCB match the
report. Fields the report's version does not carry are left out.`;

interface Thim {
  vcekCert: string;
  certificateChain: string;
  tcbm?: string;
}

function summary(r: AttestationReport): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    version: r.version,
    guestSvn: r.guestSvn,
    vmpl: r.vmpl,
    debuggable: r.policy.debug,
    migrationAgent: r.policy.migrateMa,
    hostData: r.hostData.toString('hex'),
    reportData: r.reportData.toString('hex'),
    measurement: r.measurement.toString('hex'),
    chipId: r.chipId.toString('hex'),
    reportedTcb: r.reportedTcb.toString(16).padStart(16, '0'),
    cpuid: r.cpuid,
  };
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
}

export function reportCommand(argv: string[], io: Io): number {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      thim: { type: 'string' },
      vcek: { type: 'string' },
      chain: { type: 'string' },
      output: { type: 'string', short: 'o', default: 'text' },
    },
  });
  const [file] = positionals;
  if (!file || positionals.length > 1) throw new UsageError('report needs exactly one report file');
  if (values.thim && (values.vcek || values.chain))
    throw new UsageError('give --thim or --vcek/--chain, not both');
  if (Boolean(values.vcek) !== Boolean(values.chain)) throw new UsageError('--vcek and --chain go together');

  const bytes = readFileSync(file);
  let result: Record<string, unknown>;
  try {
    const report = parseReport(bytes);
    result = summary(report);
    let chain: VcekChain | undefined;
    if (values.thim) {
      const thim = JSON.parse(readFileSync(values.thim, 'utf8')) as Thim;
      chain = chainFromPem(thim.vcekCert, thim.certificateChain);
    } else if (values.vcek && values.chain) {
      chain = chainFromPem(readFileSync(values.vcek), readFileSync(values.chain));
    }
    if (chain) {
      const verified = verifyAttestation({ report: bytes, ...chain }, { now: new Date() });
      result = {
        ...result,
        genuine: true,
        product: verified.product,
        tcb: decomposeTcb(report.reportedTcb, verified.product),
        root: verified.chain.ark.subject.replace(/\n/g, ', '),
      };
    }
  } catch (err) {
    if (!(err instanceof SecureKeyError)) throw err;
    io.err(`not genuine or not a report: ${err.message} (${err.kind})\n`);
    return 1;
  }
  if (values.output === 'json') {
    io.out(JSON.stringify(result, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n');
  } else {
    for (const [k, v] of Object.entries(result)) {
      io.out(`${k.padEnd(16)} ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}\n`);
    }
  }
  return 0;
}
