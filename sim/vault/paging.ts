/**
 * List paging as Key Vault does it: `maxresults` 1..25 (default 25), pages `{"value":[…],"nextLink"}`,
 * the link absolute and carrying api-version, `$skiptoken` and `maxresults`; the last page has
 * `nextLink: null`. The skip token is opaque to clients (here: base64url JSON of an offset).
 */
import { badParameter } from './errors.ts';

export interface Page<T> {
  value: T[];
  nextLink: string | null;
}

export function page<T>(
  items: readonly T[],
  query: URLSearchParams,
  link: { url: string; apiVersion: string },
): Page<T> {
  const max = query.get('maxresults');
  let size = 25;
  if (max !== null) {
    size = Number(max);
    if (!Number.isInteger(size) || size < 1 || size > 25)
      throw badParameter('The value of the maxresults parameter must be between 1 and 25.');
  }
  let offset = 0;
  const token = query.get('$skiptoken');
  if (token !== null) {
    try {
      const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { offset?: unknown };
      if (typeof parsed.offset !== 'number' || !Number.isInteger(parsed.offset) || parsed.offset < 0)
        throw new Error('offset');
      offset = parsed.offset;
    } catch {
      throw badParameter('The $skiptoken parameter is not valid.');
    }
  }
  const value = items.slice(offset, offset + size);
  const next = offset + size;
  if (next >= items.length) return { value, nextLink: null };
  const q = new URLSearchParams({
    'api-version': link.apiVersion,
    $skiptoken: Buffer.from(JSON.stringify({ offset: next })).toString('base64url'),
  });
  if (max !== null) q.set('maxresults', String(size));
  return { value, nextLink: `${link.url}?${q.toString().replace('%24skiptoken', '$skiptoken')}` };
}
