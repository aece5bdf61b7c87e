import { mayUse } from './callers.ts';
import { GatewayError } from './errors.ts';
import type { GatewayMetrics } from './metrics.ts';
import { TokenBuckets } from './token-bucket.ts';
import { TokenWindows } from './token-window.ts';
import type { Caller } from './types.ts';

// Per API key: its scope (403), token budget, requests in flight and request rate (429), checked
// before a deployment is chosen; and, once a request ends, what it used (metrics, token window).
// Rate and concurrency count across the key: every address and every deployment it reaches. The
// operator's token is counted but limited only by the deployments' own limits.
//
// The token budget is a sliding 60 s window of prompt + generated tokens, recorded when each request
// ends: a key under budget is admitted even if that request then takes it over (it cannot be known
// before the answer), and the next one waits until enough of the window has slid by.

export type KeyRefusalReason = 'scope' | 'budget' | 'key_concurrency' | 'key_rate';

export class KeyRefused extends GatewayError {
  constructor(
    readonly reason: KeyRefusalReason,
    status: number,
    message: string,
    headers: Record<string, string> = {},
  ) {
    super(status, message, headers);
  }
}

/** What one request of a key used, reported when it ends. */
export interface KeyUse {
  caller: Caller;
  model: string;
  status: number;
  promptTokens: number;
  generatedTokens: number;
}

/** Where the limits are shared with the fleet's other gateways (shared-limits.ts); absent: this gateway only. */
export interface KeyLimitsSharing {
  active(): { setInFlight(keyName: string, count: number): void; recordTokens(keyName: string, tokens: number): void } | undefined;
}

export class KeyLimits {
  private readonly inFlight = new Map<string, number>();
  private readonly buckets = new TokenBuckets();
  private readonly windows = new TokenWindows();

  constructor(
    private readonly metrics: GatewayMetrics,
    private readonly sharing?: KeyLimitsSharing,
  ) {}

  /** The refusal of one more request from `caller` for `model`, or undefined when the key allows it. */
  check(caller: Caller, model: string, now: number): KeyRefused | undefined {
    return this.refusal(caller, model, now);
  }

  /** Only the key's scope: with shared limits, Redis checks the rest (shared-admission.ts). */
  checkScope(caller: Caller, model: string): KeyRefused | undefined {
    return caller.operator || mayUse(caller, model) ? undefined : scopeRefusal(caller, model);
  }

  /** The key's requests in flight on this gateway. */
  inFlightOf(name: string): number {
    return this.inFlight.get(name) ?? 0;
  }

  /** Every key with requests in flight on this gateway, and how many. */
  inFlightEntries(): Iterable<[string, number]> {
    return this.inFlight.entries();
  }

  /** A request of `caller` was admitted to a deployment; ended() closes it. */
  admitted(caller: Caller): void {
    const count = (this.inFlight.get(caller.name) ?? 0) + 1;
    this.inFlight.set(caller.name, count);
    if (caller.limits.maxConcurrent !== undefined) this.sharing?.active()?.setInFlight(caller.name, count);
  }

  /** A request admitted() ended; `use` says what it used. */
  ended(use: KeyUse, now: number): void {
    const { caller } = use;
    const left = (this.inFlight.get(caller.name) ?? 1) - 1;
    if (left > 0) this.inFlight.set(caller.name, left);
    else this.inFlight.delete(caller.name);
    if (caller.limits.maxConcurrent !== undefined) this.sharing?.active()?.setInFlight(caller.name, left);
    this.counted(use, now);
  }

  /** A request of `caller` the gateway answered itself (not ready, limits, bad body): counted, never admitted. */
  counted(use: KeyUse, now: number): void {
    const { caller, model } = use;
    this.metrics.keyRequests.inc({ key: caller.name, model, status: String(use.status) });
    if (use.promptTokens > 0) this.metrics.keyTokens.inc({ key: caller.name, model, kind: 'prompt' }, use.promptTokens);
    if (use.generatedTokens > 0) this.metrics.keyTokens.inc({ key: caller.name, model, kind: 'generated' }, use.generatedTokens);
    if (caller.limits.tokensPerMinute !== undefined) {
      const tokens = use.promptTokens + use.generatedTokens;
      this.windows.record(caller.name, tokens, now);
      if (tokens > 0) this.sharing?.active()?.recordTokens(caller.name, tokens);
    }
  }

  private refusal(caller: Caller, model: string, now: number): KeyRefused | undefined {
    if (caller.operator) return undefined;
    const name = caller.name;
    if (!mayUse(caller, model)) return scopeRefusal(caller, model);
    const { tokensPerMinute, maxConcurrent, requestsPerSecond, burst } = caller.limits;
    if (tokensPerMinute !== undefined && this.windows.used(name, now) >= tokensPerMinute) {
      return budgetRefusal(name, tokensPerMinute, this.windows.waitMs(name, tokensPerMinute, now));
    }
    if (maxConcurrent !== undefined && (this.inFlight.get(name) ?? 0) >= maxConcurrent) return concurrencyRefusal(name, maxConcurrent);
    if (requestsPerSecond !== undefined) {
      const limits = { requestsPerSecond, burst: keyBurst(requestsPerSecond, burst) };
      if (!this.buckets.tryTake(name, limits, now)) return keyRateRefusal(name, requestsPerSecond, limits.burst, this.buckets.state(name, limits, now).retryAfterSeconds);
    }
    return undefined;
  }
}

/** A key's burst: as given, else its rate rounded up (at least 1). */
export function keyBurst(requestsPerSecond: number, burst: number | undefined): number {
  return burst ?? Math.max(1, Math.ceil(requestsPerSecond));
}

function scopeRefusal(caller: Caller, model: string): KeyRefused {
  return new KeyRefused('scope', 403, `API key "${caller.name}" may use ${caller.models!.length ? `the models ${caller.models!.join(', ')}` : 'no model'}, not "${model}"; use one of those, or ask the operator for a key whose --models covers it`);
}

export function budgetRefusal(name: string, tokensPerMinute: number, waitMs: number): KeyRefused {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  return new KeyRefused('budget', 429, `API key "${name}" used its budget of ${tokensPerMinute} tokens per minute (prompt + generated, last 60 s); retry after ${seconds} s, or ask the operator for a larger --tpm`, { 'retry-after': String(seconds) });
}

export function concurrencyRefusal(name: string, maxConcurrent: number): KeyRefused {
  return new KeyRefused('key_concurrency', 429, `API key "${name}" already has ${maxConcurrent} requests in flight, its --max-concurrent; retry when one has finished`, { 'retry-after': '1' });
}

export function keyRateRefusal(name: string, requestsPerSecond: number, burst: number, retryAfterSeconds: number): KeyRefused {
  return new KeyRefused('key_rate', 429, `rate limit of API key "${name}" reached: ${requestsPerSecond} requests/s with bursts of ${burst}, across all its clients; retry after the Retry-After seconds`, {
    'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))),
    'ratelimit-limit': String(burst),
    'ratelimit-remaining': '0',
    'ratelimit-reset': String(Math.ceil(retryAfterSeconds)),
    'ratelimit-policy': `${requestsPerSecond};w=1;burst=${burst}`,
  });
}
