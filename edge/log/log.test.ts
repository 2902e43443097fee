import { generateKeyPairSync, createSecretKey, randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { SecureKeyError } from '../../core/errors.ts';
import {
  createLogger,
  isSecretName,
  logEvents,
  LogConfigError,
  parseLevel,
  type Level,
  type LoggerOptions,
} from './log.ts';

const NOW = new Date('2025-01-02T03:04:05.678Z');

function capture(o: LoggerOptions = {}) {
  const lines: string[] = [];
  const log = createLogger({ now: () => NOW, write: (l) => lines.push(l), ...o });
  const records = () =>
    lines.map((l) => {
      expect(l.endsWith('\n')).toBe(true);
      expect(l.slice(0, -1)).not.toContain('\n');
      return JSON.parse(l) as Record<string, unknown>;
    });
  return { log, lines, records };
}

class VaultError extends SecureKeyError<'forbidden'> {}

describe('createLogger: line shape', () => {
  it('writes one JSON object per line: time, level, component, msg, then fields in order', () => {
    const { log, lines } = capture({ component: 'operator' });
    log.info('policy synced', { securekey: 'ns/db', digests: 2, leader: true, missing: undefined });
    expect(lines).toEqual([
      '{"time":"2025-01-02T03:04:05.678Z","level":"info","component":"operator","msg":"policy synced","securekey":"ns/db","digests":2,"leader":true}\n',
    ]);
  });

  it('omits component when none is given and filters by level', () => {
    const { log, records } = capture({ level: 'warn' });
    expect(log.level).toBe('warn');
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    expect(records()).toEqual([
      { time: NOW.toISOString(), level: 'warn', msg: 'w' },
      { time: NOW.toISOString(), level: 'error', msg: 'e' },
    ]);
  });

  it('defaults to info', () => {
    const { log, records } = capture();
    log.debug('hidden');
    log.info('shown');
    expect(log.level).toBe('info');
    expect(records().map((r) => r['msg'])).toEqual(['shown']);
  });

  it('child loggers add fields, calls override them, and a component field replaces the component', () => {
    const { log, records } = capture({ component: 'operator' });
    const child = log.child({ securekey: 'ns/a', attempt: 1 });
    child.info('one', { attempt: 2 });
    child.child({ component: 'vault' }).warn('two');
    log.info('three');
    expect(records()).toEqual([
      {
        time: NOW.toISOString(),
        level: 'info',
        component: 'operator',
        msg: 'one',
        securekey: 'ns/a',
        attempt: 2,
      },
      {
        time: NOW.toISOString(),
        level: 'warn',
        component: 'vault',
        msg: 'two',
        securekey: 'ns/a',
        attempt: 1,
      },
      { time: NOW.toISOString(), level: 'info', component: 'operator', msg: 'three' },
    ]);
    expect(child.level).toBe('info');
  });

  it('never lets fields overwrite time, level or msg', () => {
    const { log, records } = capture();
    log.info('real', { time: 'fake', level: 'error', msg: 'forged', component: 42 });
    expect(records()[0]).toEqual({
      time: NOW.toISOString(),
      level: 'info',
      msg: 'real',
      _time: 'fake',
      _level: 'error',
      _msg: 'forged',
      _component: 42,
    });
  });

  it('writes to stderr by default', () => {
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      createLogger({ now: () => NOW }).error('to stderr');
      expect(spy).toHaveBeenCalledWith(`{"time":"${NOW.toISOString()}","level":"error","msg":"to stderr"}\n`);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('createLogger: key material never reaches the line', () => {
  it('redacts a PEM private key in the message and in fields', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = (privateKey.export({ format: 'pem', type: 'pkcs8' }) as string).trim();
    const body = pem.split('\n')[1] as string;
    const { log, lines, records } = capture();
    log.error(`could not parse ${pem}`, { pem, nested: { list: [`x ${pem} y`] } });
    const text = lines.join('');
    expect(text).not.toContain('PRIVATE KEY');
    expect(text).not.toContain(body.slice(0, 20));
    const r = records()[0] as Record<string, unknown>;
    expect(r['msg']).toBe('could not parse [redacted]');
    expect(r['pem']).toBe('[redacted]');
    expect(r['nested']).toEqual({ list: ['x [redacted] y'] });
  });

  it('redacts the private members of a JWK and long key-like public ones', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = privateKey.export({ format: 'jwk' });
    const oct = { kty: 'oct', k: randomBytes(32).toString('base64url') };
    const { log, lines, records } = capture();
    log.info('jwk', { jwk: { kty: jwk.kty, d: jwk.d, n: jwk.n, e: jwk.e }, full: jwk, oct });
    const text = lines.join('');
    for (const member of ['d', 'n', 'p', 'q', 'dp', 'dq', 'qi'] as const) {
      expect(text).not.toContain((jwk[member] as string).slice(0, 16));
    }
    expect(text).not.toContain(oct.k.slice(0, 16));
    const r = records()[0] as Record<string, Record<string, unknown>>;
    expect(r['jwk']).toEqual({ kty: 'RSA', d: '[redacted]', n: '[redacted]', e: 'AQAB' });
    expect(r['full']).toMatchObject({ d: '[redacted]', p: '[redacted]', q: '[redacted]', qi: '[redacted]' });
    expect(r['oct']).toEqual({ kty: 'oct', k: '[redacted]' });
  });

  it('redacts fields named like secrets, keeps the allow-listed identifiers', () => {
    const { log, records } = capture();
    log.info('auth', {
      clientSecret: 'hunter2',
      token: 'eyJhbGciOi.short',
      client_assertion: 'abc',
      AZURE_CLIENT_SECRET: 'abc',
      privateKey: 'abc',
      'x-api-key': 'abc',
      key: 'ambiguous',
      keys: ['a', 'b'],
      password: 12345,
      wrappedKey: { alg: 'RSA-OAEP-256' },
      keyName: 'db-key',
      keyId: 'https://vault.example/keys/db-key/0123abcd',
      keyVersion: '0123abcd',
      kid: 'k1',
      tokenExpiresAt: '2025-01-02T04:00:00Z',
      secretName: 'db-credentials',
      keyVaultUrl: 'https://kv.vault.azure.net',
      hasToken: true,
      refreshToken: null,
    });
    expect(records()[0]).toEqual({
      time: NOW.toISOString(),
      level: 'info',
      msg: 'auth',
      clientSecret: '[redacted]',
      token: '[redacted]',
      client_assertion: '[redacted]',
      AZURE_CLIENT_SECRET: '[redacted]',
      privateKey: '[redacted]',
      'x-api-key': '[redacted]',
      key: '[redacted]',
      keys: '[redacted]',
      password: '[redacted]',
      wrappedKey: '[redacted]',
      keyName: 'db-key',
      keyId: 'https://vault.example/keys/db-key/0123abcd',
      keyVersion: '0123abcd',
      kid: 'k1',
      tokenExpiresAt: '2025-01-02T04:00:00Z',
      secretName: 'db-credentials',
      keyVaultUrl: 'https://kv.vault.azure.net',
      hasToken: true,
      refreshToken: null,
    });
  });

  it('classifies names by their last word; JWK letters only as whole names or after a separator', () => {
    for (const n of [
      'd',
      'k',
      'P',
      'dq',
      'qi',
      'rsa_d',
      'jwk-k',
      'accessToken',
      'id_token',
      'client.secret',
    ]) {
      expect(isSecretName(n), n).toBe(true);
    }
    for (const n of [
      'keyId',
      'kid',
      'kty',
      'n',
      'e',
      'monkey',
      'tokenFile',
      'secretRef',
      'pod',
      'ip',
      'keyPolicy',
      'secureKey', // the resource's namespace/name: the one field an operator's logs must show
    ]) {
      expect(isSecretName(n), n).toBe(false);
    }
  });

  it('describes bytes and KeyObjects instead of dumping them', () => {
    const { log, records } = capture();
    const secret = createSecretKey(randomBytes(32));
    log.info('unwrapped', {
      der: Buffer.from('30820122', 'hex'),
      cek: secret,
      raw: new Uint8Array(16).buffer,
    });
    expect(records()[0]).toMatchObject({ der: '[4 bytes]', cek: '[KeyObject secret]', raw: '[16 bytes]' });
  });

  it('redacts a standard-base64 DER key whole, in the message and in a field', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const b64 = (privateKey.export({ format: 'der', type: 'pkcs8' }) as Buffer).toString('base64');
    expect(b64).toContain('/');
    const { log, lines, records } = capture();
    log.warn(`got ${b64} back`, { reply: `got ${b64} back` });
    expect(lines.join('')).not.toContain(b64.slice(100, 140));
    expect(records()[0]).toMatchObject({ msg: 'got [redacted] back', reply: 'got [redacted] back' });
  });
});

describe('createLogger: errors', () => {
  it('reduces a SecureKeyError to name, kind, message and hint, without a stack at info', () => {
    const { log, lines, records } = capture();
    const err = new VaultError('forbidden', 'vault refused release of key db-key (403)', {
      hint: 'grant the agent identity the release role',
    });
    log.error('release failed', { error: err });
    expect(records()[0]).toEqual({
      time: NOW.toISOString(),
      level: 'error',
      msg: 'release failed',
      error: {
        name: 'VaultError',
        kind: 'forbidden',
        message: 'vault refused release of key db-key (403)',
        hint: 'grant the agent identity the release role',
      },
    });
    expect(lines[0]).not.toContain('log.test.ts');
    expect(lines[0]).not.toContain(' at ');
  });

  it('keeps code and cause, redacts key material in messages, and adds stacks only at debug', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' });
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = (privateKey.export({ format: 'pem', type: 'sec1' }) as string).trim();
    const err = new Error(`bad key ${pem}`, { cause });
    const info = capture();
    info.log.warn('retrying', { err });
    expect(info.records()[0]?.['err']).toEqual({
      name: 'Error',
      message: 'bad key [redacted]',
      cause: { name: 'Error', message: 'connect ECONNREFUSED 10.0.0.1:443', code: 'ECONNREFUSED' },
    });

    const debug = capture({ level: 'debug' });
    debug.log.debug('retrying', { err });
    const logged = debug.records()[0]?.['err'] as Record<string, unknown>;
    expect(logged['stack']).toMatch(/^Error: bad key \[redacted\]\n\s+at /);
    expect(JSON.stringify(logged)).not.toContain('EC PRIVATE KEY');
  });

  it('serialises an error passed anywhere in the fields, including inside arrays', () => {
    const { log, records } = capture();
    log.info('batch', { failures: [new TypeError('not a digest')] });
    expect(records()[0]?.['failures']).toEqual([{ name: 'TypeError', message: 'not a digest' }]);
  });
});

describe('createLogger: awkward values never throw', () => {
  it('marks cycles but not an object that merely appears twice', () => {
    const { log, records } = capture();
    const a: Record<string, unknown> = { name: 'a' };
    a['self'] = a;
    const list: unknown[] = [1];
    list.push(list);
    const shared = { x: 1 };
    const err = new Error('loop') as Error & { cause?: unknown };
    err.cause = err;
    log.info('cycles', { a, list, left: shared, right: shared, err });
    expect(records()[0]).toMatchObject({
      a: { name: 'a', self: '[circular]' },
      list: [1, '[circular]'],
      left: { x: 1 },
      right: { x: 1 },
      err: { name: 'Error', message: 'loop', cause: '[circular]' },
    });
  });

  it('writes bigints, non-finite numbers, dates, maps, sets and functions', () => {
    const { log, records } = capture();
    log.info('values', {
      big: 2n ** 70n,
      nan: NaN,
      inf: -Infinity,
      at: new Date('2025-03-04T05:06:07Z'),
      bad: new Date('nope'),
      map: new Map<unknown, unknown>([
        ['token', 'abc'],
        [1, 'one'],
      ]),
      set: new Set(['x', 'y']),
      fn: function release() {},
    });
    expect(records()[0]).toMatchObject({
      big: '1180591620717411303424',
      nan: 'NaN',
      inf: '-Infinity',
      at: '2025-03-04T05:06:07.000Z',
      bad: 'Invalid Date',
      map: { token: '[redacted]', 1: 'one' },
      set: ['x', 'y'],
      fn: '[function release]',
    });
  });

  it('limits depth', () => {
    const { log, records } = capture();
    let deep: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < 20; i++) deep = { deep };
    log.info('deep', { deep });
    expect(JSON.stringify(records()[0])).toContain('[too deep]');
  });

  it('survives throwing getters, toJSON, proxies, clocks and writers', () => {
    const { log, records } = capture();
    const getter = {
      get boom(): string {
        throw new Error('getter exploded');
      },
    };
    const toJson = {
      toJSON() {
        throw new Error('toJSON exploded');
      },
    };
    log.info('getters', { getter, toJson, fine: 1 });
    expect(records()[0]).toMatchObject({
      getter: '[unserialisable: getter exploded]',
      toJson: '[unserialisable: toJSON exploded]',
      fine: 1,
    });

    const hostile = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('no keys for you');
        },
      },
    );
    const p = capture();
    expect(() => p.log.warn('proxy', hostile)).not.toThrow();
    expect(p.records()[0]).toMatchObject({
      level: 'warn',
      msg: 'log line could not be written',
      reason: 'no keys for you',
    });

    const clock = capture({
      now: () => {
        throw new Error('no clock');
      },
    });
    clock.log.info('still logged');
    expect(clock.records()[0]?.['msg']).toBe('still logged');

    const broken = createLogger({
      write: () => {
        throw new Error('EPIPE');
      },
    });
    expect(() => broken.error('nowhere to go')).not.toThrow();
  });
});

