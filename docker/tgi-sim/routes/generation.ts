// The two ways every generation route runs a request, like TGI's generate_internal and
// generate_stream_internal: one collects the whole answer (errors are thrown), the other yields
// stream events (errors are yielded, for the caller to put inside its 200 stream).
import type { App } from '../app.ts';
import { TgiError, validationError } from '../errors.ts';
import { computeType, type Run } from '../inference.ts';
import type { GenerateRequest } from '../requests.ts';
import { emit, ROUTER, rustDuration } from '../tgi-log.ts';
import { charLength } from '../tokenizer.ts';
import { generateResponse, streamResponse, type GenerateResponseJson, type StreamResponseJson } from '../tgi-json.ts';

/** The router's `Success` line (router/src/server.rs:432 for generate, :637 inside a stream), with the span's timings. */
function logSuccess(span: 'generate' | 'generate_stream', run: Run): void {
  const t = run.timings();
  const seed = run.best.seed === null ? 'None' : `Some(${run.best.seed})`;
  emit({
    target: ROUTER,
    span: `${span}{total_time="${rustDuration(t.total)}" validation_time="${rustDuration(t.validation)}" queue_time="${rustDuration(t.queue)}" inference_time="${rustDuration(t.inference)}" time_per_token="${rustDuration(t.perToken)}" seed="${seed}"}`,
    message: `router/src/server.rs:${span === 'generate' ? 432 : 637}: Success`,
  });
}

/**
 * Where TGI logs a refused request: infer/mod.rs:118 for no permit (tokio's TryAcquireError text),
 * :126 for a validation error, server.rs:547/552 for what only streams refuse.
 */
function logFailure(span: string, error: TgiError, streamOnly = false): void {
  const where = streamOnly ? 'text_generation_router::server' : 'text_generation_router::infer';
  const line = streamOnly ? `router/src/server.rs:${error.message.includes('best_of') ? 547 : 552}` : `router/src/infer/mod.rs:${error.failure === 'overloaded' ? 118 : 126}`;
  // infer/mod.rs logs the ValidationError itself, before InferError adds its prefix.
  const text = error.failure === 'overloaded' ? 'no permits available' : streamOnly ? error.message : error.message.replace(/^Input validation error: /, '');
  emit({ level: 'ERROR', target: where, span, message: `${line}: ${text}` });
}

export interface GenerateResult {
  headers: Record<string, string>;
  body: GenerateResponseJson;
  run: Run;
}

/**
 * Runs a request to the end. Throws TgiError (validation, overloaded). Resolves undefined when the
 * client went away first (nothing is left to answer).
 */
export async function generateInternal(app: App, request: GenerateRequest, receivedAt: number, signal: AbortSignal): Promise<GenerateResult | undefined> {
  app.metrics.requestCount.inc();
  let run: Run;
  try {
    run = app.inference.begin(request, receivedAt, Math.max(1, request.parameters.best_of ?? 1));
  } catch (error) {
    if (error instanceof TgiError) logFailure('generate', error);
    throw error;
  }
  try {
    for await (const _ of run.produce(signal));
    if (run.endedAt === undefined) return undefined;
    run.recordSuccess();
    logSuccess('generate', run);
    return { headers: run.timingHeaders(), body: generateResponse(run), run };
  } finally {
    run.release();
  }
}

/** The headers TGI sends at the start of a stream, before any token. */
export function streamHeaders(inputs: string): Record<string, string> {
  return { 'x-compute-type': computeType(), 'x-compute-characters': String(charLength(inputs)), 'x-accel-buffering': 'no' };
}

export interface StreamItem {
  event: StreamResponseJson;
  run: Run;
}

/** Checked before admission, as in TGI's generate_stream_internal. */
function streamOnlyError(request: GenerateRequest): TgiError | undefined {
  if ((request.parameters.best_of ?? 1) !== 1) return validationError('`best_of` != 1 is not supported when streaming tokens');
  if (request.parameters.decoder_input_details) return validationError('`decoder_input_details` == true is not supported when streaming tokens');
  return undefined;
}

/** Yields one event per token, or a single TgiError; ends early when signal aborts. */
export async function* streamInternal(app: App, request: GenerateRequest, receivedAt: number, signal: AbortSignal): AsyncGenerator<StreamItem | TgiError> {
  app.metrics.requestCount.inc();
  let run: Run;
  try {
    const streamOnly = streamOnlyError(request);
    if (streamOnly) {
      app.inference.countFailure(streamOnly);
      logFailure('generate_stream', streamOnly, true);
      yield streamOnly;
      return;
    }
    run = app.inference.begin(request, receivedAt);
  } catch (error) {
    if (!(error instanceof TgiError)) throw error;
    logFailure('generate_stream', error);
    yield error;
    return;
  }
  try {
    const last = run.generation.tokens.length - 1;
    for await (const index of run.produce(signal)) {
      if (index === last) {
        run.recordSuccess();
        logSuccess('generate_stream', run);
      }
      yield { event: streamResponse(run, index, request.parameters.details), run };
    }
  } finally {
    run.release();
  }
}
