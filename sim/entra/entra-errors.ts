/**
 * Entra ID's OAuth error body: `{"error","error_description":"AADSTSnnnn: … Trace ID: … Correlation
 * ID: … Timestamp: …","error_codes":[n],"timestamp","trace_id","correlation_id","error_uri"}`.
 * The codes used, with the statuses Entra answers them with (seen in public issue threads):
 *   70021 invalid_request 400 (no federated credential on the app) · 700211/700212/700213 invalid_client
 *   401 (issuer / audience / subject not matched) · 700024 invalid_client 401 (assertion expired or not
 *   yet valid) · 700016 unauthorized_client 400 (unknown app) · 7000215 invalid_client 401 (bad secret) ·
 *   7000218 invalid_client 401 (neither secret nor assertion) · 50027 invalid_request 400 (malformed or
 *   unsigned JWT) · 900144 invalid_request 400 (missing parameter) · 90002 invalid_tenant 400 ·
 *   70003 unsupported_grant_type 400 · 1002012 invalid_scope 400 · 500011 invalid_resource 400.
 * Less certain (no public sample found, chosen to match the family): 700027 invalid_client 401 for a
 * signature that does not verify or an unknown key, 90061 invalid_request 400 when the issuer's
 * metadata cannot be fetched, 70002 invalid_client 400 for a wrong client_assertion_type.
 */
import crypto from 'node:crypto';

export interface EntraErrorBody {
  error: string;
  error_description: string;
  error_codes: number[];
  timestamp: string;
  trace_id: string;
  correlation_id: string;
  error_uri: string;
}

export interface EntraErrorResult {
  status: number;
  body: EntraErrorBody;
}

/** Entra's timestamp form: `2024-06-04 11:40:28Z`. */
export function entraTimestamp(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z');
}

export class EntraRejection extends Error {
  readonly status: number;
  readonly error: string;
  readonly code: number;

  constructor(status: number, error: string, code: number, message: string) {
    super(`AADSTS${code}: ${message}`);
    this.status = status;
    this.error = error;
    this.code = code;
  }

  toResult(context: { baseUrl: string; correlationId: string; nowMs: number }): EntraErrorResult {
    const traceId = crypto.randomUUID();
    const timestamp = entraTimestamp(context.nowMs);
    return {
      status: this.status,
      body: {
        error: this.error,
        error_description: `${this.message}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${context.correlationId}\r\nTimestamp: ${timestamp}`,
        error_codes: [this.code],
        timestamp,
        trace_id: traceId,
        correlation_id: context.correlationId,
        error_uri: `${context.baseUrl}/error?code=${this.code}`,
      },
    };
  }
}

export const missingParameter = (name: string): EntraRejection =>
  new EntraRejection(
    400,
    'invalid_request',
    900144,
    `The request body must contain the following parameter: '${name}'.`,
  );
