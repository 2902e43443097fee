/**
 * A small Prometheus client: counters, gauges and histograms with labels, rendered in the text
 * exposition format 0.0.4. Ours rather than prom-client (docs/adr/0011-operator-telemetry.md): a few
 * dozen lines cover what the operator, webhook and agent expose, with no dependency to audit.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type Labels = Record<string, string>;

interface MetricOptions {
  name: string;
  help: string;
  labelNames: readonly string[];
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

abstract class Metric {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  abstract readonly type: 'counter' | 'gauge' | 'histogram';

  constructor(o: MetricOptions) {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(o.name))
      throw new Error(`metric name ${JSON.stringify(o.name)} is invalid`);
    this.name = o.name;
    this.help = o.help;
    this.labelNames = o.labelNames;
  }

  /** Canonical series key; throws when labels do not match the declared names exactly. */
  protected key(labels: Labels): string {
    const given = Object.keys(labels);
    for (const k of given) {
      if (!this.labelNames.includes(k))
        throw new Error(`metric ${this.name} has no label ${JSON.stringify(k)}`);
    }
    for (const k of this.labelNames) {
      if (typeof labels[k] !== 'string')
        throw new Error(`metric ${this.name} needs label ${JSON.stringify(k)}`);
    }
    return this.labelNames.map((k) => `${k}="${escapeLabel(labels[k] as string)}"`).join(',');
  }

  abstract lines(): string[];
}

export class Counter extends Metric {
  readonly type = 'counter';
  private readonly values = new Map<string, number>();

  inc(labels: Labels = {}, n = 1): void {
    if (!(n >= 0)) throw new Error(`counter ${this.name} cannot decrease (inc by ${n})`);
    const k = this.key(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + n);
  }

  get(labels: Labels = {}): number {
    return this.values.get(this.key(labels)) ?? 0;
  }

  lines(): string[] {
    return [...this.values].map(([k, v]) => `${this.name}${k ? `{${k}}` : ''} ${formatValue(v)}`);
  }
}

export class Gauge extends Metric {
  readonly type = 'gauge';
  private readonly values = new Map<string, number>();

  set(labels: Labels, v: number): void {
    this.values.set(this.key(labels), v);
  }

  inc(labels: Labels = {}, n = 1): void {
    const k = this.key(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + n);
  }

  dec(labels: Labels = {}, n = 1): void {
    this.inc(labels, -n);
  }

  remove(labels: Labels): void {
    this.values.delete(this.key(labels));
  }

  get(labels: Labels = {}): number | undefined {
    return this.values.get(this.key(labels));
  }

  lines(): string[] {
    return [...this.values].map(([k, v]) => `${this.name}${k ? `{${k}}` : ''} ${formatValue(v)}`);
  }
}

export class Histogram extends Metric {
  readonly type = 'histogram';
  readonly buckets: readonly number[];
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();

  constructor(o: MetricOptions & { buckets?: readonly number[] }) {
    super(o);
    const b = [...(o.buckets ?? LATENCY_BUCKETS)].sort((x, y) => x - y);
    this.buckets = b;
  }

  observe(labels: Labels, v: number): void {
    const k = this.key(labels);
    let s = this.series.get(k);
    if (!s) this.series.set(k, (s = { counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    // Stored per bucket, cumulated at render time.
    const i = this.buckets.findIndex((b) => v <= b);
    if (i >= 0) s.counts[i] = (s.counts[i] ?? 0) + 1;
    s.sum += v;
    s.count += 1;
  }

  /** Starts a timer; calling the result observes the elapsed seconds and returns them. */
  startTimer(labels: Labels): () => number {
    const t0 = performance.now();
    return () => {
      const s = (performance.now() - t0) / 1000;
      this.observe(labels, s);
      return s;
    };
  }

  lines(): string[] {
    const out: string[] = [];
    for (const [k, s] of this.series) {
      const prefix = k ? `${k},` : '';
      let acc = 0;
      this.buckets.forEach((b, i) => {
        acc += s.counts[i] ?? 0;
        out.push(`${this.name}_bucket{${prefix}le="${formatValue(b)}"} ${acc}`);
      });
      out.push(`${this.name}_bucket{${prefix}le="+Inf"} ${s.count}`);
      out.push(`${this.name}_sum${k ? `{${k}}` : ''} ${formatValue(s.sum)}`);
      out.push(`${this.name}_count${k ? `{${k}}` : ''} ${s.count}`);
    }
    return out;
  }
}

export class Registry {
  private readonly metrics = new Map<string, Metric>();
  private readonly collectors: Array<() => void> = [];

  private register<M extends Metric>(m: M): M {
    if (this.metrics.has(m.name)) throw new Error(`metric ${m.name} is already registered`);
    this.metrics.set(m.name, m);
    return m;
  }

  counter(o: MetricOptions): Counter {
    return this.register(new Counter(o));
  }

  gauge(o: MetricOptions): Gauge {
    return this.register(new Gauge(o));
  }

  histogram(o: MetricOptions & { buckets?: readonly number[] }): Histogram {
    return this.register(new Histogram(o));
  }

  /** Runs before each render (for values sampled on demand, such as memory). */
  onCollect(fn: () => void): void {
    this.collectors.push(fn);
  }

  render(): string {
    for (const collect of this.collectors) collect();
    const out: string[] = [];
    for (const m of [...this.metrics.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      out.push(`# HELP ${m.name} ${escapeHelp(m.help)}`, `# TYPE ${m.name} ${m.type}`, ...m.lines());
    }
    return `${out.join('\n')}\n`;
  }
}

/** Process metrics sampled at scrape time: memory, CPU, start time, event-loop lag. */
export function registerProcessMetrics(registry: Registry): void {
  const rss = registry.gauge({
    name: 'process_resident_memory_bytes',
    help: 'Resident set size in bytes.',
    labelNames: [],
  });
  const heap = registry.gauge({
    name: 'nodejs_heap_used_bytes',
    help: 'V8 heap in use, in bytes.',
    labelNames: [],
  });
  const cpu = registry.gauge({
    name: 'process_cpu_seconds_total',
    help: 'User and system CPU time spent, in seconds.',
    labelNames: [],
  });
  const start = registry.gauge({
    name: 'process_start_time_seconds',
    help: 'Start time of the process since the Unix epoch, in seconds.',
    labelNames: [],
  });
  const lag = registry.gauge({
    name: 'nodejs_eventloop_lag_p99_seconds',
    help: '99th percentile of event-loop delay since the last scrape, in seconds.',
    labelNames: [],
  });
  const started = Date.now() / 1000 - process.uptime();
  const loop = monitorEventLoopDelay({ resolution: 20 });
  loop.enable();
  registry.onCollect(() => {
    const mem = process.memoryUsage();
    rss.set({}, mem.rss);
    heap.set({}, mem.heapUsed);
    const c = process.cpuUsage();
    cpu.set({}, (c.user + c.system) / 1e6);
    start.set({}, Math.round(started));
    lag.set({}, loop.percentile(99) / 1e9);
    loop.reset();
  });
}
