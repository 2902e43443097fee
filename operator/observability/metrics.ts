/**
 * A small Prometheus client: counters, gauges and histograms with labels, rendered in the text
 * exposition format 0.0.4. Ours rather than prom-client: the operator and webhook need a few series each,
 * and importing prom-client cost ~50 ms of CPU and ~16 MiB of resident memory more (ADR 20).
 *
 * Label names are type parameters, so `counter({ labelNames: ['op'] }).inc({ opp: 'x' })` fails to
 * compile; the same checks run again at runtime for callers the compiler cannot see.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

export const contentType = 'text/plain; version=0.0.4; charset=utf-8';

/** Seconds; the client_golang defaults plus a 1 ms bucket for in-process work. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Label values by name; a metric without labels takes `{}` (and nothing else). */
export type Labels<L extends string> = [L] extends [never]
  ? { readonly [name: string]: never }
  : { readonly [K in L]: string };

export interface MetricOptions<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
}

export interface HistogramOptions<L extends string> extends MetricOptions<L> {
  /** Upper bounds, strictly increasing; `+Inf` is implicit. Defaults to LATENCY_BUCKETS. */
  buckets?: readonly number[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Go's ParseFloat reads all of these; the format spells infinities and NaN this way. */
function formatNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function compareValues(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as string;
    const y = b[i] as string;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

interface Series<V> {
  /** Label values in labelNames order. */
  values: string[];
  data: V;
}

export type MetricType = 'counter' | 'gauge' | 'histogram';

abstract class Metric<L extends string, V> {
  abstract readonly type: MetricType;
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  protected readonly series = new Map<string, Series<V>>();

  constructor(o: MetricOptions<L>, reserved: readonly string[] = []) {
    if (!METRIC_NAME.test(o.name)) throw new Error(`metric name ${JSON.stringify(o.name)} is invalid`);
    const names = o.labelNames ?? [];
    for (const l of names) {
      if (!LABEL_NAME.test(l) || l.startsWith('__') || reserved.includes(l)) {
        throw new Error(`metric ${o.name}: label name ${JSON.stringify(l)} is invalid or reserved`);
      }
    }
    if (new Set(names).size !== names.length) throw new Error(`metric ${o.name}: duplicate label names`);
    this.name = o.name;
    this.help = o.help;
    this.labelNames = [...names];
  }

  /** Sample names this metric writes, so the registry can refuse collisions. */
  sampleNames(): string[] {
    return [this.name];
  }

  protected abstract initial(): V;

  /** Label values in declared order; throws naming the metric when a label is unknown or missing. */
  protected valuesOf(labels: Labels<L> | undefined): string[] {
    const given = (labels ?? {}) as Record<string, unknown>;
    for (const k of Object.keys(given)) {
      if (!(this.labelNames as readonly string[]).includes(k)) {
        throw new Error(
          `metric ${this.name} has no label ${JSON.stringify(k)} (labels: ${this.labelNames.join(', ') || 'none'})`,
        );
      }
    }
    return this.labelNames.map((k) => {
      const v = given[k];
      if (v === undefined) throw new Error(`metric ${this.name} needs label ${JSON.stringify(k)}`);
      if (typeof v !== 'string')
        throw new Error(`metric ${this.name}: label ${JSON.stringify(k)} must be a string`);
      return v;
    });
  }

  protected seriesFor(labels: Labels<L> | undefined): Series<V> {
    const values = this.valuesOf(labels);
    // JSON of the values is unambiguous whatever characters they hold.
    const key = JSON.stringify(values);
    let s = this.series.get(key);
    if (!s) {
      s = { values, data: this.initial() };
      this.series.set(key, s);
    }
    return s;
  }

  protected peek(labels: Labels<L> | undefined): Series<V> | undefined {
    return this.series.get(JSON.stringify(this.valuesOf(labels)));
  }

  /** Series sorted by label values; a label-less metric always has its one series (zero until used). */
  protected sortedSeries(): Series<V>[] {
    if (this.labelNames.length === 0 && this.series.size === 0) return [{ values: [], data: this.initial() }];
    return [...this.series.values()].sort((a, b) => compareValues(a.values, b.values));
  }

  protected labelText(values: readonly string[], extra?: [string, string]): string {
    const pairs = this.labelNames.map((k, i) => `${k}="${escapeLabelValue(values[i] as string)}"`);
    if (extra) pairs.push(`${extra[0]}="${escapeLabelValue(extra[1])}"`);
    return pairs.length ? `{${pairs.join(',')}}` : '';
  }

  abstract samples(): string[];
}

export class Counter<L extends string = never> extends Metric<L, { v: number }> {
  readonly type = 'counter';

  protected initial(): { v: number } {
    return { v: 0 };
  }

  inc(labels?: Labels<L>, n = 1): void {
    if (!(n >= 0) || n === Infinity) {
      throw new Error(`counter ${this.name} can only increase by a finite amount >= 0 (got ${n})`);
    }
    this.seriesFor(labels).data.v += n;
  }

  get(labels?: Labels<L>): number {
    return this.peek(labels)?.data.v ?? 0;
  }

  samples(): string[] {
    return this.sortedSeries().map(
      (s) => `${this.name}${this.labelText(s.values)} ${formatNumber(s.data.v)}`,
    );
  }
}

export class Gauge<L extends string = never> extends Metric<L, { v: number }> {
  readonly type = 'gauge';

  protected initial(): { v: number } {
    return { v: 0 };
  }

  set(labels: Labels<L>, v: number): void {
    this.seriesFor(labels).data.v = v;
  }

  inc(labels?: Labels<L>, n = 1): void {
    this.seriesFor(labels).data.v += n;
  }

  dec(labels?: Labels<L>, n = 1): void {
    this.seriesFor(labels).data.v -= n;
  }

  /** Drops one series (say, for a SecureKey that was deleted) so it stops being exported. */
  remove(labels: Labels<L>): void {
    this.series.delete(JSON.stringify(this.valuesOf(labels)));
  }

  /** Drops every series. */
  reset(): void {
    this.series.clear();
  }

  get(labels?: Labels<L>): number | undefined {
    return this.peek(labels)?.data.v;
  }

  samples(): string[] {
    return this.sortedSeries().map(
      (s) => `${this.name}${this.labelText(s.values)} ${formatNumber(s.data.v)}`,
    );
  }
}

interface HistogramData {
  /** Per-bucket (not cumulative) counts; cumulated when rendered. */
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram<L extends string = never> extends Metric<L, HistogramData> {
  readonly type = 'histogram';
  readonly buckets: readonly number[];

  constructor(o: HistogramOptions<L>) {
    super(o, ['le']);
    const buckets = [...(o.buckets ?? LATENCY_BUCKETS)];
    if (buckets[buckets.length - 1] === Infinity) buckets.pop();
    if (buckets.length === 0) throw new Error(`histogram ${o.name} needs at least one finite bucket`);
    buckets.forEach((b, i) => {
      if (!Number.isFinite(b) || (i > 0 && b <= (buckets[i - 1] as number))) {
        throw new Error(
          `histogram ${o.name}: buckets must be finite and strictly increasing (at index ${i})`,
        );
      }
    });
    this.buckets = buckets;
  }

  override sampleNames(): string[] {
    return ['_bucket', '_sum', '_count'].map((s) => this.name + s);
  }

  protected initial(): HistogramData {
    return { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
  }

  observe(labels: Labels<L>, value: number): void {
    if (Number.isNaN(value)) throw new Error(`histogram ${this.name} cannot observe NaN`);
    const d = this.seriesFor(labels).data;
    const i = this.buckets.findIndex((b) => value <= b);
    if (i >= 0) d.counts[i] = (d.counts[i] as number) + 1;
    d.sum += value;
    d.count += 1;
  }

  /** Returns a stop function that observes and returns the elapsed seconds. */
  startTimer(labels: Labels<L>): () => number {
    this.valuesOf(labels); // fail at the start, not when the work is done
    const t0 = performance.now();
    return () => {
      const seconds = (performance.now() - t0) / 1000;
      this.observe(labels, seconds);
      return seconds;
    };
  }

  /** Count and sum of one series (undefined before its first observation). */
  get(labels?: Labels<L>): { count: number; sum: number } | undefined {
    const d = this.peek(labels)?.data;
    return d && { count: d.count, sum: d.sum };
  }

  samples(): string[] {
    const out: string[] = [];
    for (const { values, data } of this.sortedSeries()) {
      let cumulative = 0;
      this.buckets.forEach((b, i) => {
        cumulative += data.counts[i] as number;
        out.push(`${this.name}_bucket${this.labelText(values, ['le', formatNumber(b)])} ${cumulative}`);
      });
      out.push(`${this.name}_bucket${this.labelText(values, ['le', '+Inf'])} ${data.count}`);
      out.push(`${this.name}_sum${this.labelText(values)} ${formatNumber(data.sum)}`);
      out.push(`${this.name}_count${this.labelText(values)} ${data.count}`);
    }
    return out;
  }
}

type AnyMetric = Counter<string> | Gauge<string> | Histogram<string>;

export class Registry {
  private readonly metrics = new Map<string, AnyMetric>();
  private readonly samplesTaken = new Set<string>();
  private readonly collectors: Array<() => void> = [];

  private add<M extends AnyMetric>(m: M): M {
    const names = m.sampleNames();
    const clash = [m.name, ...names].find((n) => this.metrics.has(n) || this.samplesTaken.has(n));
    if (clash !== undefined) throw new Error(`metric ${m.name} clashes with registered name ${clash}`);
    this.metrics.set(m.name, m);
    for (const n of names) this.samplesTaken.add(n);
    return m;
  }

  counter<const L extends string = never>(o: MetricOptions<L>): Counter<L> {
    return this.add(new Counter<L>(o));
  }

  gauge<const L extends string = never>(o: MetricOptions<L>): Gauge<L> {
    return this.add(new Gauge<L>(o));
  }

  histogram<const L extends string = never>(o: HistogramOptions<L>): Histogram<L> {
    return this.add(new Histogram<L>(o));
  }

  /**
   * Runs `fn` before every render, for values sampled on demand (memory, CPU). A collector that throws
   * fails the render, as client_golang's handler does: a scrape error is visible, a stale value is not.
   */
  onCollect(fn: () => void): void {
    this.collectors.push(fn);
  }

  render(): string {
    for (const collect of this.collectors) collect();
    const lines: string[] = [];
    const sorted = [...this.metrics.values()].sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    for (const m of sorted) {
      lines.push(`# HELP ${m.name} ${escapeHelp(m.help)}`, `# TYPE ${m.name} ${m.type}`, ...m.samples());
    }
    return lines.length ? `${lines.join('\n')}\n` : '';
  }
}

/**
 * Process metrics sampled at render time: resident memory, V8 heap in use, CPU seconds, start time and
 * the event loop's p99 delay since the previous render. Returns a function that stops the event-loop
 * monitor (for tests; a process exports these until it exits).
 */
export function registerProcessMetrics(registry: Registry): () => void {
  const rss = registry.gauge({
    name: 'process_resident_memory_bytes',
    help: 'Resident memory size in bytes.',
  });
  const heap = registry.gauge({
    name: 'process_heap_bytes',
    help: 'V8 heap in use, in bytes.',
  });
  const cpu = registry.counter({
    name: 'process_cpu_seconds_total',
    help: 'Total user and system CPU time spent in seconds.',
  });
  const start = registry.gauge({
    name: 'process_start_time_seconds',
    help: 'Start time of the process since unix epoch in seconds.',
  });
  const lag = registry.gauge({
    name: 'nodejs_eventloop_lag_p99_seconds',
    help: '99th percentile of event loop delay since the previous scrape, in seconds.',
  });

  // timeOrigin is when this process started, in ms since the epoch.
  start.set({}, performance.timeOrigin / 1000);
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  let cpuMicros = 0;

  registry.onCollect(() => {
    rss.set({}, process.memoryUsage.rss());
    heap.set({}, process.memoryUsage().heapUsed);
    const c = process.cpuUsage();
    const micros = c.user + c.system;
    // A counter only moves forward: add what was spent since the previous render.
    if (micros > cpuMicros) cpu.inc({}, (micros - cpuMicros) / 1e6);
    cpuMicros = Math.max(cpuMicros, micros);
    // An empty histogram reports a meaningless percentile, not 0.
    lag.set({}, loop.count === 0 ? 0 : loop.percentile(99) / 1e9);
    loop.reset();
  });
  return () => loop.disable();
}
