/**
 * The node agent's /metrics: a few counters and gauges in the Prometheus text format 0.0.4. The
 * operator's registry (ADR 20) lives in operator/, which the agent may not import; these five series
 * do not justify moving it, so this stays minimal until the node agent needs histograms.
 */
const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

export class NodeServerMetrics {
  /** securekey_node_requests_total{code}: answers by wire code (OK for a 200). */
  private readonly requests = new Map<string, number>();
  /** securekey_node_releases_total{outcome}: calls to the key source. */
  private readonly releases = new Map<string, number>();
  inFlight = 0;

  request(code: string): void {
    this.requests.set(code, (this.requests.get(code) ?? 0) + 1);
  }

  release(outcome: string): void {
    this.releases.set(outcome, (this.releases.get(outcome) ?? 0) + 1);
  }

  render(gauges: { keysInMemory: number; keySource: string }): string {
    const counter = (name: string, help: string, label: string, m: Map<string, number>) => [
      `# HELP ${name} ${help}`,
      `# TYPE ${name} counter`,
      ...[...m].sort(([a], [b]) => (a < b ? -1 : 1)).map(([v, n]) => `${name}{${label}="${escape(v)}"} ${n}`),
    ];
    return [
      ...counter('securekey_node_requests_total', 'Key requests answered, by code.', 'code', this.requests),
      ...counter(
        'securekey_node_releases_total',
        'Releases asked of the key source.',
        'outcome',
        this.releases,
      ),
      '# HELP securekey_node_keys_in_memory Released key versions held in memory.',
      '# TYPE securekey_node_keys_in_memory gauge',
      `securekey_node_keys_in_memory{source="${escape(gauges.keySource)}"} ${gauges.keysInMemory}`,
      '# HELP securekey_node_requests_in_flight Key requests being handled.',
      '# TYPE securekey_node_requests_in_flight gauge',
      `securekey_node_requests_in_flight ${this.inFlight}`,
      '',
    ].join('\n');
  }
}
