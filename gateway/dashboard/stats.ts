import type { RequestRecord } from '../types.ts';
import { BIN_COUNT, binOf, mergeInto, quantile } from './histogram.ts';

// The gateway's own numbers for the dashboard: per deployment, a ring of 5-second buckets covering the
// last 15 minutes, fed by the gateway's 'request' events. Prometheus holds the long history; this is
// only what the page draws and what its table shows.

export const BUCKET_MS = 5_000;
export const WINDOW_MS = 15 * 60_000;
const BUCKETS = WINDOW_MS / BUCKET_MS;

interface Bucket {
  /** Bucket number (start time / BUCKET_MS); a slot whose number is outside the window is stale. */
  n: number;
  requests: number;
  /** Responses with status ≥ 500 (the gateway's or the server's failures). */
  errors: number;
  /** Responses with status 429 (rate limit or concurrency cap). */
  limited: number;
  tokens: number;
  latency: Uint32Array;
  ttft: Uint32Array;
}

/** One deployment's numbers over a window. Durations in ms; undefined when there was no sample. */
export interface StatsSummary {
  requestsPerSecond: number;
  tokensPerSecond: number;
  p50Ms?: number;
  p95Ms?: number;
  ttftP50Ms?: number;
  ttftP95Ms?: number;
  errors: number;
  limited: number;
}

/** Per-bucket values over the whole window, oldest first; null where a latency has no sample. */
export interface StatsSeries {
  requestsPerSecond: number[];
  errorsPerSecond: number[];
  tokensPerSecond: number[];
  p50Ms: (number | null)[];
  p95Ms: (number | null)[];
}

export interface SeriesSnapshot {
  /** Start of the first bucket (ms since epoch). */
  start: number;
  bucketMs: number;
  byKey: Record<string, StatsSeries>;
}

const emptyBucket = (n: number): Bucket => ({
  n, requests: 0, errors: 0, limited: 0, tokens: 0, latency: new Uint32Array(BIN_COUNT), ttft: new Uint32Array(BIN_COUNT),
});

function reset(b: Bucket, n: number): void {
  b.n = n;
  b.requests = b.errors = b.limited = b.tokens = 0;
  b.latency.fill(0);
  b.ttft.fill(0);
}

export class RequestStats {
  private readonly rings = new Map<string, Bucket[]>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Counts one finished request. Requests that reached no deployment (404) have no key and are skipped. */
  record(r: RequestRecord): void {
    if (!r.key) return;
    let ring = this.rings.get(r.key);
    if (!ring) {
      ring = Array.from({ length: BUCKETS }, () => emptyBucket(-1));
      this.rings.set(r.key, ring);
    }
    const n = Math.floor(r.at / BUCKET_MS);
    const b = ring[n % BUCKETS];
    if (b.n !== n) {
      if (b.n > n) return; // older than the window
      reset(b, n);
    }
    b.requests++;
    if (r.status >= 500) b.errors++;
    else if (r.status === 429) b.limited++;
    b.tokens += r.generatedTokens;
    b.latency[binOf(r.durationMs)]++;
    if (r.ttftMs !== undefined) b.ttft[binOf(r.ttftMs)]++;
  }

  forget(key: string): void {
    this.rings.delete(key);
  }

  /** Totals over the last windowMs (rounded up to whole buckets, at most 15 minutes), rates per second. */
  summary(key: string, windowMs: number): StatsSummary {
    const latency = new Uint32Array(BIN_COUNT);
    const ttft = new Uint32Array(BIN_COUNT);
    let requests = 0, errors = 0, limited = 0, tokens = 0;
    const now = this.now();
    const last = Math.floor(now / BUCKET_MS);
    const first = last - Math.ceil(Math.min(windowMs, WINDOW_MS) / BUCKET_MS) + 1;
    for (const b of this.rings.get(key) ?? []) {
      if (b.n < first || b.n > last) continue;
      requests += b.requests;
      errors += b.errors;
      limited += b.limited;
      tokens += b.tokens;
      mergeInto(latency, b.latency);
      mergeInto(ttft, b.ttft);
    }
    // The buckets cover from the start of the first one up to now (the last one is still filling).
    const seconds = (now - first * BUCKET_MS) / 1000;
    return {
      requestsPerSecond: requests / seconds,
      tokensPerSecond: tokens / seconds,
      p50Ms: quantile(latency, 0.5),
      p95Ms: quantile(latency, 0.95),
      ttftP50Ms: quantile(ttft, 0.5),
      ttftP95Ms: quantile(ttft, 0.95),
      errors,
      limited,
    };
  }

  /**
   * Per-bucket values of the given deployments over the 15-minute window, up to the last complete
   * bucket (the one still filling would read low).
   */
  series(keys: readonly string[]): SeriesSnapshot {
    const first = Math.floor(this.now() / BUCKET_MS) - BUCKETS;
    const perSecond = 1000 / BUCKET_MS;
    const byKey: Record<string, StatsSeries> = {};
    for (const key of keys) {
      const ring = this.rings.get(key);
      const out: StatsSeries = { requestsPerSecond: [], errorsPerSecond: [], tokensPerSecond: [], p50Ms: [], p95Ms: [] };
      for (let n = first; n < first + BUCKETS; n++) {
        const b = ring?.[n % BUCKETS];
        const live = b && b.n === n ? b : undefined;
        out.requestsPerSecond.push((live?.requests ?? 0) * perSecond);
        out.errorsPerSecond.push((live?.errors ?? 0) * perSecond);
        out.tokensPerSecond.push((live?.tokens ?? 0) * perSecond);
        out.p50Ms.push((live && quantile(live.latency, 0.5)) ?? null);
        out.p95Ms.push((live && quantile(live.latency, 0.95)) ?? null);
      }
      byKey[key] = out;
    }
    return { start: first * BUCKET_MS, bucketMs: BUCKET_MS, byKey };
  }
}
