#!/usr/bin/env node
// securekey: the SecureKey command-line tool.
import { adoptCommand, usage as adoptUsage } from './commands/adopt.ts';
import { approveCommand, usage as approveUsage } from './commands/approve.ts';
import { approverKeyCommand, usage as approverKeyUsage } from './commands/approver-key.ts';
import { digestCommand, usage as digestUsage } from './commands/digest.ts';
import { explainCommand, usage as explainUsage } from './commands/explain.ts';
import { injectCommand, usage as injectUsage } from './commands/inject.ts';
import { reportCommand, usage as reportUsage } from './commands/report.ts';
import { rotateCommand, usage as rotateUsage } from './commands/rotate.ts';
import { processIo, UsageError, type Io } from './io.ts';

interface Command {
  run(argv: string[], io: Io): number | Promise<number>;
  usage: string;
  summary: string;
}

const COMMANDS: Record<string, Command> = {
  adopt: {
    run: adoptCommand,
    usage: adoptUsage,
    summary: 'hand an existing vault key to a SecureKey (with your own vault rights)',
  },
  digest: {
    run: digestCommand,
    usage: digestUsage,
    summary: 'policy digests (expected HOST_DATA) of pod templates',
  },
  inject: {
    run: injectCommand,
    usage: injectUsage,
    summary: 'add the SecureKey agent to pod templates (before generating their policy)',
  },
  'approver-key': {
    run: approverKeyCommand,
    usage: approverKeyUsage,
    summary: 'generate a key that approves pod policy digests (for spec.workloads.approvers)',
  },
  approve: {
    run: (argv, io) => approveCommand(argv, io),
    usage: approveUsage,
    summary: 'sign pod templates’ policy digests (after inject and policy generation)',
  },
  explain: {
    run: (argv, io) => explainCommand(argv, io),
    usage: explainUsage,
    summary: 'say why a pod gets a key or not, SecureKey by SecureKey',
  },
  rotate: {
    run: (argv, io) => rotateCommand(argv, io),
    usage: rotateUsage,
    summary: 'have the operator create a new key version now',
  },
  report: {
    run: reportCommand,
    usage: reportUsage,
    summary: 'decode and verify an AMD SEV-SNP attestation report',
  },
};

function help(): string {
  const lines = Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(13)} ${c.summary}`);
  return `securekey <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun securekey <command> --help for details.\n`;
}

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(help());
    return name ? 0 : 2;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    io.err(`securekey: unknown command ${JSON.stringify(name)}\n\n${help()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(cmd.usage + '\n');
    return 0;
  }
  try {
    return await cmd.run(rest, io);
  } catch (err) {
    const usageProblem =
      err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    io.err(`securekey ${name}: ${(err as Error).message}\n`);
    if (usageProblem) io.err(`\nusage: ${cmd.usage}\n`);
    return usageProblem ? 2 : 1;
  }
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
