// The router's Prometheus series (tgi_*, docs/tgi-contract.md "Metrics"), rendered like
// metrics-exporter-prometheus 0.15: counters have no _total suffix, histograms use the buckets
// router/src/server.rs sets, and a histogram without buckets (tgi_request_skipped_tokens) is a
// summary. Unlike TGI, every series the simulator records is present from the start (at zero), so
// a scrape before the first request already lists them; series it never records are absent.

type Labels = Record<string, string>;

function labelText(labels: Labels, extra?: [string, string]): string {
  const pairs = Object.entries(labels);
  if (extra) pairs.push(extra);
  return pairs.length ? `{${pairs.map(([k, v]) => `${k}="${v}"`).join(',')}}` : '';
}

function keyOf(labels: Labels): string {
  let key = '';
  for (const name in labels) key += `${name}=${labels[name]},`;
  return key;
}

abstract class Series<V> {
  protected readonly values = new Map<string, { labels: Labels; value: V }>();

  constructor(
    readonly name: string,
    initial: Labels[] = [{}],
  ) {
    for (const labels of initial) this.entry(labels);
  }

  protected abstract empty(): V;

  protected entry(labels: Labels): { labels: Labels; value: V } {
    const key = keyOf(labels);
    let entry = this.values.get(key);
    if (!entry) {
      entry = { labels, value: this.empty() };
      this.values.set(key, entry);
    }
    return entry;
  }

  abstract render(): string;
}

class Counter extends Series<number> {
  protected empty(): number {
    return 0;
  }

  inc(labels: Labels = {}, by = 1): void {
    this.entry(labels).value += by;
  }

  render(): string {
    const lines = [...this.values.values()].map(({ labels, value }) => `${this.name}${labelText(labels)} ${value}`);
    return `# TYPE ${this.name} counter\n${lines.join('\n')}\n`;
  }
}

class Gauge extends Series<number> {
  protected empty(): number {
    return 0;
  }

  set(value: number, labels: Labels = {}): void {
    this.entry(labels).value = value;
  }

  render(): string {
    const lines = [...this.values.values()].map(({ labels, value }) => `${this.name}${labelText(labels)} ${value}`);
    return `# TYPE ${this.name} gauge\n${lines.join('\n')}\n`;
  }
}

interface HistogramValue {
  counts: number[];
  sum: number;
  count: number;
}

class Histogram extends Series<HistogramValue> {
  constructor(
    name: string,
    private readonly buckets: number[],
    initial?: Labels[],
  ) {
    super(name, []);
    for (const labels of initial ?? [{}]) this.entry(labels);
  }

  protected empty(): HistogramValue {
    return { counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 };
  }

  observe(value: number, labels: Labels = {}): void {
    const entry = this.entry(labels).value;
    entry.sum += value;
    entry.count++;
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]) entry.counts[i]++;
  }

  render(): string {
    const lines: string[] = [];
    for (const { labels, value } of this.values.values()) {
      this.buckets.forEach((le, i) => lines.push(`${this.name}_bucket${labelText(labels, ['le', String(le)])} ${value.counts[i]}`));
      lines.push(`${this.name}_bucket${labelText(labels, ['le', '+Inf'])} ${value.count}`);
      lines.push(`${this.name}_sum${labelText(labels)} ${value.sum}`);
      lines.push(`${this.name}_count${labelText(labels)} ${value.count}`);
    }
    return `# TYPE ${this.name} histogram\n${lines.join('\n')}\n`;
  }
}

/**
 * A histogram without configured buckets: the exporter's summary with its default quantiles, over
 * the most recent observations (the exporter's window is time-based; this one counts samples).
 */
class Summary extends Series<{ recent: number[]; sum: number; count: number }> {
  private static readonly QUANTILES = [0, 0.5, 0.9, 0.95, 0.99, 0.999, 1];
  private static readonly WINDOW = 1000;

  protected empty(): { recent: number[]; sum: number; count: number } {
    return { recent: [], sum: 0, count: 0 };
  }

  observe(value: number, labels: Labels = {}): void {
    const entry = this.entry(labels).value;
    entry.recent.push(value);
    if (entry.recent.length > Summary.WINDOW) entry.recent.shift();
    entry.sum += value;
    entry.count++;
  }

  render(): string {
    const lines: string[] = [];
    for (const { labels, value } of this.values.values()) {
      const sorted = [...value.recent].sort((a, b) => a - b);
      for (const q of Summary.QUANTILES) {
        const at = sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : 0;
        lines.push(`${this.name}${labelText(labels, ['quantile', String(q)])} ${at}`);
      }
      lines.push(`${this.name}_sum${labelText(labels)} ${value.sum}`);
      lines.push(`${this.name}_count${labelText(labels)} ${value.count}`);
    }
    return `# TYPE ${this.name} summary\n${lines.join('\n')}\n`;
  }
}

