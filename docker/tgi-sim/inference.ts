// The simulated backend: admission (at most --max-concurrent-requests at once, beyond that 429 with
// no queue), validation, the planned generation, and token pacing at SIM_TOKENS_PER_SECOND.
import { setTimeout as sleep } from 'node:timers/promises';
import { overloadedError, TgiError } from './errors.ts';
import type { TgiMetrics } from './metrics.ts';
import { describeImage } from './images.ts';
import type { GenerateRequest } from './requests.ts';
import type { SimSettings } from './settings.ts';
import { constrainedText } from './structured-output.ts';
import { generateText, generationRandom, type Generation } from './text-generator.ts';
import { charLength } from './tokenizer.ts';
import { randomSeed, validate, validateBestOf, type ValidRequest } from './validation.ts';

export interface Candidate {
  generation: Generation;
  /** details.seed of this candidate. */
  seed: number | null;
}

const COMPUTE_TYPE = process.env.COMPUTE_TYPE ?? 'gpu+optimized';

export class Inference {
  private running = 0;
  private runningTokens = 0;

  constructor(
    readonly settings: SimSettings,
    readonly metrics: TgiMetrics,
  ) {}

  /**
   * Like TGI's infer.generate_stream(): takes a permit (or 429 overloaded), validates (or 422), and
   * plans the generation. `bestOf` > 1 is generate_best_of: best_of is checked first, then each
   * candidate is a request of its own (a permit, a validation, a random seed); the one with the
   * highest mean logprob per token wins.
   */
  begin(request: GenerateRequest, receivedAt: number, bestOf = 1): Run {
    let valid: ValidRequest;
    try {
      if (bestOf > 1) validateBestOf(bestOf, this.settings.maxBestOf);
      if (this.running + bestOf > this.settings.maxConcurrentRequests) throw overloadedError();
      valid = validate(request, this.settings, { vision: this.settings.sim.vision, imageTokens: this.settings.sim.imageTokens });
    } catch (error) {
      if (error instanceof TgiError) this.countFailure(error);
      throw error;
    }
    for (let i = 0; i < bestOf; i++) {
      this.metrics.requestInputLength.observe(valid.inputLength);
      this.metrics.requestMaxNewTokens.observe(valid.roundTokens);
    }
    const hint = request.hint ?? request.inputs;
    const candidates = Array.from({ length: bestOf }, (_, i) => this.plan(valid, i === 0 ? valid.generationSeed : randomSeed(), hint));
    const mean = (c: Candidate) => c.generation.tokens.reduce((total, token) => total + token.logprob, 0) / Math.max(1, c.generation.tokens.length);
    const best = candidates.reduce((a, b) => (mean(b) > mean(a) ? b : a));
    return new Run(this, valid, best, candidates.filter((c) => c !== best), receivedAt, bestOf);
  }

  private plan(valid: ValidRequest, seed: number | null, hint: string): Candidate {
    const random = generationRandom(valid.inputs, seed);
    const constrained = valid.grammar ? constrainedText(valid.grammar, random, hint) : undefined;
    const generation = generateText(
      {
        inputs: valid.inputs,
        seed,
        maxNewTokens: valid.maxNewTokens,
        limit: valid.generationLimit,
        stop: valid.stop,
        opening: valid.images.map(describeImage),
        topN: valid.topN,
        constrained,
      },
      random,
    );
    return { generation, seed: valid.reportedSeed === null ? null : seed };
  }

  /** tgi_request_failure{err}, for errors raised here and by the routes. */
  countFailure(error: TgiError): void {
    if (error.failure) this.metrics.requestFailure.inc({ err: error.failure });
  }

  /** Called by Run when it starts and ends, for the batch gauges; `delta` counts permits. */
  track(delta: number, tokens: number): void {
    this.running += delta;
    this.runningTokens += delta * tokens;
    this.metrics.batchCurrentSize.set(this.running);
    this.metrics.batchCurrentMaxTokens.set(this.runningTokens);
  }
}

