// Token buckets, one per client key (one store per deployment), refilled continuously at
// `requestsPerSecond` up to `burst`.
//
// Hand-written rather than taken from rate-limiter-flexible: its memory limiter counts points per fixed
// window (BurstyRateLimiter only approximates a bucket with two windows) and answers through a Promise,
// which costs a microtask on every request of the hot path. A bucket is two numbers and a subtraction.
//
// Memory stays bounded: a bucket that has refilled to `burst` is indistinguishable from a new one, so
// sweep() deletes those, and a hard cap evicts the oldest buckets should a flood of clients arrive
// between sweeps.

import type { Limits } from './types.ts';

export type BucketLimits = Pick<Limits, 'requestsPerSecond' | 'burst'>;

export interface BucketState {
  /** Whole requests left right now. */
  remaining: number;
  /** Seconds until the next request would be allowed (0 when one is). */
  retryAfterSeconds: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

const DEFAULT_MAX_BUCKETS = 100_000;

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly maxBuckets = DEFAULT_MAX_BUCKETS) {}

  /** Takes one token from `key`'s bucket; false when it is empty. `now` in milliseconds. */
  tryTake(key: string, limits: BucketLimits, now: number): boolean {
    const bucket = this.refilled(key, limits, now);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** `key`'s bucket as the RateLimit headers describe it. */
  state(key: string, limits: BucketLimits, now: number): BucketState {
    const bucket = this.refilled(key, limits, now);
    const rate = limits.requestsPerSecond > 0 ? limits.requestsPerSecond : Number.MIN_VALUE;
    return {
      remaining: Math.floor(bucket.tokens),
      retryAfterSeconds: bucket.tokens >= 1 ? 0 : (1 - bucket.tokens) / rate,
    };
  }

  /** Deletes the buckets that are full again (idle clients). */
  sweep(limits: BucketLimits, now: number): void {
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + ((now - bucket.updatedAt) / 1000) * limits.requestsPerSecond >= limits.burst) this.buckets.delete(key);
    }
  }

  get size(): number {
    return this.buckets.size;
  }

  private refilled(key: string, limits: BucketLimits, now: number): Bucket {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= this.maxBuckets) this.evictOldest();
      bucket = { tokens: limits.burst, updatedAt: now };
      this.buckets.set(key, bucket);
      return bucket;
    }
    const elapsed = now - bucket.updatedAt;
    if (elapsed > 0) {
      bucket.tokens = Math.min(limits.burst, bucket.tokens + (elapsed / 1000) * limits.requestsPerSecond);
      bucket.updatedAt = now;
    }
    return bucket;
  }

  private evictOldest(): void {
    const oldest = this.buckets.keys().next().value;
    if (oldest !== undefined) this.buckets.delete(oldest);
  }
}
