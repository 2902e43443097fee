import { describe, expect, it } from 'vitest';
import { registerProcessMetrics, Registry } from './metrics.ts';

describe('Registry', () => {
  it('renders the text exposition format exactly', () => {
    const r = new Registry();
    const calls = r.counter({
      name: 'vault_calls_total',
      help: 'Calls.\nBy op.',
      labelNames: ['op', 'status'],
    });
    const depth = r.gauge({ name: 'queue_depth', help: 'Depth.', labelNames: [] });
    const lat = r.histogram({
      name: 'lat_seconds',
      help: 'Latency.',
      labelNames: ['op'],
      buckets: [0.1, 0.5, 1],
    });
    calls.inc({ op: 'get', status: '200' });
    calls.inc({ op: 'get', status: '200' }, 2);
    calls.inc({ op: 'create', status: '429' });
    depth.set({}, 7);
    lat.observe({ op: 'get' }, 0.05);
    lat.observe({ op: 'get' }, 0.3);
    lat.observe({ op: 'get' }, 3);
    expect(r.render()).toBe(
      [
        '# HELP lat_seconds Latency.',
        '# TYPE lat_seconds histogram',
        'lat_seconds_bucket{op="get",le="0.1"} 1',
        'lat_seconds_bucket{op="get",le="0.5"} 2',
        'lat_seconds_bucket{op="get",le="1"} 2',
        'lat_seconds_bucket{op="get",le="+Inf"} 3',
        'lat_seconds_sum{op="get"} 3.35',
        'lat_seconds_count{op="get"} 3',
        '# HELP queue_depth Depth.',
        '# TYPE queue_depth gauge',
        'queue_depth 7',
        '# HELP vault_calls_total Calls.\\nBy op.',
        '# TYPE vault_calls_total counter',
        'vault_calls_total{op="get",status="200"} 3',
        'vault_calls_total{op="create",status="429"} 1',
        '',
      ].join('\n'),
    );
  });

  it('escapes label values', () => {
    const r = new Registry();
    r.gauge({ name: 'g', help: 'h', labelNames: ['sk'] }).set({ sk: 'a"b\\c\nd' }, 1);
    expect(r.render()).toContain('g{sk="a\\"b\\\\c\\nd"} 1');
  });

  it('refuses unknown or missing labels, negative counter increments and duplicate names', () => {
    const r = new Registry();
    const c = r.counter({ name: 'c_total', help: 'h', labelNames: ['op'] });
    expect(() => c.inc({ op: 'x', extra: 'y' })).toThrow(/c_total has no label "extra"/);
    expect(() => c.inc({})).toThrow(/c_total needs label "op"/);
    expect(() => c.inc({ op: 'x' }, -1)).toThrow(/cannot decrease/);
    expect(() => r.gauge({ name: 'c_total', help: 'h', labelNames: [] })).toThrow(/already registered/);
  });

  it('gauges can be removed', () => {
    const r = new Registry();
    const g = r.gauge({ name: 'digests', help: 'h', labelNames: ['sk'] });
    g.set({ sk: 'a' }, 3);
    g.set({ sk: 'b' }, 4);
    g.remove({ sk: 'a' });
    expect(r.render()).not.toContain('sk="a"');
    expect(r.render()).toContain('digests{sk="b"} 4');
  });

  it('process metrics are sampled at render time', () => {
    const r = new Registry();
    registerProcessMetrics(r);
    const text = r.render();
    const rss = Number(/^process_resident_memory_bytes (\d+)$/m.exec(text)?.[1]);
    expect(rss).toBeGreaterThan(10 * 1024 * 1024);
    expect(text).toMatch(/^process_cpu_seconds_total [0-9.e-]+$/m);
    expect(text).toMatch(/^process_start_time_seconds \d+$/m);
  });
});
