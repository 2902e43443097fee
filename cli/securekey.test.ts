import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli as run } from '../test/support/cli.ts';
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { repoRoot } from '../scripts/cluster/paths.ts';
import { testdata } from '../test/support/paths.ts';

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

  it('takes the VCEK and the ASK/ARK bundle as DER too, and prints no field the report lacks', async () => {
    const thim = JSON.parse(readFileSync(testdata('snp-real/thim-certs.json'), 'utf8')) as {
      vcekCert: string;
      certificateChain: string;
    };
    const dir = mkdtempSync(path.join(tmpdir(), 'sk-cli-'));
    const [ask, ark] = thim.certificateChain
      .split(/(?<=-----END CERTIFICATE-----\n?)/)
      .filter((p) => p.trim());
    writeFileSync(path.join(dir, 'vcek.der'), new X509Certificate(thim.vcekCert).raw);
    writeFileSync(
      path.join(dir, 'chain.der'),
      Buffer.concat([new X509Certificate(ask!).raw, new X509Certificate(ark!).raw]),
    );
    const args = ['report', testdata('snp-real/report.bin'), '--vcek', path.join(dir, 'vcek.der')];
    const r = await run(...args, '--chain', path.join(dir, 'chain.der'));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^genuine +true$/m);
    expect(r.out).toMatch(/^product +Milan$/m);
    expect(r.out).not.toMatch(/undefined/); // a version-2 report has no CPUID fields
    // One certificate short is refused by name.
    writeFileSync(path.join(dir, 'ask.der'), new X509Certificate(ask!).raw);
    const short = await run(...args, '--chain', path.join(dir, 'ask.der'));
    expect(short.code).toBe(1);
    expect(short.err).toMatch(/the ASK\/ARK bundle holds 1 certificates, expected 2/);
    // A VCEK file that holds two certificates is refused too.
    const two = await run(
      'report',
      testdata('snp-real/report.bin'),
      '--vcek',
      path.join(dir, 'chain.der'),
      '--chain',
      path.join(dir, 'chain.der'),
    );
    expect(two.err).toMatch(/VCEK: expected one certificate, found 2/);
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

  it('lists adopt in its help, explains it, and refuses it without a namespace/name', async () => {
    expect((await run('--help')).out).toMatch(/^ {2}adopt +hand an existing vault key to a SecureKey/m);
    const help = await run('adopt', '--help');
    expect(help.out).toContain('securekey adopt --securekey <namespace>/<name>');
    expect(help.out).toContain('YOUR Azure identity');
    const bad = await run('adopt', '--securekey', 'only-a-name');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/adopt needs --securekey <namespace>\/<name>/);
  });
});
