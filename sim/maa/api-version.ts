/**
 * The api-versions MAA's SEV-SNP attest accepts: `2020-10-01` (what the SKR sidecar sends), `2022-08-01`
 * and `2025-06-01` (the public docs). The error codes and messages follow the Azure REST guidelines;
 * MAA's own wording for these is not public.
 */
import { MaaError } from './errors.ts';

export const API_VERSIONS = ['2020-10-01', '2022-08-01', '2025-06-01'] as const;
export type ApiVersion = (typeof API_VERSIONS)[number];

export function apiVersionOf(query: URLSearchParams): ApiVersion {
  const v = query.get('api-version');
  if (v === null || v === '') {
    throw new MaaError(
      'MissingApiVersionParameter',
      'missing-api-version',
      'The api-version query parameter (?api-version=) is required for all requests.',
    );
  }
  if (!(API_VERSIONS as readonly string[]).includes(v)) {
    throw new MaaError(
      'UnsupportedApiVersion',
      'unsupported-api-version',
      `The api-version '${v}' is not supported. Supported versions: ${API_VERSIONS.join(', ')}.`,
    );
  }
  return v as ApiVersion;
}
