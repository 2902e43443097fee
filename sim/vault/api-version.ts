import { badParameter } from './errors.ts';

/**
 * api-versions the simulator serves: 7.3-preview and 7.3 (the first with Secure Key Release; the Azure
 * SDK's recordings show a real Managed HSM creating and releasing keys at both) and later.
 * `@azure/keyvault-keys` 4.10 sends 2025-07-01 by default, as `api%2Dversion` (URLSearchParams decodes
 * that).
 */
export const API_VERSIONS = ['7.3-preview', '7.3', '7.4', '7.5', '7.6', '2025-07-01'] as const;
export type ApiVersion = (typeof API_VERSIONS)[number];
export const LATEST_API_VERSION: ApiVersion = '2025-07-01';

/** The request's api-version, or a 400 as the service answers a missing or unknown one. */
export function apiVersionOf(query: URLSearchParams): ApiVersion {
  const v = query.get('api-version');
  if (v === null || v === '') {
    throw badParameter(
      `The 'api-version' query parameter is missing. Consider using the latest supported version (${LATEST_API_VERSION}).`,
    );
  }
  if (!(API_VERSIONS as readonly string[]).includes(v)) {
    throw badParameter(
      `The specified version (${v}) is not recognized. Consider using the latest supported version (${LATEST_API_VERSION}).`,
    );
  }
  return v as ApiVersion;
}
