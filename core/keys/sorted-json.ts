/**
 * JSON with object members in code-unit order and no whitespace: how the SKR sidecar (lestrrat-go/jwx)
 * serialises JWKs, and what RFC 7638 asks for the thumbprint input. Deterministic output means the
 * same key always gives the same file bytes and the same runtime-data hash.
 */
export function sortedJson(value: unknown): string {
  return JSON.stringify(sortMembers(value));
}

function sortMembers(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortMembers);
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(record)
        .sort()
        .map((name) => [name, sortMembers(record[name])]),
    );
  }
  return value;
}
