import { describe, expect, it } from 'vitest';
import { SecureKeyError } from '../../core/errors.ts';
import { createLogger, parseLevel } from './log.ts';

function capture(level: 'debug' | 'info' = 'info') {
  const lines: string[] = [];
  const log = createLogger({
    level,
    component: 'operator',
    write: (l) => lines.push(l),
    now: () => new Date('2026-11-22T12:00:00Z'),
  });
  return { log, lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const PEM =
  '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----';

describe('JSON logger', () => {
  it('writes one JSON object per line with time, level, component, msg and fields', () => {
    const { log, lines, parsed } = capture();
    log.info('key created', { keyName: 'db', keyVersion: 'abc' });
    log.debug('hidden');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith('\n')).toBe(true);
    expect(parsed()[0]).toEqual({
      time: '2026-11-22T12:00:00.000Z',
      level: 'info',
      component: 'operator',
      msg: 'key created',
      keyName: 'db',
      keyVersion: 'abc',
    });
  });

  it('redacts secret-named fields, JWK private members, PEM blocks and key-like runs', () => {
    const { log, parsed } = capture();
    const jwk = { kty: 'RSA', n: 'AQAB', e: 'AQAB', d: 'c2VjcmV0', k: 'a2V5' };
    log.warn(`oops ${PEM}`, {
      clientSecret: 's3cr3t',
      token: 'eyJhbGciOi',
      jwk,
      key: 'raw key bytes',
      note: `material: ${'Ab1'.repeat(20)}`,
      keyName: 'kept',
    });
    const e = parsed()[0]!;
    const text = JSON.stringify(e);
    for (const secret of [
      's3cr3t',
      'eyJhbGciOi',
      'c2VjcmV0',
      'a2V5',
      'raw key bytes',
      'MIIEvQ',
      'Ab1Ab1Ab1',
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(e['keyName']).toBe('kept');
    expect((e['jwk'] as Record<string, unknown>)['kty']).toBe('RSA');
  });

  it('reduces errors to name, kind, message and hint; survives cycles and bigints', () => {
    const { log, parsed } = capture();
    const err = new SecureKeyError('vault-down', 'vault not reached', { hint: 'check DNS' });
    const loop: Record<string, unknown> = { a: 1 };
    loop['self'] = loop;
    log.error('failed', { error: err, loop, n: 10n });
    const e = parsed()[0]!;
    expect(e['error']).toEqual({
      name: 'SecureKeyError',
      kind: 'vault-down',
      message: 'vault not reached',
      hint: 'check DNS',
    });
    expect(JSON.stringify(e)).not.toContain('at ');
    expect(e['loop']).toEqual({ a: 1, self: '[circular]' });
    expect(e['n']).toBe('10');
  });

  it('child loggers carry bound fields; bad levels are refused by name', () => {
    const { log, parsed } = capture('debug');
    log.child({ secureKey: 'shop/db' }).debug('x');
    expect(parsed()[0]).toMatchObject({ level: 'debug', secureKey: 'shop/db' });
    expect(parseLevel('WARN')).toBe('warn');
    expect(() => parseLevel('loud')).toThrow(/"loud" is not one of debug, info, warn, error/);
  });
});
