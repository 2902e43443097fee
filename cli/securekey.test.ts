import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { repoRoot, testdata } from '../test/support/paths.ts';
import { main } from './securekey.ts';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

describe('securekey CLI', () => {
  it('prints the digest of the example pod, which is the real report HOST_DATA', async () => {
    const r = await run('digest', '-f', path.join(repoRoot, 'examples/pod.yaml'), '-o', 'json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual([
      expect.objectContaining({
        owner: 'Pod/db',
        scheme: 'kata-agent-policy',
        digest: 'cadd74f71ebb8fbf9782baab649612520f3c416bc5ce9ac768808ddc8d9b031c',
      }),
    ]);
  });

  it('reports bad annotations per template and exits non-zero', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sk-cli-'));
    const file = path.join(dir, 'm.yaml');
    writeFileSync(
      file,
      [
        'kind: Deployment',
        'metadata: {name: web}',
        'spec: {template: {metadata: {annotations: {io.katacontainers.config.agent.policy: "not base64!"}}}}',
        '---',
        'kind: Pod',
        'metadata: {name: plain}',
      ].join('\n'),
    );
    const r = await run('digest', '-f', file);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(
      /Deployment\/web .*error: annotation io\.katacontainers\.config\.agent\.policy: not valid/,
    );
    expect(r.out).toMatch(/Pod\/plain .*no policy annotation/);
  });

  it('verifies the real Milan report up to the pinned AMD root', async () => {
    const r = await run(
      'report',
      testdata('snp-real/report.bin'),
      '--thim',
      testdata('snp-real/thim-certs.json'),
      '-o',
      'json',
    );
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out) as Record<string, unknown>;
    expect(out).toMatchObject({
      genuine: true,
      product: 'Milan',
      hostData: 'cadd74f71ebb8fbf9782baab649612520f3c416bc5ce9ac768808ddc8d9b031c',
      tcb: { blSpl: 3, teeSpl: 0, snpSpl: 8, ucodeSpl: 115 },
    });
  });

  it('refuses a tampered report and says why', async () => {
    const bytes = readFileSync(testdata('snp-real/report.bin'));
    bytes.writeUInt8(bytes.readUInt8(0xc0) ^ 1, 0xc0); // a bit of HOST_DATA
    const dir = mkdtempSync(path.join(tmpdir(), 'sk-cli-'));
    writeFileSync(path.join(dir, 'r.bin'), bytes);
    const r = await run('report', path.join(dir, 'r.bin'), '--thim', testdata('snp-real/thim-certs.json'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/signature-invalid/);
    expect(r.out).toBe('');
  });

  it('explains usage mistakes', async () => {
    expect((await run('digest')).code).toBe(2);
    const bad = await run('digest', '-f', 'x', '--scheme', 'tdx');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--scheme must be one of/);
    const unknown = await run('frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/unknown command "frobnicate"/);
  });
});
