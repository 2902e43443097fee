/**
 * The SKR sidecar's local API, served by the native sidecar against the sandbox, with request bodies as
 * the sidecar's README and its example clients (docker/skr/tests/*.sh) send them.
 */
import crypto from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseReport } from '../../core/snp/index.ts';
import { parseAgentConfig } from '../config.ts';
import { startSidecar } from '../sidecar.ts';
import { startAgentWorld, type AgentWorld } from '../../test/support/agent/world.ts';
import { eventually } from '../../scripts/cluster/eventually.ts';

let world: AgentWorld;
let sidecar: Awaited<ReturnType<typeof startSidecar>>;
let base: string;
let maa: string;
let akv: string;

beforeAll(async () => {
  world = await startAgentWorld();
  const config = parseAgentConfig(
    ['sidecar', '--probe-port', '0', '--skr-api-port', '0'],
    world.env({ SECUREKEY_OUTPUT_DIR: world.outputDir('skr'), SECUREKEY_KEYS: 'db=oct-key,tls=rsa-key' }),
  );
  sidecar = await startSidecar(config, { host: '127.0.0.1' });
  base = `http://127.0.0.1:${sidecar.skrApi!.addresses[0]!.port}`;
  maa = new URL(world.sb.maa.issuer).host;
  akv = new URL(world.sb.vault.url).host;
  await eventually(() => sidecar.ready(), 30_000, 'the sidecar ready');
}, 60_000);
afterAll(async () => {
  await sidecar?.stop();
  await world?.close();
});

async function post(route: string, body: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${base}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const releases = () => world.sb.vault.stats.count('releaseKey', 200);

describe('the SKR API', () => {
  it('GET /status answers as the sidecar does', async () => {
    const res = await fetch(`${base}/status`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ message: 'Status OK' });
  });

  it('POST /key/release: the key as a JWK in a JSON string, from the sidecar’s verified release', async () => {
    const before = releases();
    // skr_client.sh's body, byte for byte in form.
    const oct = await post(
      '/key/release',
      `{"maa_endpoint": "${maa}", "akv_endpoint": "${akv}", "kid": "oct-key"}`,
    );
    expect(oct.status).toBe(200);
    expect(Object.keys(oct.json)).toEqual(['key']);
    expect(typeof oct.json['key']).toBe('string');
    expect(oct.json['key']).toMatch(/^\{"k":"[^"]+","key_ops":\[[^\]]*\],"kty":"oct"\}$/);
    const jwk = JSON.parse(oct.json['key'] as string) as Record<string, unknown>;
    expect(Buffer.from(jwk['k'] as string, 'base64url').equals(world.material.oct.export())).toBe(true);
    expect(jwk['key_ops']).toEqual(world.keyOps.oct);

    // The README's body, with the optional access token (the agent releases with its own identity).
    const rsa = await post(
      '/key/release',
      JSON.stringify({ maa_endpoint: maa, akv_endpoint: akv, kid: 'rsa-key', access_token: 'ignored' }),
    );
    expect(rsa.status).toBe(200);
    const rsaJwk = JSON.parse(rsa.json['key'] as string) as Record<string, string>;
    const want = world.material.rsa.export({ format: 'jwk' });
    for (const member of ['n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi'])
      expect(rsaJwk[member]).toBe(want[member]);
    expect(rsaJwk['kty']).toBe('RSA');
    // Answered from the release the sidecar made: no request reached the vault.
    expect(releases()).toBe(before);
  });

  it('refuses with 403 every key the pod’s SecureKeys do not name, and 400 a body without a kid', async () => {
    const before = releases();
    for (const body of [
      { maa_endpoint: maa, akv_endpoint: akv, kid: 'ec-key' }, // in the vault, not the pod's
      { maa_endpoint: maa, akv_endpoint: 'other.vault.azure.net', kid: 'oct-key' },
      { maa_endpoint: 'sharedeus.eus.attest.azure.net', akv_endpoint: akv, kid: 'oct-key' },
      { maa_endpoint: maa, akv_endpoint: akv, kid: 'oct-key/0123456789abcdef' }, // a version it does not hold
    ]) {
      const r = await post('/key/release', JSON.stringify(body));
      expect(r.status).toBe(403);
      expect(r.json).toEqual({ error: expect.stringMatching(/^secure key release failed: /) as unknown });
    }
    const missing = await post('/key/release', `{"maa_endpoint": "${maa}", "akv_endpoint": "${akv}"}`);
    expect(missing.status).toBe(400);
    expect(missing.json).toEqual({ error: 'invalid request format: kid is required' });
    expect((await post('/key/release', 'kid=oct-key')).status).toBe(400);
    expect(releases()).toBe(before);
  });

  it('POST /attest/raw: a report whose REPORT_DATA is sha256(runtime_data) ‖ 0³²', async () => {
    const data = Buffer.from('{"nonce":"raw-1"}');
    const r = await post('/attest/raw', `{"runtime_data": "${data.toString('base64')}"}`);
    expect(r.status).toBe(200);
    const report = parseReport(Buffer.from(r.json['report'] as string, 'hex'));
    const digest = crypto.createHash('sha256').update(data).digest();
    expect(report.reportData.equals(Buffer.concat([digest, Buffer.alloc(32)]))).toBe(true);
    // Strict standard base64, as Go's StdEncoding: the URL alphabet and missing padding are refused.
    const bad = await post('/attest/raw', '{"runtime_data": "eyJub25jZSI6InJhdy0xIn0"}');
    expect(bad.status).toBe(400);
    expect(bad.json['error']).toMatch(/^decoding base64-encoded runtime data of request failed/);
  });

  it('POST /attest/maa: a token carrying the caller’s runtime data, from the pod’s authority only', async () => {
    const data = Buffer.from('{"nonce":"maa-1"}');
    const r = await post(
      '/attest/maa',
      `{"maa_endpoint": "${maa}", "runtime_data": "${data.toString('base64')}"}`,
    );
    expect(r.status).toBe(200);
    const claims = JSON.parse(
      Buffer.from((r.json['token'] as string).split('.')[1]!, 'base64url').toString('utf8'),
    ) as Record<string, unknown>;
    expect(claims['x-ms-runtime']).toEqual({ nonce: 'maa-1' });
    // With the UVM endorsement, as the agent's own attestation: the token says the UVM is compliant.
    expect(claims['x-ms-compliance-status']).toBeDefined();
    const other = await post(
      '/attest/maa',
      `{"maa_endpoint": "sharedeus.eus.attest.azure.net", "runtime_data": "${data.toString('base64')}"}`,
    );
    expect(other.status).toBe(403);
    expect(other.json['error']).toMatch(/not an attestation authority of this pod/);
  });

  it('listens on the loopback addresses only, and answers other routes 404', async () => {
    for (const a of sidecar.skrApi!.addresses) expect(['127.0.0.1', '::1']).toContain(a.address);
    const port = sidecar.skrApi!.addresses[0]!.port;
    const external = Object.values(networkInterfaces())
      .flat()
      .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal);
    if (external !== undefined) {
      await expect(fetch(`http://${external.address}:${port}/status`)).rejects.toThrow();
    }
    const res = await fetch(`${base}/key/release`);
    expect(res.status).toBe(404);
    expect(await res.text()).toBe('404 page not found');
  });
});
