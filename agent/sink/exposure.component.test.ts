/**
 * The agent refuses an output directory on a disk and excludes its memory from core dumps, in-process
 * and as the process main.ts starts (before it attests or holds a key). Linux: /dev/shm is tmpfs, the
 * checkout is on a disk.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AgentError } from '../errors.ts';
import { assertOutputInMemory, excludeMemoryFromCoreDumps, TMPFS_MAGIC } from './exposure.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const onDisk = path.join(repoRoot, 'agent');

/** An AgentError with these fields. */
const agentError = (fields: Partial<AgentError>) =>
  expect.objectContaining({ ...fields, constructor: AgentError }) as unknown as AgentError;

describe('the output directory must be in memory', () => {
  it('the fixtures: /dev/shm is tmpfs, the checkout is not', () => {
    expect(fs.statfsSync('/dev/shm').type).toBe(TMPFS_MAGIC);
    expect(fs.statfsSync(onDisk).type).not.toBe(TMPFS_MAGIC);
  });

  it('accepts tmpfs, and a directory not yet created below it', () => {
    expect(() => assertOutputInMemory('/dev/shm', { allowDiskOutput: false })).not.toThrow();
    const fresh = `/dev/shm/securekey-${crypto.randomUUID()}/keys`;
    expect(() => assertOutputInMemory(fresh, { allowDiskOutput: false })).not.toThrow();
  });

  it('refuses a directory on a disk, naming it, unless the escape hatch is on', () => {
    expect(() => assertOutputInMemory(onDisk, { allowDiskOutput: false })).toThrow(
      agentError({ kind: 'output-on-disk', endpoint: onDisk, message: expect.stringContaining(onDisk) }),
    );
    const below = path.join(onDisk, 'not-yet', 'keys');
    expect(() => assertOutputInMemory(below, { allowDiskOutput: false })).toThrow(
      agentError({ kind: 'output-on-disk', endpoint: below }),
    );
    expect(() => assertOutputInMemory(onDisk, { allowDiskOutput: true })).not.toThrow();
  });
});

describe('core dumps hold no memory', () => {
  it('clears every bit of the process’s coredump_filter (the kernel’s default keeps anonymous memory)', () => {
    const script =
      "const fs=require('node:fs');const before=fs.readFileSync('/proc/self/coredump_filter','utf8').trim();" +
      "const {excludeMemoryFromCoreDumps}=require('./agent/sink/exposure.ts');" +
      'const done=excludeMemoryFromCoreDumps();' +
      "console.log(JSON.stringify({before,done,after:fs.readFileSync('/proc/self/coredump_filter','utf8').trim()}))";
    const run = spawnSync(process.execPath, ['-e', script], { cwd: repoRoot, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    const { before, done, after } = JSON.parse(run.stdout) as {
      before: string;
      done: boolean;
      after: string;
    };
    expect(Number.parseInt(before, 16) & 0b1).toBe(1);
    expect(done).toBe(true);
    expect(Number.parseInt(after, 16)).toBe(0);
  });

  it('reports a kernel without the file, and refuses any other failure', () => {
    expect(excludeMemoryFromCoreDumps('/proc/self/no-such-file')).toBe(false);
    expect(() => excludeMemoryFromCoreDumps('/proc/self')).toThrow(
      agentError({ kind: 'core-dumps-enabled', endpoint: '/proc/self' }),
    );
  });
});

describe('the agent process', () => {
  const env = {
    PATH: process.env['PATH'],
    SECUREKEY_VAULT_URL: 'https://vault.invalid',
    SECUREKEY_ATTESTATION_URL: 'https://maa.invalid',
    SECUREKEY_KEYS: 'db=db-key',
    AZURE_TENANT_ID: 'tenant',
    AZURE_CLIENT_ID: 'client',
    AZURE_FEDERATED_TOKEN_FILE: '/nonexistent/token',
    SECUREKEY_TIMEOUT: '1s',
  };
  const agent = (outputDir: string) =>
    spawnSync(process.execPath, [path.join(repoRoot, 'agent/main.ts'), 'init'], {
      env: { ...env, SECUREKEY_OUTPUT_DIR: outputDir },
      encoding: 'utf8',
      timeout: 30_000,
    });

  it('refuses an output directory on a disk before it starts', () => {
    const run = agent(onDisk);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('"kind":"output-on-disk"');
    expect(run.stderr).not.toContain('"msg":"starting"');
  });

  it('on tmpfs it starts with core dumps excluded (and fails later, here at its evidence)', () => {
    const run = agent(`/dev/shm/securekey-${crypto.randomUUID()}`);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('"coreDumpsExcluded":true');
  });
});
