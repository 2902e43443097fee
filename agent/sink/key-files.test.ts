/**
 * The key files' modes and group (ADR 21): 0400 by default, 0440 when the app reads through the files'
 * group, which the file takes from a setgid directory (what the kubelet makes of an emptyDir when the
 * pod has an fsGroup) without the agent calling chown.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { keyMaterialFromPlaintext } from '../../core/keys/key-material.ts';
import { writeKeys, type SinkKey } from './key-files.ts';

const root = fs.mkdtempSync('/dev/shm/securekey-sink-');
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const key = (dir: string, alias: string): SinkKey => ({
  spec: { alias, path: path.join(dir, alias), format: 'raw' },
  material: keyMaterialFromPlaintext(crypto.randomBytes(32), 'oct-HSM'),
  keyOps: [],
  kid: `https://kv.vault.azure.net/keys/${alias}/1`,
});
const modeOf = (file: string) => fs.statSync(file).mode & 0o7777;

describe('key files', () => {
  it('0400 by default, 0440 when asked; the readiness marker 0444', async () => {
    const dir = path.join(root, 'modes');
    await writeKeys([key(dir, 'db')], { readyFile: path.join(dir, '.ready') });
    expect(modeOf(path.join(dir, 'db'))).toBe(0o400);
    expect(modeOf(path.join(dir, '.ready'))).toBe(0o444);
    await writeKeys([key(dir, 'db'), key(dir, 'tls')], {
      readyFile: path.join(dir, '.ready'),
      fileMode: '0440',
    });
    expect(modeOf(path.join(dir, 'db'))).toBe(0o440);
    expect(modeOf(path.join(dir, 'tls'))).toBe(0o440);
  });

  it('in a setgid directory a 0440 file takes the directory’s group, not the writer’s', async () => {
    // As root (CI, the e2e host) the directory gets a group the writer is not in, as an fsGroup would be.
    const group = process.getuid?.() === 0 ? 4242 : process.getgid!();
    const dir = path.join(root, 'fsgroup');
    fs.mkdirSync(dir);
    fs.chownSync(dir, process.getuid!(), group);
    fs.chmodSync(dir, 0o2777);
    await writeKeys([key(path.join(dir, 'sub'), 'db')], {
      readyFile: path.join(dir, '.ready'),
      fileMode: '0440',
    });
    const file = fs.statSync(path.join(dir, 'sub', 'db'));
    expect(file.gid).toBe(group);
    expect(file.uid).toBe(process.getuid!());
    expect(file.mode & 0o7777).toBe(0o440);
  });
});