/** TGI's duration buckets: 35 steps of ×1.5 from 0.0001 s. */
function durationBuckets(): number[] {
  const buckets: number[] = [];
  let value = 0.0001;
  for (let i = 0; i < 35; i++) buckets.push((value *= 1.5));
  return buckets;
}

/** 100 evenly spaced buckets up to max (TGI's input-length and generated-token buckets). */
function linearBuckets(max: number): number[] {
  return Array.from({ length: 100 }, (_, i) => (max / 100) * (i + 1));
}

const METHODS = [{ method: 'prefill' }, { method: 'decode' }];

/** tgi_batch_next_size: one bucket per batch size from 1 to 1024. */
const BATCH_SIZE_BUCKETS = Array.from({ length: 1024 }, (_, i) => i + 1);

export class TgiMetrics {
  readonly requestCount = new Counter('tgi_request_count');
  readonly requestSuccess = new Counter('tgi_request_success');
  readonly requestFailure = new Counter('tgi_request_failure', [{ err: 'validation' }, { err: 'overloaded' }, { err: 'generation' }, { err: 'incomplete' }, { err: 'dropped' }]);
  readonly batchInferenceCount = new Counter('tgi_batch_inference_count', METHODS);
  readonly batchInferenceSuccess = new Counter('tgi_batch_inference_success', METHODS);
  readonly queueSize = new Gauge('tgi_queue_size');
  readonly batchCurrentSize = new Gauge('tgi_batch_current_size');
  readonly batchCurrentMaxTokens = new Gauge('tgi_batch_current_max_tokens');
  readonly batchMaxTotalTokens = new Gauge('tgi_batch_max_total_tokens');
  readonly requestDuration = new Histogram('tgi_request_duration', durationBuckets());
  readonly requestValidationDuration = new Histogram('tgi_request_validation_duration', durationBuckets());
  readonly requestQueueDuration = new Histogram('tgi_request_queue_duration', durationBuckets());
  readonly requestInferenceDuration = new Histogram('tgi_request_inference_duration', durationBuckets());
  readonly requestMeanTimePerTokenDuration = new Histogram('tgi_request_mean_time_per_token_duration', durationBuckets());
  readonly batchForwardDuration = new Histogram('tgi_batch_forward_duration', durationBuckets(), METHODS);
  readonly batchDecodeDuration = new Histogram('tgi_batch_decode_duration', durationBuckets(), METHODS);
  readonly batchFilterDuration = new Histogram('tgi_batch_filter_duration', durationBuckets(), METHODS);
  readonly batchInferenceDuration = new Histogram('tgi_batch_inference_duration', durationBuckets(), METHODS);
  readonly batchNextSize = new Histogram('tgi_batch_next_size', BATCH_SIZE_BUCKETS);
  readonly requestSkippedTokens = new Summary('tgi_request_skipped_tokens');
  readonly requestInputLength: Histogram;
  readonly requestGeneratedTokens: Histogram;
  readonly requestMaxNewTokens: Histogram;

  constructor(limits: { maxInputTokens: number; maxTotalTokens: number; maxBatchTotalTokens: number }) {
    this.requestInputLength = new Histogram('tgi_request_input_length', linearBuckets(limits.maxInputTokens));
    this.requestGeneratedTokens = new Histogram('tgi_request_generated_tokens', linearBuckets(limits.maxTotalTokens));
    this.requestMaxNewTokens = new Histogram('tgi_request_max_new_tokens', linearBuckets(limits.maxTotalTokens));
    this.batchMaxTotalTokens.set(limits.maxBatchTotalTokens);
  }

  /**
   * One forward pass of the simulated backend (backends/v3/src/backend.rs): a prefill opens a batch
   * of one, every token is one step with no speculated tokens skipped.
   */
  recordStep(method: 'prefill' | 'decode', seconds: number): void {
    const labels = { method };
    if (method === 'prefill') this.batchNextSize.observe(1);
    this.batchInferenceCount.inc(labels);
    this.batchForwardDuration.observe(seconds, labels);
    this.batchDecodeDuration.observe(0, labels);
    this.batchFilterDuration.observe(0, labels);
    this.batchInferenceDuration.observe(seconds, labels);
    this.batchInferenceSuccess.inc(labels);
    this.requestSkippedTokens.observe(0);
  }

  render(): string {
    return Object.values(this)
      .filter((series): series is Series<unknown> => series instanceof Series)
      .map((series) => series.render())
      .join('\n');
  }
}
