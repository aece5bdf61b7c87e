import type { EventEmitter } from 'node:events';
import { GatewayError } from './errors.ts';
import type { GatewayMetrics } from './metrics.ts';
import { TokenBuckets, type BucketState } from './token-bucket.ts';
import type { GatewayNotice, Logger, ServedDeployment } from './types.ts';

// Whether a deployment takes one more request: it must be ready, under its concurrency cap, and the
// client (token + address) must have a token left in its bucket for that deployment. Limits are read
// from d.spec.limits on every request, so a reload that changes them applies at once.
//
// 429 answers carry Retry-After and the RateLimit header fields of draft-ietf-httpapi-ratelimit-headers
// (draft 6, the widely implemented one): RateLimit-Limit (the burst), RateLimit-Remaining (whole requests
// left), RateLimit-Reset (seconds until the next request is allowed), and RateLimit-Policy
// "<requests per second>;w=1;burst=<burst>". They are sent on 429 answers only: the hot path stays lean.

/** Seconds a client should wait before retrying a deployment that is in this state. */
const RETRY_AFTER_BY_STATE: Readonly<Record<string, number>> = {
  pending: 5,
  pulling: 10,
  creating: 5,
  loading: 5,
  down: 5,
  failed: 30,
  draining: 5,
  stopped: 5,
};

/** A burst of 429s on one deployment is reported at most this often. */
const NOTICE_INTERVAL_MS = 10_000;

export type RefusalReason = 'not_ready' | 'concurrency' | 'rate' | 'queue_full' | 'queue_timeout';

export class AdmissionRefused extends GatewayError {
  constructor(
    readonly reason: RefusalReason,
    status: number,
    message: string,
    headers: Record<string, string>,
  ) {
    super(status, message, headers);
  }
}

export class Admission {
  private readonly buckets = new WeakMap<ServedDeployment, TokenBuckets>();
  private readonly lastNotice = new WeakMap<ServedDeployment, number>();

  constructor(
    private readonly metrics: GatewayMetrics,
    private readonly events: EventEmitter,
    private readonly log: Logger,
  ) {}

  /** The refusal for one more request from `client` to `d`, or undefined when it is admitted. */
  check(d: ServedDeployment, client: string, now: number): AdmissionRefused | undefined {
    return this.checkCapacity(d, client, now) ?? this.checkRate(d, client, now);
  }

  /** The ready and concurrency part of check(): with shared limits, Redis takes the rate token (shared-admission.ts). */
  checkCapacity(d: ServedDeployment, client: string, now: number): AdmissionRefused | undefined {
    if (!d.isReady) return notReady(d);
    const limits = d.spec.limits;
    if (d.inFlight >= limits.maxConcurrentRequests) {
      const state = this.bucketsOf(d).state(client, limits, now);
      return this.tooMany(d, 'concurrency', `${d.key} already has ${d.inFlight} requests in flight, its max_concurrent_requests; retry shortly, or raise max_concurrent_requests in models.yaml`, state, now);
    }
    return undefined;
  }

  /** The rate part of check(), for a request that waits for a slot (its concurrency is the queue's business). */
  checkRate(d: ServedDeployment, client: string, now: number): AdmissionRefused | undefined {
    const limits = d.spec.limits;
    const buckets = this.bucketsOf(d);
    if (!buckets.tryTake(client, limits, now)) return this.rateRefused(d, buckets.state(client, limits, now), now);
    return undefined;
  }

  /** The 429 of a client whose bucket for `d` is empty (`state`: this gateway's bucket or the shared one). */
  rateRefused(d: ServedDeployment, state: BucketState, now: number): AdmissionRefused {
    const limits = d.spec.limits;
    return this.tooMany(d, 'rate', `rate limit for ${d.key} reached: ${limits.requestsPerSecond} requests/s per client with bursts of ${limits.burst}; retry after the Retry-After seconds, or raise rate_limit in models.yaml`, state, now);
  }

  /** Forgets the buckets of idle clients. */
  sweep(deployments: readonly ServedDeployment[], now: number): void {
    for (const d of deployments) {
      this.buckets.get(d)?.sweep(d.spec.limits, now);
    }
  }

  private bucketsOf(d: ServedDeployment): TokenBuckets {
    let buckets = this.buckets.get(d);
    if (!buckets) this.buckets.set(d, (buckets = new TokenBuckets()));
    return buckets;
  }

  private tooMany(d: ServedDeployment, reason: 'rate' | 'concurrency', message: string, state: BucketState, now: number): AdmissionRefused {
    this.metrics.rateLimited.inc({ ...this.metrics.labelsFor(d).route, reason });
    this.noticeBurst(d, reason, now);
    const limits = d.spec.limits;
    // A concurrency refusal says nothing about when a slot frees up: one second is a fair guess.
    const waitSeconds = reason === 'rate' ? state.retryAfterSeconds : 1;
    return new AdmissionRefused(reason, 429, message, {
      'retry-after': String(Math.max(1, Math.ceil(waitSeconds))),
      'ratelimit-limit': String(limits.burst),
      'ratelimit-remaining': String(state.remaining),
      'ratelimit-reset': String(Math.ceil(state.retryAfterSeconds)),
      'ratelimit-policy': `${limits.requestsPerSecond};w=1;burst=${limits.burst}`,
    });
  }

  private noticeBurst(d: ServedDeployment, reason: 'rate' | 'concurrency', now: number): void {
    const last = this.lastNotice.get(d);
    if (last !== undefined && now - last < NOTICE_INTERVAL_MS) return;
    this.lastNotice.set(d, now);
    const limits = d.spec.limits;
    const message =
      reason === 'rate'
        ? `${d.key}: clients are being rate limited (${limits.requestsPerSecond} requests/s per client, burst ${limits.burst})`
        : `${d.key}: at its concurrency cap of ${limits.maxConcurrentRequests} requests in flight; more get 429`;
    const notice: GatewayNotice = { kind: 'rate_limited', message, at: Date.now() };
    this.log.info({ deployment: d.key, reason }, message);
    this.events.emit('notice', notice);
  }
}

/** The 503 for a deployment that is not ready: its state (and phase or failure) and a Retry-After by state. */
export function notReady(d: ServedDeployment): AdmissionRefused {
  const detail = d.state === 'loading' && d.phase ? `loading (${d.phase})` : d.state;
  const why = d.state === 'failed' && d.lastFailure ? `: ${d.lastFailure.message}` : '';
  const advice = d.state === 'failed' ? 'see `npm run logs -- ' + d.key + '`' : 'retry after the Retry-After seconds';
  const retryAfter = RETRY_AFTER_BY_STATE[d.state] ?? 5;
  return new AdmissionRefused('not_ready', 503, `${d.key} is not ready: it is ${detail}${why}; ${advice}`, { 'retry-after': String(retryAfter) });
}
