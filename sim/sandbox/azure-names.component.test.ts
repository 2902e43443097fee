/**
 * The sandbox under Azure's names (ADR 49): what a client that hard-codes login.microsoftonline.com and
 * the audience https://managedhsm.azure.net sees — certificates naming those hosts from the sandbox CA,
 * Entra tokens for Azure's audience, and a vault that accepts them. Names resolve as a hosts file would
 * make them; ports are ephemeral here (443 needs privileges).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AZURE_NAMES, startSandbox, type Sandbox } from './sandbox.ts';

let sb: Sandbox;
let dir = '';
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'sandbox-azure-names-'));
  sb = await startSandbox({ dir, azureNames: { port: 0 } });
});
afterAll(async () => {
  await sb?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A hosts file: Azure's names to the sandbox's loopback addresses, and nothing else. */
const hosts: LookupFunction = (hostname, options, callback) => {
  const address = {
    [AZURE_NAMES.vault]: AZURE_NAMES.vaultAddress,
    [AZURE_NAMES.entra]: AZURE_NAMES.entraAddress,
  }[hostname];
  if (address === undefined) return callback(new Error(`not in the hosts file: ${hostname}`), '', 4);
  if (options.all)
    return (callback as never as (e: null, a: { address: string; family: number }[]) => void)(null, [
      { address, family: 4 },
    ]);
  callback(null, address, 4);
};

function request(
  url: string,
  o: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: o.method ?? 'GET',
        headers: o.headers ?? {},
        lookup: hosts,
        ca: readFileSync(sb.caFile, 'utf8'),
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

describe('the sandbox under Azure’s names', () => {
  it('the vault is https://sandbox.managedhsm.azure.net, challenging for Azure’s audience', async () => {
    expect(new URL(sb.vault.url).hostname).toBe(AZURE_NAMES.vault);
    expect(new URL(sb.entra.url).hostname).toBe(AZURE_NAMES.entra);
    const r = await request(`${sb.vault.url}/keys/anything?api-version=7.4`);
    expect(r.status).toBe(401);
    expect(String(r.headers['www-authenticate'])).toContain('resource="https://managedhsm.azure.net"');
    expect(String(r.headers['www-authenticate'])).toContain(`authorization="${sb.entra.url}/`);
  });

  it('Entra at login.microsoftonline.com issues a token for https://managedhsm.azure.net the vault accepts', async () => {
    const agent = sb.env('agent');
    const form = new URLSearchParams({
      client_id: agent['AZURE_CLIENT_ID']!,
      scope: `${AZURE_NAMES.vaultResource}/.default`,
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: readFileSync(agent['AZURE_FEDERATED_TOKEN_FILE']!, 'utf8').trim(),
    }).toString();
    const t = await request(`${sb.entra.url}/${agent['AZURE_TENANT_ID']}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form,
    });
    expect(t.status).toBe(200);
    const token = (JSON.parse(t.text) as { access_token: string }).access_token;
    expect(decodeJwt(token).aud).toBe(AZURE_NAMES.vaultResource);
    // The agent's identity may release, not read: 403 means the token was accepted.
    const r = await request(`${sb.vault.url}/keys/anything?api-version=7.4`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(r.status).toBe(403);
  });

  it('a client that does not trust the sandbox CA cannot complete TLS with these names', async () => {
    const err = await new Promise<Error>((resolve) => {
      https
        .get(`${sb.vault.url}/keys/x?api-version=7.4`, { lookup: hosts }, () =>
          resolve(new Error('answered')),
        )
        .on('error', resolve);
    });
    expect(err.message).toMatch(/self[- ]signed|unable to (get|verify)|certificate/i);
  });
});
