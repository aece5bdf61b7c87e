// What both engines count for /metrics; each engine prints it under its own metric names.
export class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(readonly buckets: number[]) {
    this.counts = buckets.map(() => 0);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    this.buckets.forEach((bound, i) => {
      if (value <= bound) this.counts[i]++;
    });
  }

  /** Prometheus text lines for this histogram (cumulative buckets, +Inf, _sum, _count). */
  lines(name: string, labels: string): string[] {
    const join = (extra: string) => `{${[labels, extra].filter(Boolean).join(',')}}`;
    return [
      ...this.buckets.map((bound, i) => `${name}_bucket${join(`le="${bound}"`)} ${this.counts[i]}`),
      `${name}_bucket${join('le="+Inf"')} ${this.count}`,
      `${name}_sum${labels ? `{${labels}}` : ''} ${this.sum}`,
      `${name}_count${labels ? `{${labels}}` : ''} ${this.count}`,
    ];
  }
}

// Request latency buckets: the same ones for every latency histogram (a simplification).
const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560];

export class EngineStats {
  promptTokens = 0;
  generationTokens = 0;
  readonly success = { stop: 0, length: 0, abort: 0 };
  readonly timeToFirstToken = new Histogram(LATENCY_BUCKETS);
  readonly interTokenLatency = new Histogram(LATENCY_BUCKETS);
  readonly e2eLatency = new Histogram(LATENCY_BUCKETS);
  readonly queueTime = new Histogram(LATENCY_BUCKETS);

  finished(reason: 'stop' | 'length', seconds: number): void {
    this.success[reason]++;
    this.e2eLatency.observe(seconds);
  }
}

/** `# HELP` / `# TYPE` and one sample. */
export function sample(name: string, type: 'gauge' | 'counter', help: string, labels: string, value: number): string[] {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name}{${labels}} ${value}`];
}
