// POST /v1/completions: OpenAI completions; `prompt` is a string or a list of up to
// --max-client-batch-size prompts, each generated as its own request.
import type { App } from '../app.ts';
import { TgiError } from '../errors.ts';
import { sendJson } from '../http-io.ts';
import { readShape } from '../json-shape.ts';
import { readCompletionRequest, type CompletionRequest, type GenerateRequest } from '../requests.ts';
import { SseStream } from '../sse.ts';
import { openAiFinishReason } from '../tgi-json.ts';
import { jsonBody, type Exchange } from './exchange.ts';
import { generateInternal, streamHeaders, streamInternal, type GenerateResult } from './generation.ts';

/**
 * One GenerateRequest per prompt. Without max_tokens the request may generate up to
 * max_total_tokens − input (validation's default); temperature 0 means greedy, anything else samples.
 */
function toGenerateRequests(completion: CompletionRequest): GenerateRequest[] {
  const greedy = completion.temperature === 0;
  return completion.prompt.map((inputs) => ({
    inputs,
    addSpecialTokens: true,
    parameters: {
      temperature: greedy ? undefined : completion.temperature,
      repetition_penalty: completion.repetition_penalty,
      frequency_penalty: completion.frequency_penalty,
      top_p: completion.top_p,
      do_sample: !greedy,
      max_new_tokens: completion.max_tokens,
      stop: completion.stop ?? [],
      watermark: false,
      details: true,
      decoder_input_details: !completion.stream,
      seed: completion.seed,
      adapter_id: completion.model !== undefined && completion.model !== 'tgi' ? completion.model : undefined,
    },
  }));
}

function created(): number {
  return Math.floor(Date.now() / 1000);
}

export async function completions(x: Exchange): Promise<void> {
  await completionsWith(x, readShape(readCompletionRequest, await jsonBody(x)));
}

/** The route once its body is read (/invocations reads it itself). */
export async function completionsWith(x: Exchange, completion: CompletionRequest): Promise<void> {
  const { app } = x;
  app.metrics.requestCount.inc();
  if (completion.suffix !== undefined) {
    app.metrics.requestFailure.inc({ err: 'validation' });
    throw new TgiError(422, 'suffix not supported', 'Suffix is not supported and can be achieved by preprocessing the prompt.');
  }
  if (completion.prompt.length > app.settings.maxClientBatchSize) {
    app.metrics.requestFailure.inc({ err: 'validation' });
    throw new TgiError(422, 'batch size exceeded', `Number of prompts exceeds the maximum allowed batch size of ${app.settings.maxClientBatchSize}`);
  }
  const requests = toGenerateRequests(completion);
  if (completion.stream) await streamCompletions(x, requests);
  else await answerCompletions(x, requests);
}

/**
 * All prompts run at once; the first error cancels the others and fails the request. Headers are
 * summed (x-compute-time is not: TGI's sum cannot parse its fractional seconds and leaves it out).
 */
async function answerCompletions(x: Exchange, requests: GenerateRequest[]): Promise<void> {
  const cancel = new AbortController();
  const signal = AbortSignal.any([x.signal, cancel.signal]);
  const results = await Promise.all(
    requests.map((request) =>
      generateInternal(x.app, request, x.receivedAt, signal).catch((error: unknown) => {
        cancel.abort();
        throw error;
      }),
    ),
  );
  if (results.some((result) => !result)) return;
  const done = results as GenerateResult[];
  const sum = (header: string) => done.reduce((total, result) => total + Number(result.headers[header]), 0);
  const headers: Record<string, string> = { 'x-compute-type': done[0].headers['x-compute-type'] };
  headers['x-compute-characters'] = String(sum('x-compute-characters'));
  for (const header of ['x-total-time', 'x-validation-time', 'x-queue-time', 'x-inference-time', 'x-time-per-token', 'x-prompt-tokens', 'x-generated-tokens']) headers[header] = String(sum(header));
  const usage = done.reduce(
    (total, { body, run }) => {
      const prompt = run.valid.inputLength;
      const generated = body.details!.generated_tokens;
      return { prompt_tokens: total.prompt_tokens + prompt, completion_tokens: total.completion_tokens + generated, total_tokens: total.total_tokens + prompt + generated };
    },
    { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
  );
  sendJson(
    x.res,
    200,
    {
      object: 'text_completion',
      id: '',
      created: created(),
      model: x.app.info.model_id,
      system_fingerprint: x.app.systemFingerprint,
      choices: done.map((result, index) => ({ index, text: result.body.generated_text, logprobs: null, finish_reason: openAiFinishReason(result.body.details!.finish_reason) })),
      usage,
    },
    headers,
  );
}

/**
 * Events of all prompts interleave as they are produced; each prompt's last event carries its usage
 * and its finish_reason as TGI names it (eos_token, not stop); errors are OpenAI error events; ends with [DONE].
 */
async function streamCompletions(x: Exchange, requests: GenerateRequest[]): Promise<void> {
  const headers = streamHeaders(requests.map((request) => request.inputs).join(''));
  const sse = new SseStream(x.res, headers, x.app.settings.sim.keepAliveSeconds * 1000);
  try {
    await Promise.all(requests.map((request, index) => relay(x.app, sse, request, index, x.receivedAt)));
    if (!sse.signal.aborted) sse.send('[DONE]');
  } finally {
    sse.end();
  }
}

async function relay(app: App, sse: SseStream, request: GenerateRequest, index: number, receivedAt: number): Promise<void> {
  for await (const item of streamInternal(app, request, receivedAt, sse.signal)) {
    if (item instanceof TgiError) {
      sse.send(item.openAiEvent());
      continue;
    }
    const { event } = item;
    const common = { id: '', created: created() };
    if (event.details) {
      const { finish_reason, generated_tokens, input_length } = event.details;
      sse.send({
        object: 'text_completion',
        ...common,
        model: app.info.model_id,
        system_fingerprint: app.systemFingerprint,
        choices: [{ index, text: event.token.text, logprobs: null, finish_reason }],
        usage: { prompt_tokens: input_length, completion_tokens: generated_tokens, total_tokens: input_length + generated_tokens },
      });
    } else {
      sse.send({ object: 'text_completion', ...common, choices: [{ index, text: event.token.text, logprobs: null, finish_reason: '' }], model: app.info.model_id, system_fingerprint: app.systemFingerprint });
    }
  }
}
