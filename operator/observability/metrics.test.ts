import { describe, expect, it } from 'vitest';
import { contentType, LATENCY_BUCKETS, Registry, registerProcessMetrics } from './metrics.ts';

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `name{labels} value` lines of one exposition, as a map (no HELP/TYPE). */
function samples(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), line.slice(i + 1));
  }
  return out;
}

describe('Registry.render (text format 0.0.4)', () => {
  it('renders a small registry exactly: sorted by name and by label values, cumulative buckets', () => {
    const r = new Registry();
    // Registered out of order and observed out of order: the text must not depend on either.
    const calls = r.counter({
      name: 'securekey_vault_requests_total',
      help: 'Calls to the vault.',
      labelNames: ['operation', 'status'],
    });
    const seconds = r.histogram({
      name: 'securekey_reconcile_duration_seconds',
      help: 'Reconcile time.',
      labelNames: ['outcome'],
      buckets: [0.125, 1],
    });
    const leader = r.gauge({ name: 'securekey_leader', help: '1 while leading.' });
    r.counter({ name: 'securekey_reconcile_errors_total', help: 'Failed reconciles.' });
    r.gauge({ name: 'securekey_policy_digests', help: 'Digests per SecureKey.', labelNames: ['securekey'] });

    calls.inc({ operation: 'release', status: '200' });
    calls.inc({ status: '409', operation: 'create' }, 2);
    calls.inc({ operation: 'release', status: '200' });
    leader.set({}, 1);
    seconds.observe({ outcome: 'success' }, 0.0625);
    seconds.observe({ outcome: 'success' }, 0.125); // on the bound: le is "less or equal"
    seconds.observe({ outcome: 'success' }, 3);
    seconds.observe({ outcome: 'error' }, 0.5);

    expect(r.render()).toBe(
      [
        '# HELP securekey_leader 1 while leading.',
        '# TYPE securekey_leader gauge',
        'securekey_leader 1',
        '# HELP securekey_policy_digests Digests per SecureKey.',
        '# TYPE securekey_policy_digests gauge',
        '# HELP securekey_reconcile_duration_seconds Reconcile time.',
        '# TYPE securekey_reconcile_duration_seconds histogram',
        'securekey_reconcile_duration_seconds_bucket{outcome="error",le="0.125"} 0',
        'securekey_reconcile_duration_seconds_bucket{outcome="error",le="1"} 1',
        'securekey_reconcile_duration_seconds_bucket{outcome="error",le="+Inf"} 1',
        'securekey_reconcile_duration_seconds_sum{outcome="error"} 0.5',
        'securekey_reconcile_duration_seconds_count{outcome="error"} 1',
        'securekey_reconcile_duration_seconds_bucket{outcome="success",le="0.125"} 2',
        'securekey_reconcile_duration_seconds_bucket{outcome="success",le="1"} 2',
        'securekey_reconcile_duration_seconds_bucket{outcome="success",le="+Inf"} 3',
        'securekey_reconcile_duration_seconds_sum{outcome="success"} 3.1875',
        'securekey_reconcile_duration_seconds_count{outcome="success"} 3',
        '# HELP securekey_reconcile_errors_total Failed reconciles.',
        '# TYPE securekey_reconcile_errors_total counter',
        'securekey_reconcile_errors_total 0',
        '# HELP securekey_vault_requests_total Calls to the vault.',
        '# TYPE securekey_vault_requests_total counter',
        'securekey_vault_requests_total{operation="create",status="409"} 2',
        'securekey_vault_requests_total{operation="release",status="200"} 2',
        '',
      ].join('\n'),
    );
  });

  it('renders an empty registry as an empty body', () => {
    expect(new Registry().render()).toBe('');
  });

  it('escapes label values (\\ " newline) and help text (\\ newline), and spells special values', () => {
    const r = new Registry();
    const g = r.gauge({ name: 'x', help: 'first line\nsecond \\ "quoted"', labelNames: ['path'] });
    g.set({ path: 'C:\\keys\n"prod"' }, NaN);
    g.set({ path: 'inf' }, Infinity);
    g.set({ path: 'neg' }, -Infinity);
    expect(r.render()).toBe(
      [
        String.raw`# HELP x first line\nsecond \\ "quoted"`,
        '# TYPE x gauge',
        String.raw`x{path="C:\\keys\n\"prod\""} NaN`,
        'x{path="inf"} +Inf',
        'x{path="neg"} -Inf',
        '',
      ].join('\n'),
    );
  });

  it('keeps label values apart that would collide if joined naively', () => {
    const r = new Registry();
    const c = r.counter({ name: 'c_total', help: 'h', labelNames: ['a', 'b'] });
    c.inc({ a: 'x,b=y', b: '' });
    c.inc({ a: 'x', b: 'y' });
    expect(c.get({ a: 'x', b: 'y' })).toBe(1);
    expect(samples(r.render()).size).toBe(2);
  });
});

