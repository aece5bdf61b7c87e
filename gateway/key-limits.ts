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

export class KeyLimits {
  private readonly inFlight = new Map<string, number>();
  private readonly buckets = new TokenBuckets();
  private readonly windows = new TokenWindows();

  constructor(private readonly metrics: GatewayMetrics) {}

  /** The refusal of one more request from `caller` for `model`, or undefined when the key allows it. */
  check(caller: Caller, model: string, now: number): KeyRefused | undefined {
    return this.refusal(caller, model, now);
  }

  /** A request of `caller` was admitted to a deployment; ended() closes it. */
  admitted(caller: Caller): void {
    this.inFlight.set(caller.name, (this.inFlight.get(caller.name) ?? 0) + 1);
  }

  /** A request admitted() ended; `use` says what it used. */
  ended(use: KeyUse, now: number): void {
    const { caller } = use;
    const left = (this.inFlight.get(caller.name) ?? 1) - 1;
    if (left > 0) this.inFlight.set(caller.name, left);
    else this.inFlight.delete(caller.name);
    this.counted(use, now);
  }

  /** A request of `caller` the gateway answered itself (not ready, limits, bad body): counted, never admitted. */
  counted(use: KeyUse, now: number): void {
    const { caller, model } = use;
    this.metrics.keyRequests.inc({ key: caller.name, model, status: String(use.status) });
    if (use.promptTokens > 0) this.metrics.keyTokens.inc({ key: caller.name, model, kind: 'prompt' }, use.promptTokens);
    if (use.generatedTokens > 0) this.metrics.keyTokens.inc({ key: caller.name, model, kind: 'generated' }, use.generatedTokens);
    if (caller.limits.tokensPerMinute !== undefined) this.windows.record(caller.name, use.promptTokens + use.generatedTokens, now);
  }

  private refusal(caller: Caller, model: string, now: number): KeyRefused | undefined {
    if (caller.operator) return undefined;
    const name = caller.name;
    if (!mayUse(caller, model)) {
      return new KeyRefused('scope', 403, `API key "${name}" may use ${caller.models!.length ? `the models ${caller.models!.join(', ')}` : 'no model'}, not "${model}"; use one of those, or ask the operator for a key whose --models covers it`);
    }
    const { tokensPerMinute, maxConcurrent, requestsPerSecond, burst } = caller.limits;
    if (tokensPerMinute !== undefined && this.windows.used(name, now) >= tokensPerMinute) {
      const seconds = Math.max(1, Math.ceil(this.windows.waitMs(name, tokensPerMinute, now) / 1000));
      return new KeyRefused('budget', 429, `API key "${name}" used its budget of ${tokensPerMinute} tokens per minute (prompt + generated, last 60 s); retry after ${seconds} s, or ask the operator for a larger --tpm`, { 'retry-after': String(seconds) });
    }
    if (maxConcurrent !== undefined && (this.inFlight.get(name) ?? 0) >= maxConcurrent) {
      return new KeyRefused('key_concurrency', 429, `API key "${name}" already has ${maxConcurrent} requests in flight, its --max-concurrent; retry when one has finished`, { 'retry-after': '1' });
    }
    if (requestsPerSecond !== undefined) {
      const limits = { requestsPerSecond, burst: burst ?? Math.max(1, Math.ceil(requestsPerSecond)) };
      if (!this.buckets.tryTake(name, limits, now)) {
        const { retryAfterSeconds } = this.buckets.state(name, limits, now);
        return new KeyRefused('key_rate', 429, `rate limit of API key "${name}" reached: ${requestsPerSecond} requests/s with bursts of ${limits.burst}, across all its clients; retry after the Retry-After seconds`, {
          'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))),
          'ratelimit-limit': String(limits.burst),
          'ratelimit-remaining': '0',
          'ratelimit-reset': String(Math.ceil(retryAfterSeconds)),
          'ratelimit-policy': `${requestsPerSecond};w=1;burst=${limits.burst}`,
        });
      }
    }
    return undefined;
  }
}
