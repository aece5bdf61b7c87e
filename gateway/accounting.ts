import type { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { KeyLimits } from './key-limits.ts';
import type { GatewayMetrics, LabelSet } from './metrics.ts';
import type { Caller, RequestRecord, ServedDeployment } from './types.ts';

/** One request relayed to a deployment, from admission to the end of its response. */
export interface Exchange {
  readonly deployment: ServedDeployment;
  readonly labels: LabelSet;
  readonly startedAt: number;
  stream: boolean;
  /** Streams: ms from arrival to the first token event. */
  ttftMs?: number;
  generatedTokens: number;
  /** As the upstream reported them (x-prompt-tokens, a stream's final details or usage). */
  promptTokens?: number;
  /** Who sent it; its key's in-flight count and token window are kept by KeyLimits. */
  readonly caller?: Caller;
  /** Set when the gateway answered it itself after admission (bad body): 'bad_request'. */
  refusedBy?: string;
}

export interface Refusal {
  model: string;
  /** The replica it was meant for, when one was chosen. */
  deployment?: ServedDeployment;
  labels?: LabelSet;
  status: number;
  refusedBy: string;
  caller?: Caller;
}

/**
 * Bookkeeping of every request: the deployment's in-flight count (its admit() and release()), the
 * per-request metrics, the 'request' event (RequestRecord), and the number of open exchanges that
 * close() waits for.
 */
export class Accounting {
  private open = 0;
  private onIdle: (() => void)[] = [];
  /** Told of the slot each end() frees, before anything else can take it: the queue (queue.ts) hands it on. */
  slotFreed: (d: ServedDeployment) => void = () => {};

  constructor(
    private readonly metrics: GatewayMetrics,
    private readonly events: EventEmitter,
    private readonly keyLimits?: KeyLimits,
  ) {}

  /**
   * Admits the request to `d`: it counts as in flight until end(). Undefined when `d` refuses it
   * (it stopped being ready since the admission check); nothing is counted then.
   */
  begin(d: ServedDeployment, startedAt: number, caller?: Caller): Exchange | undefined {
    if (!d.admit()) return undefined;
    this.open += 1;
    if (caller) this.keyLimits?.admitted(caller);
    return { deployment: d, labels: this.metrics.labelsFor(d), startedAt, stream: false, generatedTokens: 0, caller };
  }

  end(exchange: Exchange, status: number): void {
    const d = exchange.deployment;
    d.release();
    const durationMs = performance.now() - exchange.startedAt;
    const route = exchange.labels.route;
    this.metrics.requests.inc(exchange.labels.withStatus(status));
    if (!exchange.refusedBy) this.metrics.duration.observe(route, durationMs / 1000);
    if (exchange.ttftMs !== undefined) this.metrics.timeToFirstToken.observe(route, exchange.ttftMs / 1000);
    if (exchange.generatedTokens > 0) this.metrics.generatedTokens.inc(route, exchange.generatedTokens);
    const caller = exchange.caller;
    if (caller) this.keyLimits?.ended({ caller, model: d.spec.model, status, promptTokens: exchange.promptTokens ?? 0, generatedTokens: exchange.generatedTokens }, performance.now());
    if (this.events.listenerCount('request') > 0) {
      const record: RequestRecord = {
        key: d.key,
        model: d.spec.model,
        gpuLabel: d.spec.gpuLabel,
        status,
        durationMs,
        ttftMs: exchange.ttftMs,
        generatedTokens: exchange.generatedTokens,
        promptTokens: exchange.promptTokens,
        caller: caller?.name,
        stream: exchange.stream,
        refusedBy: exchange.refusedBy,
        at: Date.now(),
      };
      this.events.emit('request', record);
    }
    this.slotFreed(d);
    this.open -= 1;
    if (this.open === 0 && this.onIdle.length) for (const resolve of this.onIdle.splice(0)) resolve();
  }

  /** A request the gateway answered itself before admitting it (auth, not ready, limits, bad request). */
  refuse(refusal: Refusal): void {
    const { deployment: d, status } = refusal;
    if (refusal.labels) this.metrics.requests.inc(refusal.labels.withStatus(status));
    if (refusal.caller) this.keyLimits?.counted({ caller: refusal.caller, model: refusal.model, status, promptTokens: 0, generatedTokens: 0 }, performance.now());
    if (this.events.listenerCount('request') === 0) return;
    const record: RequestRecord = {
      key: d?.key,
      model: refusal.model,
      gpuLabel: d?.spec.gpuLabel ?? '',
      status,
      durationMs: 0,
      generatedTokens: 0,
      caller: refusal.caller?.name,
      stream: false,
      refusedBy: refusal.refusedBy,
      at: Date.now(),
    };
    this.events.emit('request', record);
  }

  /** Resolves once no exchange is open, or after timeoutMs. */
  drained(timeoutMs: number): Promise<void> {
    if (this.open === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.onIdle.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