/** One admitted request: its timings, its planned tokens, and the permit it holds until release(). */
export class Run {
  readonly receivedAt: number;
  readonly queuedAt: number;
  inferenceStartedAt: number;
  endedAt?: number;
  /** decoder_input_details asked for and --enable-prefill-logprobs given: details.prefill is filled. */
  readonly prefillLogprobs: boolean;
  private released = false;

  constructor(
    private readonly owner: Inference,
    readonly valid: ValidRequest,
    readonly best: Candidate,
    readonly others: Candidate[],
    receivedAt: number,
    private readonly permits = 1,
  ) {
    this.receivedAt = receivedAt;
    this.prefillLogprobs = valid.decoderInputDetails && owner.settings.enablePrefillLogprobs;
    this.queuedAt = performance.now();
    this.inferenceStartedAt = this.queuedAt;
    owner.track(permits, this.weight);
  }

  /** What the batch reserves for it: input + validated max_new_tokens, per candidate. */
  private get weight(): number {
    return this.permits * (this.valid.inputLength + this.valid.roundTokens);
  }

  get generation(): Generation {
    return this.best.generation;
  }

  /**
   * Yields the index of each token as the "model" produces it, paced at the configured rate.
   * Stops early (without throwing) when signal aborts; with SIM_HANG it yields nothing until then.
   */
  async *produce(signal: AbortSignal): AsyncGenerator<number> {
    const { settings, metrics } = this.owner;
    const interval = settings.sim.tokensPerSecond > 0 ? 1000 / settings.sim.tokensPerSecond : 0;
    this.inferenceStartedAt = performance.now();
    try {
      if (settings.sim.hang) {
        await sleep(2 ** 31 - 1, undefined, { signal });
        return;
      }
      const tokens = this.generation.tokens;
      for (let index = 0; index < tokens.length; index++) {
        const began = performance.now();
        if (interval > 0) await sleep(interval, undefined, { signal });
        metrics.recordStep(index === 0 ? 'prefill' : 'decode', (performance.now() - began) / 1000);
        yield index;
      }
      this.endedAt = performance.now();
    } catch (error) {
      if (!signal.aborted) throw error;
    } finally {
      // The client went away before the end: the backend finds the response channel closed.
      if (this.endedAt === undefined && signal.aborted) metrics.requestFailure.inc({ err: 'dropped' });
      this.release();
    }
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.owner.track(-this.permits, -this.weight);
  }

  /** Records TGI's success metrics; call once the last token is out. */
  recordSuccess(): void {
    const t = this.timings();
    const m = this.owner.metrics;
    m.requestSuccess.inc();
    m.requestDuration.observe(t.total / 1000);
    m.requestValidationDuration.observe(t.validation / 1000);
    m.requestQueueDuration.observe(t.queue / 1000);
    m.requestInferenceDuration.observe(t.inference / 1000);
    m.requestMeanTimePerTokenDuration.observe(t.perToken / 1000);
    m.requestGeneratedTokens.observe(this.generation.tokens.length);
  }

  /** Durations in milliseconds. */
  timings(): { total: number; validation: number; queue: number; inference: number; perToken: number } {
    const end = this.endedAt ?? performance.now();
    const inference = end - this.inferenceStartedAt;
    return {
      total: end - this.receivedAt,
      validation: this.queuedAt - this.receivedAt,
      queue: this.inferenceStartedAt - this.queuedAt,
      inference,
      perToken: inference / Math.max(1, this.generation.tokens.length),
    };
  }

  /** The x-* headers TGI puts on /generate and non-streaming chat. */
  timingHeaders(): Record<string, string> {
    const t = this.timings();
    return {
      'x-compute-type': COMPUTE_TYPE,
      'x-compute-time': String(t.total / 1000),
      'x-compute-characters': String(charLength(this.valid.inputs)),
      'x-total-time': String(Math.floor(t.total)),
      'x-validation-time': String(Math.floor(t.validation)),
      'x-queue-time': String(Math.floor(t.queue)),
      'x-inference-time': String(Math.floor(t.inference)),
      'x-time-per-token': String(Math.floor(t.perToken)),
      'x-prompt-tokens': String(this.valid.inputLength),
      'x-generated-tokens': String(this.generation.tokens.length),
    };
  }
}

export function computeType(): string {
  return COMPUTE_TYPE;
}
