/**
 * The managed-identity token endpoint of Azure's Instance Metadata Service, simulated: which identity a
 * request names, and the answer IMDS gives. Tokens come from the simulated Entra ID (signed with the
 * tenant's key, so the simulated vault accepts them as it accepts any Entra token); IMDS only hands out
 * tokens of the identities assigned to its resource (VM, container group), never anyone else's.
 *
 * Answers (Microsoft's "How to use managed identities … to acquire an access token"):
 * 200 `{access_token, client_id, expires_in, expires_on, ext_expires_in, not_before, resource,
 * token_type}` with the numbers as strings; 400 `{"error":"bad_request_102","error_description":"Required
 * metadata header not specified"}` without `Metadata: true`; 400 `invalid_resource` with Entra's AADSTS
 * text for a resource the tenant does not know. Our wording (no public sample): the 400s for a missing
 * api-version or resource, for more than one identity selector, and "Identity not found" for an identity
 * not assigned here.
 */
import { EntraRejection } from '../entra/entra-errors.ts';
import type { EntraService } from '../entra/entra-service.ts';

/** A managed identity assigned to the simulated resource. */
export interface ManagedIdentity {
  /** The identity's application (client) id: `client_id`, and the token's `appid`. */
  clientId: string;
  /** Its service principal's object id: `object_id`/`principal_id`, and the token's `oid`; default the client id. */
  objectId?: string;
  /** `/subscriptions/…/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>`: `mi_res_id`. */
  resourceId: string;
  /** The resource's system-assigned identity, used when a request names none. At most one. */
  systemAssigned?: boolean;
}

export interface ImdsOptions {
  /** Tokens are issued by this tenant. */
  entra: EntraService;
  identities: ManagedIdentity[];
  /** IMDS hands out tokens valid about a day (Entra's managed-identity default); seconds. */
  tokenLifetimeSeconds?: number;
}

export interface ImdsAnswer {
  status: number;
  body: Record<string, string>;
}

/** What IMDS answers a request without `Metadata: true` (the SSRF guard). */
export const MISSING_METADATA_HEADER = {
  error: 'bad_request_102',
  error_description: 'Required metadata header not specified',
};

const SELECTORS = ['client_id', 'object_id', 'principal_id', 'mi_res_id', 'msi_res_id'] as const;

const invalid = (description: string): ImdsAnswer => ({
  status: 400,
  body: { error: 'invalid_request', error_description: description },
});

export class ImdsService {
  readonly #o: ImdsOptions;
  readonly counters = { tokenRequests: 0, tokensIssued: {} as Record<string, number>, refused: 0 };

  constructor(o: ImdsOptions) {
    if (o.identities.filter((i) => i.systemAssigned).length > 1) {
      throw new Error('a resource has at most one system-assigned identity');
    }
    this.#o = o;
  }

  /** `GET /metadata/identity/oauth2/token` with these query parameters (the header already checked). */
  token(query: Record<string, string | undefined>): ImdsAnswer {
    this.counters.tokenRequests++;
    const answer = this.#token(query);
    if (answer.status !== 200) this.counters.refused++;
    return answer;
  }

  #token(query: Record<string, string | undefined>): ImdsAnswer {
    if (!query['api-version']) return invalid("Required query variable 'api-version' is missing");
    const resource = query['resource'];
    if (!resource) return invalid("Required query variable 'resource' is missing");
    const named = SELECTORS.filter((s) => query[s] !== undefined);
    if (named.length > 1) return invalid(`Only one of ${named.join(', ')} may be given`);
    const identity = this.#identity(named[0], named[0] === undefined ? undefined : query[named[0]]);
    if (identity === undefined) return invalid('Identity not found');
    const lifetime = this.#o.tokenLifetimeSeconds ?? 86_399;
    let issued: { accessToken: string; issuedAt: number };
    try {
      issued = this.#o.entra.managedIdentityToken(identity, resource, lifetime);
    } catch (err) {
      if (!(err instanceof EntraRejection)) throw err;
      return { status: err.status, body: { error: err.error, error_description: err.message } };
    }
    this.counters.tokensIssued[identity.clientId] = (this.counters.tokensIssued[identity.clientId] ?? 0) + 1;
    return {
      status: 200,
      body: {
        access_token: issued.accessToken,
        client_id: identity.clientId,
        expires_in: String(lifetime),
        expires_on: String(issued.issuedAt + lifetime),
        ext_expires_in: String(lifetime),
        not_before: String(issued.issuedAt),
        resource,
        token_type: 'Bearer',
      },
    };
  }

  /** The identity a selector names; without one, the system-assigned identity, else the only one. */
  #identity(
    selector: (typeof SELECTORS)[number] | undefined,
    value: string | undefined,
  ): ManagedIdentity | undefined {
    const ids = this.#o.identities;
    switch (selector) {
      case undefined:
        return ids.find((i) => i.systemAssigned) ?? (ids.length === 1 ? ids[0] : undefined);
      case 'client_id':
        return ids.find((i) => i.clientId.toLowerCase() === value!.toLowerCase());
      case 'object_id':
      case 'principal_id':
        return ids.find((i) => (i.objectId ?? i.clientId).toLowerCase() === value!.toLowerCase());
      default:
        // Resource ids are case-insensitive in ARM.
        return ids.find((i) => i.resourceId.toLowerCase() === value!.toLowerCase());
    }
  }
}
