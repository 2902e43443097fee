import { createHash, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AgentError, agentErrorFields } from './errors.ts';
import { agentLogger, failureLine } from './log.ts';

// Fixed bytes (not random): base64 of 32 random bytes could, rarely, look like a path and be kept.
const key32 = createHash('sha256').update('a released AES-256 key').digest();
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const pem = (rsa.export({ format: 'pem', type: 'pkcs8' }) as string).trim();
const jwk = rsa.export({ format: 'jwk' });
const spellings = [
  pem.split('\n')[1]!, // a line of the PEM body
  jwk.d!,
  jwk.p!,
  key32.toString('base64'),
  key32.toString('base64url'),
];

/** What the agent writes, as a stream it writes to; `records()` first checks no spelling of a key is in it. */
function capture() {
  const lines: string[] = [];
  const log = agentLogger({ write: (line: string) => lines.push(line) });
  const records = () => {
    for (const secret of spellings) expect(lines.join('')).not.toContain(secret);
    return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  };
  return { log, records };
}

describe('the agent log never carries key material', () => {
  it('scrubs a PEM private key, a JWK with d, and a base64 32-byte key in messages and fields', () => {
    const { log, records } = capture();
    log.info(`unwrapped ${pem}`, { pem });
    log.info(`released ${key32.toString('base64')}`, {
      value: key32.toString('base64'),
      url: key32.toString('base64url'),
      jwk,
      // `keys` names aliases and files in the agent's lines, so it is not redacted whole: what is inside is.
      keys: [{ alias: 'db', path: '/run/securekey/db', jwk, plaintext: key32.toString('base64') }],
    });
    const [first, second] = records();
    expect(first).toMatchObject({
      component: 'agent',
      level: 'info',
      msg: 'unwrapped [redacted]',
      pem: '[redacted]',
    });
    expect(second).toMatchObject({
      msg: 'released [redacted]',
      value: '[redacted]',
      url: '[redacted]',
      jwk: { kty: 'RSA', e: 'AQAB', d: '[redacted]', p: '[redacted]' },
      keys: [{ alias: 'db', path: '/run/securekey/db', jwk: { d: '[redacted]' }, plaintext: '[redacted]' }],
    });
  });

  it('scrubs an error whose message holds key bytes, as the failure line and as a field', () => {
    const { log, records } = capture();
    const err = new AgentError('unwrap-failed', `could not unwrap ${key32.toString('base64')} with ${pem}`, {
      step: 'unwrap',
      key: 'db',
    });
    log.error('failed', agentErrorFields(err));
    log.warn('refresh failed', {
      error: new Error(`bad key ${key32.toString('base64url')}`, { cause: err }),
    });
    const [failed, refresh] = records();
    expect(failed).toMatchObject({
      level: 'error',
      msg: 'failed',
      step: 'unwrap',
      kind: 'unwrap-failed',
      key: 'db',
      message: 'could not unwrap [redacted] with [redacted]',
    });
    expect(refresh).toMatchObject({
      error: { message: 'bad key [redacted]', cause: { kind: 'unwrap-failed' } },
    });
    // The plain failure line main.ts writes beside the JSON one.
    const plain = failureLine(err);
    for (const secret of spellings) expect(plain).not.toContain(secret);
    expect(plain).toMatch(/^securekey-agent: \[unwrap\] .*could not unwrap \[redacted\] with \[redacted\]/);
  });
});
