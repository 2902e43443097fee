/**
 * The sandbox's workload identities: a local service-account-style issuer (what the Kubernetes API
 * server is in a cluster) mints projected-token-like JWTs into files, and the simulated Entra trusts
 * them as federated credentials — so the real @azure/identity WorkloadIdentityCredential works.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TestIssuer } from '../common/jwt/oidc-issuer.ts';

export const SANDBOX_TENANT = '5a4db0c2-5ec4-4e6f-9d3c-5ec0e0000001';

export interface SandboxIdentity {
  name: 'operator' | 'agent';
  clientId: string;
  subject: string;
  tokenFile: string;
}

export const IDENTITIES: ReadonlyArray<Omit<SandboxIdentity, 'tokenFile'>> = [
  {
    name: 'operator',
    clientId: '5a4db0c2-0000-4000-8000-0000000000a1',
    subject: 'system:serviceaccount:securekey-system:securekey-operator',
  },
  {
    name: 'agent',
    clientId: '5a4db0c2-0000-4000-8000-0000000000a2',
    subject: 'system:serviceaccount:default:securekey-agent',
  },
];

/** Writes a fresh token for each identity (1 h, as kubelet projects them) into `dir`. */
export function writeTokenFiles(issuer: TestIssuer, dir: string): SandboxIdentity[] {
  const now = Math.floor(Date.now() / 1000);
  return IDENTITIES.map((id) => {
    const tokenFile = path.join(dir, `${id.name}.token`);
    const token = issuer.sign({
      iss: issuer.issuer,
      sub: id.subject,
      aud: ['api://AzureADTokenExchange'],
      iat: now,
      nbf: now,
      exp: now + 3600,
    });
    writeFileSync(tokenFile, token, { mode: 0o600 });
    return { ...id, tokenFile };
  });
}

/**
 * The agent's managed identity, as ACI and VN2 give one to a container group: a user-assigned identity
 * the simulated IMDS hands tokens of (the only identity there, so a request need not name it), with the
 * vault's release role like the agent's workload identity.
 */
export const AGENT_MANAGED_IDENTITY = {
  clientId: '5a4db0c2-0000-4000-8000-0000000000b2',
  objectId: '5a4db0c2-0000-4000-8000-0000000000c2',
  resourceId:
    '/subscriptions/5a4db0c2-0000-4000-8000-000000000000/resourceGroups/securekey-sandbox/providers/Microsoft.ManagedIdentity/userAssignedIdentities/securekey-agent',
} as const;
