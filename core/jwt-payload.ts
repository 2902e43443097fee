/**
 * A JWT's payload, read without verifying it: for a token the caller has just received from, or only
 * forwards to, the service that verifies it (its expiry, its runtime keys). Undefined when it is not a
 * three-part JWT with a JSON object payload.
 */
export function unverifiedJwtPayload(jwt: string): Record<string, unknown> | undefined {
  const parts = jwt.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    return typeof payload === 'object' && payload !== null && !Array.isArray(payload)
      ? (payload as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
