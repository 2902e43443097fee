/**
 * The agent's log lines — the one process that holds plaintext keys logs through the shared redacting
 * logger (edge/log), never around it. Progress and failures are JSON lines on stderr; the result line
 * (`msg: 'ready'`, read by bench/ and the end-to-end tests) goes to stdout.
 */
import { redactKeyMaterial } from '../core/redact.ts';
import { createLogger, type Logger } from '../edge/log/log.ts';
import { describeAgentError } from './errors.ts';

export function agentLogger(out: { write(line: string): unknown } = process.stderr): Logger {
  // `key` and `keys` name aliases, files and key versions in the agent's lines (its errors' `key`, the
  // result's `keys`); their values are still cleaned like any other.
  return createLogger({
    component: 'agent',
    identifiers: ['key', 'keys'],
    write: (line) => void out.write(line),
  });
}

/**
 * The plain failure line beside the JSON one: what a person reads first (the last line of `kubectl logs`).
 * It passes the same redaction as every logged string.
 */
export function failureLine(err: unknown): string {
  return `securekey-agent: ${redactKeyMaterial(describeAgentError(err))}\n`;
}
