import { describe, expect, it } from 'vitest';
import { Informer, MIN_PAGE_SIZE } from './informer.ts';
import type { KubeHttp, WatchOptions } from './kube-http.ts';

/** An API server in memory that pages its list as asked (limit, continue) and records each limit. */
function pagingApi(items: Record<string, unknown>[]): { http: KubeHttp; limits: number[] } {
  const limits: number[] = [];
  const http = {
    expect: async (
      _m: string,
      _p: string,
      _ok: number[],
      o: { query: { limit: number; continue?: string } },
    ) => {
      const from = Number(o.query.continue ?? 0);
      limits.push(o.query.limit);
      const to = Math.min(items.length, from + o.query.limit);
      return {
        metadata: { resourceVersion: '9', ...(to < items.length ? { continue: String(to) } : {}) },
        items: items.slice(from, to),
      };
    },
    watch: (_path: string, o: WatchOptions) =>
      new Promise<void>((resolve) => o.signal.addEventListener('abort', () => resolve())),
  } as unknown as KubeHttp;
  return { http, limits };
}

function objects(n: number, annotationBytes: number): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => ({
    metadata: {
      namespace: 'ns',
      name: `p${i}`,
      resourceVersion: '1',
      annotations: { policy: 'x'.repeat(annotationBytes) },
    },
  }));
}

async function listed(items: Record<string, unknown>[], o: { pageBytes?: number; pageSize?: number }) {
  const api = pagingApi(items);
  const informer = new Informer({
    http: api.http,
    path: '/api/v1/pods',
    name: 'pods',
    trim: (x) => x,
    onEvent: () => {},
    ...o,
  });
  informer.start();
  while (!informer.hasSynced()) await new Promise((r) => setTimeout(r, 5));
  await informer.stop();
  return { limits: api.limits, size: informer.size };
}

describe('Informer list pages', () => {
  it('sizes pages by bytes: a few large objects a page, many small ones', async () => {
    const large = await listed(objects(100, 250 * 1024), { pageBytes: 4 * 1024 * 1024, pageSize: 500 });
    expect(large.size).toBe(100);
    expect(large.limits[0]).toBe(MIN_PAGE_SIZE);
    expect(large.limits.slice(1).every((l) => l === 16)).toBe(true); // 4 MiB / (250 KiB + 1 KiB + key)
    const small = await listed(objects(1200, 100), { pageBytes: 4 * 1024 * 1024, pageSize: 500 });
    expect(small.size).toBe(1200);
    expect(small.limits).toEqual([MIN_PAGE_SIZE, 500, 500, 500]);
  });

  it('asks for pageSize a page when not sizing by bytes', async () => {
    expect((await listed(objects(120, 10), { pageSize: 50 })).limits).toEqual([50, 50, 50]);
  });
});
