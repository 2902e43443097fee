/**
 * A complete simulated Azure for tests: a simulator CA, Entra ID with three workload identities
 * (officer, release user, stranger) federated to a test service-account issuer, a test attestation
 * issuer (MAA stand-in: OIDC metadata and an x5c-only JWKS), and vaults of either flavour. Clients are
 * the real SDK ones from edge/azure, with the challenge-resource check left on.
 */
import crypto from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { TokenCredential } from '@azure/identity';
import type { KeyClient, KeyReleasePolicy } from '@azure/keyvault-keys';
import { clientAssertionCredential, keyClientFor } from '../../../edge/azure/index.ts';
import type { RetryOptions } from '../../../edge/azure/index.ts';
import { buildPolicy, serializePolicy } from '../../../core/policy/index.ts';
import { runtimeKeyJwks } from '../../../core/runtime-data/runtime-key-jwks.ts';
import { createSimulatorCa } from '../../../sim/common/tls.ts';
import type { SimulatorCa } from '../../../sim/common/tls.ts';
import { startEntra } from '../../../sim/entra/start.ts';
import type { RunningEntra } from '../../../sim/entra/start.ts';
import { startTestIssuer } from '../../../sim/common/jwt/oidc-issuer.ts';
import type { SignOptions, TestIssuer } from '../../../sim/common/jwt/oidc-issuer.ts';
import { startVault } from '../../../sim/vault/start.ts';
import type { RunningVault, StartVaultOptions } from '../../../sim/vault/start.ts';

export const TENANT = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
export const OFFICER = 'aaaaaaaa-1111-4111-8111-000000000001';
export const RELEASER = 'bbbbbbbb-2222-4222-8222-000000000002';
export const STRANGER = 'cccccccc-3333-4333-8333-000000000003';
export const COMPLIANCE = 'azure-signed-katacc-uvm';
export const NO_RETRY: RetryOptions = { maxRetries: 0 };

export type Identity = 'officer' | 'releaser' | 'stranger';

export interface Runtime {
  privateKey: KeyObject;
  kid: string;
  /** The parsed runtime JWKS, as MAA embeds it in `x-ms-runtime`. */
  xMsRuntime: Record<string, unknown>;
}

export interface World {
  ca: SimulatorCa;
  entra: RunningEntra;
  sa: TestIssuer;
  attest: TestIssuer;
  hostdata: string;
  runtime: Runtime;
  credential(who: Identity): TokenCredential;
  startVault(options?: Partial<StartVaultOptions>): Promise<RunningVault>;
  client(vault: RunningVault, who: Identity, retryOptions?: RetryOptions): KeyClient;
  /** A release policy admitting `hostdata` (default: the world's) from the attestation issuer. */
  policy(options?: { hostdata?: string[]; immutable?: boolean }): KeyReleasePolicy;
  /** An attestation token for the world's runtime key; `claims` override or add claims. */
  attestationToken(claims?: Record<string, unknown>, options?: SignOptions & { issuer?: TestIssuer }): string;
  close(): Promise<void>;
}