describe('parseLevel', () => {
  it('accepts the four levels in any case and surrounding space', () => {
    expect(parseLevel('debug')).toBe('debug');
    expect(parseLevel('INFO')).toBe('info');
    expect(parseLevel(' Warn ')).toBe('warn');
    expect(parseLevel('error')).toBe('error');
  });

  it('refuses anything else with a clear error', () => {
    let caught: unknown;
    try {
      parseLevel('verbose');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(LogConfigError);
    expect((caught as LogConfigError).kind).toBe('invalid-level');
    expect((caught as LogConfigError).message).toBe(
      'log level "verbose" is not one of debug, info, warn, error',
    );
    expect(() => parseLevel('')).toThrow(LogConfigError);
    expect(() => createLogger({ level: 'trace' as Level })).toThrow(/"trace"/);
  });
});

describe('identifiers and event callbacks', () => {
  it('keeps fields named as identifiers, but still cleans what they hold', () => {
    const { log, records } = capture({ identifiers: ['keys'] });
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    log.info('ready', {
      keys: [{ alias: 'db', kid: 'https://v/keys/db/1', jwk: privateKey.export({ format: 'jwk' }) }],
      key: 'db',
    });
    const r = records()[0] as { keys: { alias: string; jwk: Record<string, unknown> }[]; key: string };
    expect(r.keys[0]).toMatchObject({ alias: 'db', kid: 'https://v/keys/db/1', jwk: { d: '[redacted]' } });
    expect(r.key).toBe('[redacted]'); // only the names given
  });

  it('logEvents writes each event as a line at its level, with a default message', () => {
    const { log, records } = capture();
    const events = logEvents(log, 'request');
    events({ sim: 'vault', method: 'GET', status: 200 });
    events({ msg: 'node agent not ready; retrying', attempt: 2 });
    events({ msg: 'release failed', level: 'error', key: 'db' });
    events({ level: 'loud', token: 'eyJ.x.y' });
    expect(records()).toEqual([
      { time: NOW.toISOString(), level: 'info', msg: 'request', sim: 'vault', method: 'GET', status: 200 },
      { time: NOW.toISOString(), level: 'info', msg: 'node agent not ready; retrying', attempt: 2 },
      { time: NOW.toISOString(), level: 'error', msg: 'release failed', key: '[redacted]' },
      { time: NOW.toISOString(), level: 'info', msg: 'request', token: '[redacted]' },
    ]);
  });
});
