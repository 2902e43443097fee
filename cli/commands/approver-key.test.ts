import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli as run } from '../../test/support/cli.ts';
import { parse } from 'yaml';
import { approverKeyId, checkApprovals, judgeApprovals, signApproval } from '../../core/approval/index.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'sk-approver-key-'));
const NOW = new Date();
const DIGEST = 'cd'.repeat(32);

describe('securekey approver-key', () => {
  it.each([
    ['p256', 'EC', 'P-256'],
    ['p384', 'EC', 'P-384'],
    ['ed25519', 'OKP', 'Ed25519'],
    ['rsa', 'RSA', undefined],
  ])(
    '--type %s: a 0600 private JWK, and an approvers entry whose key verifies its signatures',
    async (type, kty, crv) => {
      const out = path.join(dir, `ci-${type}.jwk`);
      const r = await run('approver-key', '--out', out, '--type', type);
      expect(r.code).toBe(0);
      expect(statSync(out).mode & 0o777).toBe(0o600);
      const priv = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
      expect(priv).toMatchObject({ kty, d: expect.any(String) as string });
      const [entry] = parse(r.out) as Array<{ name: string; publicKey: Record<string, unknown> }>;
      expect(entry!.name).toBe(`ci-${type}`); // from the file name
      expect(entry!.publicKey).toMatchObject(crv === undefined ? { kty } : { kty, crv });
      expect(entry!.publicKey['d']).toBeUndefined();
      expect(entry!.publicKey['kid']).toBe(approverKeyId(entry!.publicKey));
      expect(r.out).toContain(`key id ${String(entry!.publicKey['kid'])}`);
      expect(r.err).not.toContain(String(priv['d']));

      const jws = await signApproval(
        { namespace: 'shop', secureKeys: ['db-key'], scheme: 'kata-agent-policy', digest: DIGEST, iat: 1 },
        priv,
      );
      const verdict = judgeApprovals(await checkApprovals(jws, [entry!]), {
        namespace: 'shop',
        secureKey: 'db-key',
        scheme: 'kata-agent-policy',
        digest: DIGEST,
        now: NOW,
      });
      expect(verdict).toEqual({ approved: true, approver: `ci-${type}` });
    },
  );

  it('keeps an existing file unless --force, and then writes it 0600 whatever its mode was', async () => {
    const out = path.join(dir, 'signer.jwk');
    writeFileSync(out, 'old', { mode: 0o644 });
    const kept = await run('approver-key', '--out', out, '--name', 'release-team');
    expect(kept.code).toBe(2);
    expect(kept.err).toMatch(/signer\.jwk exists; pass --force/);
    expect(readFileSync(out, 'utf8')).toBe('old');

    const r = await run('approver-key', '--out', out, '--name', 'release-team', '--force');
    expect(r.code).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect((parse(r.out) as Array<{ name: string }>)[0]!.name).toBe('release-team');
  });

  it('explains usage mistakes', async () => {
    expect((await run('approver-key')).err).toMatch(/needs --out <file>/);
    expect((await run('approver-key', '--out', '-')).code).toBe(2);
    const bad = await run('approver-key', '--out', path.join(dir, 'x.jwk'), '--type', 'dsa');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--type must be one of p256, p384, ed25519, rsa/);
    const long = await run('approver-key', '--out', path.join(dir, 'y.jwk'), '--name', 'n'.repeat(64));
    expect(long.err).toMatch(/1 to 63 characters/);
  });
});