describe('Counter', () => {
  it('counts up, and refuses to go down or by a non-number', () => {
    const r = new Registry();
    const c = r.counter({ name: 'requests_total', help: 'h', labelNames: ['code'] });
    c.inc({ code: '200' });
    c.inc({ code: '200' }, 2.5);
    c.inc({ code: '200' }, 0);
    expect(c.get({ code: '200' })).toBe(3.5);
    expect(() => c.inc({ code: '200' }, -1)).toThrow(/requests_total.*increase/);
    expect(() => c.inc({ code: '200' }, NaN)).toThrow(/requests_total/);
    expect(() => c.inc({ code: '200' }, Infinity)).toThrow(/requests_total/);
    expect(c.get({ code: '200' })).toBe(3.5);
  });

  it('increments a label-less counter without arguments', () => {
    const r = new Registry();
    const c = r.counter({ name: 'ticks_total', help: 'h' });
    c.inc();
    c.inc(undefined, 4);
    expect(r.render()).toContain('\nticks_total 5\n');
  });
});

describe('Gauge', () => {
  it('sets, increments, decrements, removes one series and resets all', () => {
    const r = new Registry();
    const g = r.gauge({ name: 'digests', help: 'h', labelNames: ['securekey'] });
    g.set({ securekey: 'ns/a' }, 3);
    g.inc({ securekey: 'ns/a' });
    g.dec({ securekey: 'ns/b' }, 2);
    expect(g.get({ securekey: 'ns/a' })).toBe(4);
    expect(g.get({ securekey: 'ns/b' })).toBe(-2);
    g.remove({ securekey: 'ns/a' });
    expect(g.get({ securekey: 'ns/a' })).toBeUndefined();
    expect(r.render()).not.toContain('ns/a');
    expect(r.render()).toContain('digests{securekey="ns/b"} -2');
    g.reset();
    expect(r.render()).toBe('# HELP digests h\n# TYPE digests gauge\n');
  });
});

