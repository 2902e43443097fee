import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { isLoopbackName, loopbackLookup } from './loopback-lookup.ts';

function lookup(
  hostname: string,
  options: Parameters<typeof loopbackLookup>[1],
): Promise<string | LookupAddress[]> {
  return new Promise((resolve, reject) => {
    loopbackLookup(hostname, options, (err, address) => (err === null ? resolve(address) : reject(err)));
  });
}

describe('loopbackLookup (RFC 6761 §6.3)', () => {
  it.each([
    ['localhost', true],
    ['kv1.vault.localhost', true],
    ['KV1.Vault.LOCALHOST.', true],
    ['vault.azure.net', false],
    ['localhost.example.com', false],
    ['notlocalhost', false],
  ])('%s is a loopback name: %s', (name, expected) => {
    expect(isLoopbackName(name)).toBe(expected);
  });

  it('answers .localhost names with loopback for each family and for all: true', async () => {
    expect(await lookup('kv1.vault.localhost', {})).toBe('127.0.0.1');
    expect(await lookup('kv1.vault.localhost', { family: 6 })).toBe('::1');
    expect(await lookup('kv1.vault.localhost', { all: true })).toEqual([
      { address: '127.0.0.1', family: 4 },
      { address: '::1', family: 6 },
    ]);
    expect(await lookup('kv1.vault.localhost', { all: true, family: 4 })).toEqual([
      { address: '127.0.0.1', family: 4 },
    ]);
  });

  it('passes other names to the system resolver', async () => {
    expect(await lookup('127.0.0.1', {})).toBe('127.0.0.1');
    await expect(lookup('no-such-host.invalid', {})).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });
});