export async function startWorld(): Promise<World> {
  const ca = createSimulatorCa('SecureKey test simulator CA');
  const sa = await startTestIssuer({ ca, publicHost: 'oidc.cluster.localhost' });
  const attest = await startTestIssuer({ ca, publicHost: 'attest.localhost', x5cOnly: true });
  const subject = (who: string) => `system:serviceaccount:securekey:${who}`;
  const entra = await startEntra({
    ca,
    tenantId: TENANT,
    assertionIssuers: [{ issuer: sa.issuer, jwks: sa.jwks }],
    applications: [
      {
        clientId: OFFICER,
        displayName: 'securekey-operator',
        federatedCredentials: [{ issuer: sa.issuer, subject: subject('operator') }],
      },
      {
        clientId: RELEASER,
        displayName: 'securekey-agent',
        federatedCredentials: [{ issuer: sa.issuer, subject: subject('agent') }],
      },
      {
        clientId: STRANGER,
        displayName: 'someone-else',
        federatedCredentials: [{ issuer: sa.issuer, subject: subject('stranger') }],
      },
    ],
  });
  const ids: Record<Identity, { clientId: string; sub: string }> = {
    officer: { clientId: OFFICER, sub: subject('operator') },
    releaser: { clientId: RELEASER, sub: subject('agent') },
    stranger: { clientId: STRANGER, sub: subject('stranger') },
  };
  const credentials = new Map<Identity, TokenCredential>();
  const vaults: RunningVault[] = [];
  const privateKey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const jwks = runtimeKeyJwks(privateKey);
  const runtime: Runtime = {
    privateKey,
    kid: jwks.kid,
    xMsRuntime: JSON.parse(jwks.bytes.toString('utf8')) as Record<string, unknown>,
  };
  const hostdata = crypto.randomBytes(32).toString('hex');

  const world: World = {
    ca,
    entra,
    sa,
    attest,
    hostdata,
    runtime,
    credential(who) {
      let c = credentials.get(who);
      if (c === undefined) {
        const { clientId, sub } = ids[who];
        c = clientAssertionCredential({
          tenantId: TENANT,
          clientId,
          authorityHost: entra.url,
          caPem: ca.certPem,
          retryOptions: NO_RETRY,
          getAssertion: async () => {
            const now = Math.floor(Date.now() / 1000);
            return sa.sign({
              iss: sa.issuer,
              sub,
              aud: ['api://AzureADTokenExchange'],
              iat: now,
              nbf: now,
              exp: now + 3600,
            });
          },
        });
        credentials.set(who, c);
      }
      return c;
    },
    async startVault(options = {}) {
      const vault = await startVault({
        ca,
        entra: { authorityHost: entra.url, tenantId: TENANT, caPem: ca.certPem },
        attestation: { caPem: ca.certPem },
        roleAssignments: [
          { principalId: OFFICER, roles: ['crypto-officer'] },
          { principalId: RELEASER, roles: ['release-user'] },
        ],
        ...options,
      });
      vaults.push(vault);
      return vault;
    },
    client(vault, who, retryOptions = NO_RETRY) {
      return keyClientFor({
        vaultUrl: vault.url,
        credential: world.credential(who),
        caPem: ca.certPem,
        retryOptions,
      });
    },
    policy(options = {}) {
      const policy = buildPolicy({
        authorities: [attest.issuer],
        digests: options.hostdata ?? [hostdata],
        complianceStatuses: [COMPLIANCE],
      });
      return {
        encodedPolicy: Buffer.from(serializePolicy(policy), 'utf8'),
        ...(options.immutable === undefined ? {} : { immutable: options.immutable }),
      };
    },
    attestationToken(claims = {}, options = {}) {
      const issuer = options.issuer ?? attest;
      const now = Math.floor(Date.now() / 1000);
      return issuer.sign(
        {
          exp: now + 28_800,
          iat: now,
          nbf: now,
          iss: issuer.issuer,
          jti: crypto.randomBytes(32).toString('hex'),
          'x-ms-attestation-type': 'sevsnpvm',
          'x-ms-compliance-status': COMPLIANCE,
          'x-ms-runtime': runtime.xMsRuntime,
          'x-ms-sevsnpvm-hostdata': hostdata,
          'x-ms-sevsnpvm-is-debuggable': false,
          'x-ms-sevsnpvm-vmpl': 0,
          'x-ms-ver': '1.0',
          ...claims,
        },
        options,
      );
    },
    async close() {
      await Promise.all(vaults.map((v) => v.close()));
      await entra.close();
      await sa.close();
      await attest.close();
    },
  };
  return world;
}

/** The RestError fields tests assert on. */
export function restError(err: unknown): { statusCode: unknown; code: unknown; message: string } {
  const e = err as { statusCode?: unknown; code?: unknown; message?: unknown };
  return { statusCode: e.statusCode, code: e.code, message: String(e.message) };
}

/** Resolves to the error a promise rejects with (fails the test if it resolves). */
export async function rejection(p: Promise<unknown>): Promise<ReturnType<typeof restError>> {
  try {
    await p;
  } catch (err) {
    return restError(err);
  }
  throw new Error('expected the call to be refused, and it succeeded');
}
