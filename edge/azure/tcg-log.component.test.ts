/** readTcgLog: the node's event log read whole, and a clear error when there is none to read. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AzureGuestError } from '../../core/azure-guest/index.ts';
import { readTcgLog, TCG_LOG_MAX_BYTES } from './azure-guest-client.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'securekey-tcg-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function refusal(file: string): Promise<AzureGuestError> {
  const err = await readTcgLog(file).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(AzureGuestError);
  expect((err as AzureGuestError).kind).toBe('tcg-log-unreadable');
  return err as AzureGuestError;
}

describe('readTcgLog', () => {
  it('reads the whole file, beyond one read’s chunk', async () => {
    const log = Buffer.alloc(150_000, 7);
    writeFileSync(path.join(dir, 'log'), log);
    expect(await readTcgLog(path.join(dir, 'log'))).toEqual(log);
  });

  it('a missing log is an error naming the path and what to mount, not an empty log', async () => {
    const err = await refusal(path.join(dir, 'missing'));
    expect(err.message).toBe(`the TCG event log ${path.join(dir, 'missing')} cannot be opened (ENOENT)`);
    expect(err.hint).toContain('/sys/kernel/security');
  });

  it('an empty, oversized or unreadable log is refused too', async () => {
    writeFileSync(path.join(dir, 'empty'), '');
    expect((await refusal(path.join(dir, 'empty'))).message).toMatch(/is empty$/);
    writeFileSync(path.join(dir, 'big'), Buffer.alloc(TCG_LOG_MAX_BYTES + 1));
    expect((await refusal(path.join(dir, 'big'))).message).toMatch(/is over 1048576 bytes$/);
    expect((await refusal(dir)).message).toMatch(/cannot be read \(EISDIR\)$/);
  });
});
