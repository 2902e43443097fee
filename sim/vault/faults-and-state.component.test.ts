import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unwrapKeyHsm } from '../../core/keywrap/key-hsm.ts';
import { decodeJwt } from '../common/jwt/jwt.ts';
import { httpsRequest } from '../../test/support/https-request.ts';
import { rejection, startWorld } from '../../test/support/sim/vault-world.ts';
import type { World } from '../../test/support/sim/vault-world.ts';

let world: World;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vault-sim-'));

beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => {
  await world?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function releasedPlaintext(value: string): Buffer {
  const key = (decodeJwt(value).payload['response'] as { key: { key: { key_hsm: string } } }).key.key.key_hsm;
  return unwrapKeyHsm(key, world.runtime.privateKey);
}

describe('fault injection', () => {
  it('throttles with 429 and Retry-After; the real client waits and succeeds', async () => {
    const kv = await world.startVault({ name: 'kv-throttled' });
    const officer = world.client(kv, 'officer', {
      maxRetries: 2,
      retryDelayInMs: 50,
      maxRetryDelayInMs: 100,
    });
    await officer.createRsaKey('k1', { hsm: true });
    kv.faults.plan = { throttle: { count: 1, retryAfterSeconds: 1 }, match: /^GET \/keys\/k1\// };
    const started = Date.now();
    expect((await officer.getKey('k1')).name).toBe('k1');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(kv.stats.count('getKey', 429)).toBe(1);
    expect(kv.stats.count('getKey', 200)).toBe(1);
    expect(kv.inspect().injected.throttled).toBe(1);
  });

  it('fails with 503 while an outage lasts, and the client sees a RestError', async () => {
    const kv = await world.startVault({ name: 'kv-outage' });
    const officer = world.client(kv, 'officer');
    await officer.createRsaKey('k1', { hsm: true });
    kv.faults.plan = { outage: { count: 1, status: 503 } };
    expect(await rejection(officer.getKey('k1'))).toMatchObject({
      statusCode: 503,
      code: 'ServiceUnavailable',
    });
    expect((await officer.getKey('k1')).name).toBe('k1');
  });

  it('takes fault plans over HTTP only with the admin token', async () => {
    const kv = await world.startVault({ name: 'kv-admin', adminToken: 'let-me-in' });
    const officer = world.client(kv, 'officer');
    await officer.createRsaKey('k1', { hsm: true });
    const put = (token: string) =>
      httpsRequest(`${kv.url}/_simulator/faults`, {
        caPem: world.ca.certPem,
        method: 'PUT',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ outage: { count: 1, status: 500 }, match: '^GET /keys/k1/' }),
      });
    expect((await put('guess')).status).toBe(403);
    expect((await put('let-me-in')).status).toBe(200);
    expect(await rejection(officer.getKey('k1'))).toMatchObject({ statusCode: 500 });
    const stats = await httpsRequest(`${kv.url}/_simulator/stats`, { caPem: world.ca.certPem });
    expect(stats.json).toMatchObject({ calls: { getKey: { '500': 1 } }, injected: { failed: 1 } });
  });

  it('gives key fingerprints (SHA-256 of each version, never the material) only with the admin token', async () => {
    const kv = await world.startVault({ name: 'kv-prints', adminToken: 'let-me-in' });
    const officer = world.client(kv, 'officer');
    await officer.createRsaKey('k1', { hsm: true });
    await officer.rotateKey('k1');
    const get = (token: string, name = 'k1') =>
      httpsRequest(`${kv.url}/_simulator/keys/${name}/fingerprints`, {
        caPem: world.ca.certPem,
        headers: { authorization: `Bearer ${token}` },
      });
    expect((await get('guess')).status).toBe(403);
    expect((await get('let-me-in', 'nope')).status).toBe(404);
    const byHeader = (token: string) =>
      httpsRequest(`${kv.url}/_simulator/keys/k1/fingerprints`, {
        caPem: world.ca.certPem,
        headers: { 'x-simulator-admin-token': token },
      });
    expect((await byHeader('guess')).status).toBe(403);
    expect((await byHeader('let-me-in')).status).toBe(200);
    const answer = await get('let-me-in');
    const stored = kv.service.snapshot().keys['k1']!.versions;
    const expected = stored.map((v) => ({
      version: v.version,
      sha256: crypto.createHash('sha256').update(Buffer.from(v.material, 'base64')).digest('hex'),
    }));
    expect(answer.json).toEqual({ name: 'k1', deleted: false, versions: expected });
    expect(expected).toHaveLength(2);
    expect(answer.text).not.toContain(stored[0]!.material.slice(0, 40));
  });

  it('counts writes, and reads cost none', async () => {
    const kv = await world.startVault({ name: 'kv-writes' });
    const officer = world.client(kv, 'officer');
    await officer.createKey('k1', 'RSA-HSM', { exportable: true, releasePolicy: world.policy() });
    const before = kv.inspect().totalWrites;
    await officer.getKey('k1');
    for await (const _ of officer.listPropertiesOfKeyVersions('k1')) void _;
    expect(kv.inspect().totalWrites).toBe(before);
    await officer.updateKeyProperties('k1', { tags: { a: 'b' } });
    expect(kv.inspect()).toMatchObject({ totalWrites: before + 1, writes: { createKey: 1, updateKey: 1 } });
  });
});

describe('file-backed state', () => {
  it('survives a restart with nothing lost, in a 0600 file', async () => {
    const statePath = path.join(tmp, 'hsm.json');
    const first = await world.startVault({ name: 'hsm-durable', flavour: 'managedhsm', statePath });
    const port = Number(new URL(first.url).port);
    const officer = world.client(first, 'officer');
    const created = await officer.createKey('aes', 'oct-HSM', {
      keySize: 128,
      exportable: true,
      releasePolicy: world.policy(),
    });
    await officer.createKey('gone', 'EC-HSM', {});
    await (await officer.beginDeleteKey('gone', { intervalInMs: 20 })).pollUntilDone();
    const before = releasedPlaintext(
      (await world.client(first, 'releaser').releaseKey('aes', world.attestationToken())).value,
    );
    expect(fs.statSync(statePath).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(tmp)).toEqual(['hsm.json']); // no temporary files left behind
    await first.close();

    const second = await world.startVault({ name: 'hsm-durable', flavour: 'managedhsm', statePath, port });
    expect(second.url).toBe(first.url);
    const again = await world.client(second, 'officer').getKey('aes');
    expect(again.id).toBe(created.id);
    expect(again.properties.releasePolicy?.encodedPolicy).toEqual(
      created.properties.releasePolicy?.encodedPolicy,
    );
    expect((await world.client(second, 'officer').getDeletedKey('gone')).name).toBe('gone');
    const after = releasedPlaintext(
      (await world.client(second, 'releaser').releaseKey('aes', world.attestationToken())).value,
    );
    expect(after.equals(before)).toBe(true);
    expect(after).toHaveLength(16);
  });

  it('refuses to load a state file of the other flavour', async () => {
    const statePath = path.join(tmp, 'kv.json');
    const kv = await world.startVault({ name: 'kv-durable', statePath });
    await world.client(kv, 'officer').createRsaKey('k', { hsm: true });
    await kv.close();
    await expect(world.startVault({ name: 'kv-durable', flavour: 'managedhsm', statePath })).rejects.toThrow(
      /not a managedhsm/,
    );
  });
});