describe('Histogram', () => {
  it('counts into cumulative buckets with +Inf equal to the count, and sums', () => {
    const r = new Registry();
    const h = r.histogram({ name: 'lat_seconds', help: 'h', buckets: [0.01, 0.1, 1] });
    for (const v of [0.005, 0.01, 0.05, 0.5, 0.5, 7, -1]) h.observe({}, v);
    const s = samples(r.render());
    expect(s.get('lat_seconds_bucket{le="0.01"}')).toBe('3'); // -1, 0.005, 0.01
    expect(s.get('lat_seconds_bucket{le="0.1"}')).toBe('4');
    expect(s.get('lat_seconds_bucket{le="1"}')).toBe('6');
    expect(s.get('lat_seconds_bucket{le="+Inf"}')).toBe('7');
    expect(s.get('lat_seconds_count')).toBe('7');
    expect(Number(s.get('lat_seconds_sum'))).toBeCloseTo(7.065, 10);
  });

  it('renders zero buckets for a label-less histogram before any observation', () => {
    const r = new Registry();
    r.histogram({ name: 'idle_seconds', help: 'h', buckets: [1] });
    expect(r.render()).toBe(
      [
        '# HELP idle_seconds h',
        '# TYPE idle_seconds histogram',
        'idle_seconds_bucket{le="1"} 0',
        'idle_seconds_bucket{le="+Inf"} 0',
        'idle_seconds_sum 0',
        'idle_seconds_count 0',
        '',
      ].join('\n'),
    );
  });

  it('uses the latency buckets by default and drops an explicit +Inf', () => {
    const r = new Registry();
    expect(r.histogram({ name: 'a', help: 'h' }).buckets).toEqual(LATENCY_BUCKETS);
    expect(LATENCY_BUCKETS).toEqual([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
    expect(r.histogram({ name: 'b', help: 'h', buckets: [1, 2, Infinity] }).buckets).toEqual([1, 2]);
  });

  it('refuses unsorted, duplicate, non-finite or empty buckets, NaN observations and an `le` label', () => {
    const r = new Registry();
    expect(() => r.histogram({ name: 'h1', help: 'h', buckets: [1, 0.5] })).toThrow(/h1.*increasing/);
    expect(() => r.histogram({ name: 'h2', help: 'h', buckets: [1, 1] })).toThrow(/h2/);
    expect(() => r.histogram({ name: 'h3', help: 'h', buckets: [NaN] })).toThrow(/h3/);
    expect(() => r.histogram({ name: 'h4', help: 'h', buckets: [] })).toThrow(/h4/);
    expect(() => r.histogram({ name: 'h5', help: 'h', labelNames: ['le'] })).toThrow(/h5.*"le"/);
    const h = r.histogram({ name: 'ok', help: 'h', buckets: [1] });
    expect(() => h.observe({}, NaN)).toThrow(/ok.*NaN/);
  });

  it('times with startTimer: the stop function observes and returns elapsed seconds', async () => {
    const r = new Registry();
    const h = r.histogram({ name: 'work_seconds', help: 'h', labelNames: ['op'] });
    const stop = h.startTimer({ op: 'release' });
    await sleep(20);
    const elapsed = stop();
    expect(elapsed).toBeGreaterThanOrEqual(0.015);
    expect(elapsed).toBeLessThan(5);
    expect(h.get({ op: 'release' })).toEqual({ count: 1, sum: elapsed });
  });
});

describe('label validation', () => {
  it('names the metric when a label is unknown, missing or not a string', () => {
    const r = new Registry();
    const c = r.counter({ name: 'vault_requests_total', help: 'h', labelNames: ['operation', 'status'] });
    // @ts-expect-error -- unknown label name
    expect(() => c.inc({ operation: 'get', status: '200', vault: 'kv' })).toThrow(
      /vault_requests_total has no label "vault"/,
    );
    // @ts-expect-error -- missing label
    expect(() => c.inc({ operation: 'get' })).toThrow(/vault_requests_total needs label "status"/);
    expect(() => c.inc()).toThrow(/vault_requests_total needs label "operation"/);
    // @ts-expect-error -- label values are strings
    expect(() => c.inc({ operation: 'get', status: 200 })).toThrow(/vault_requests_total.*"status".*string/);
    const g = r.gauge({ name: 'leader', help: 'h' });
    // @ts-expect-error -- a metric without labels takes none
    expect(() => g.set({ replica: 'a' }, 1)).toThrow(/leader has no label "replica"/);
    const h = r.histogram({ name: 'lat', help: 'h', labelNames: ['op'] });
    expect(() => h.startTimer({} as never)).toThrow(/lat needs label "op"/);
    expect(r.render()).not.toContain('vault_requests_total{');
  });

  it('refuses bad metric and label names, duplicates and sample-name clashes', () => {
    const r = new Registry();
    expect(() => r.counter({ name: '1bad', help: 'h' })).toThrow(/"1bad"/);
    expect(() => r.counter({ name: 'ok_total', help: 'h', labelNames: ['__reserved'] })).toThrow(/ok_total/);
    expect(() => r.counter({ name: 'ok_total', help: 'h', labelNames: ['a-b'] })).toThrow(/ok_total/);
    expect(() => r.counter({ name: 'ok_total', help: 'h', labelNames: ['a', 'a'] })).toThrow(/duplicate/);
    r.histogram({ name: 'req_seconds', help: 'h' });
    expect(() => r.gauge({ name: 'req_seconds', help: 'h' })).toThrow(/already|clashes/);
    expect(() => r.counter({ name: 'req_seconds_count', help: 'h' })).toThrow(/clashes/);
  });
});

describe('collect hooks and process metrics', () => {
  it('runs collect hooks before each render', () => {
    const r = new Registry();
    const g = r.gauge({ name: 'renders', help: 'h' });
    let n = 0;
    r.onCollect(() => g.set({}, ++n));
    expect(r.render()).toContain('renders 1\n');
    expect(r.render()).toContain('renders 2\n');
  });

  it('exports memory, heap, CPU, start time and event-loop lag as numbers', async () => {
    const r = new Registry();
    const stop = registerProcessMetrics(r);
    try {
      await sleep(30);
      const until = performance.now() + 80;
      while (performance.now() < until) {
        // Block the event loop so the delay monitor has something to report.
      }
      await sleep(30);
      const text = r.render();
      expect(text).toContain('# TYPE process_cpu_seconds_total counter\n');
      expect(text).toContain('# TYPE process_resident_memory_bytes gauge\n');
      const s = samples(text);
      const num = (name: string) => {
        const v = s.get(name);
        expect(v, name).toMatch(/^[0-9.e+-]+$/);
        return Number(v);
      };
      expect(num('process_resident_memory_bytes')).toBeGreaterThan(1e6);
      expect(num('process_heap_bytes')).toBeGreaterThan(1e5);
      expect(num('process_heap_bytes')).toBeLessThan(num('process_resident_memory_bytes'));
      const cpu = num('process_cpu_seconds_total');
      expect(cpu).toBeGreaterThan(0.05); // at least the busy loop above
      const start = num('process_start_time_seconds');
      expect(start).toBeLessThanOrEqual(Date.now() / 1000);
      expect(start).toBeGreaterThan(Date.now() / 1000 - process.uptime() - 5);
      expect(num('nodejs_eventloop_lag_p99_seconds')).toBeGreaterThan(0.04);

      // CPU is a counter: it never goes back, and the lag window restarts after each render.
      const again = samples(r.render());
      expect(Number(again.get('process_cpu_seconds_total'))).toBeGreaterThanOrEqual(cpu);
      expect(Number(again.get('nodejs_eventloop_lag_p99_seconds'))).toBeLessThan(0.04);
    } finally {
      stop();
    }
  });

  it('serves the 0.0.4 content type', () => {
    expect(contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
  });
});
