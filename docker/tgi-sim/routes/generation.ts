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

function logSuccess(span: string, run: Run): void {
  const t = run.timings();
  const seed = run.best.seed === null ? 'None' : `Some(${run.best.seed})`;
  emit({
    target: ROUTER,
    span: `${span}{total_time="${rustDuration(t.total)}" validation_time="${rustDuration(t.validation)}" queue_time="${rustDuration(t.queue)}" inference_time="${rustDuration(t.inference)}" time_per_token="${rustDuration(t.perToken)}" seed="${seed}"}`,
    message: 'router/src/server.rs:422: Success',
  });
}

function logFailure(span: string, error: TgiError): void {
  emit({ level: 'ERROR', target: 'text_generation_router::infer', span, message: `router/src/infer/mod.rs:129: ${error.message}` });
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
      throw streamOnly;
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
