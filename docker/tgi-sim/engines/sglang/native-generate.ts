// POST /generate, SGLang's native route (python/sglang/srt/entrypoints/http_server.py
// generate_request, managers/io_struct.py GenerateReqInput): {text, sampling_params, stream}
// answered as {text, output_ids, meta_info}; streamed, each event carries the whole text so far
// (not a delta), then `data: [DONE]`. A ValueError (the context-length checks) is 400 {"error": {"message"}},
// or, streamed, that object as an event of a 200 stream before [DONE].
import { randomInt, randomUUID } from 'node:crypto';
import { sendJson } from '../../http-io.ts';
import { EngineError, EventStream, type Request } from '../shared/fastapi-server.ts';
import { runJob, type Ending } from '../shared/generation.ts';
import type { Scheduler } from '../shared/scheduler.ts';
import type { EngineStats } from '../shared/stats.ts';
import { promptIds } from '../shared/vocabulary.ts';
import { EOS } from '../../tokenizer.ts';
import { nativeErrorBody, sglangContextError } from './errors.ts';

export interface NativeContext {
  contextLength: number;
  tokensPerSecond: number;
  scheduler: Scheduler;
  stats: EngineStats;
}

/** SGLang's default max_new_tokens for /generate (sampling_params.py). */
const DEFAULT_MAX_NEW_TOKENS = 128;

function finishReason(ending: Ending | undefined, generated: number): Record<string, unknown> | null {
  if (!ending) return null;
  if (ending.finishReason === 'length') return { type: 'length', length: generated };
  return { type: 'stop', matched: ending.matchedStop ?? EOS.id };
}

function field(body: Record<string, unknown>, name: string): unknown {
  return body[name];
}

export async function nativeGenerate(ctx: NativeContext, x: Request): Promise<void> {
  const body = (await x.body()) as Record<string, unknown>;
  try {
    if (typeof body !== 'object' || body === null || typeof field(body, 'text') !== 'string') throw new EngineError(400, 'Either text, input_ids or input_embeds should be provided.', 'BadRequestError');
    const text = field(body, 'text') as string;
    const sampling = (typeof body.sampling_params === 'object' && body.sampling_params !== null ? body.sampling_params : {}) as Record<string, unknown>;
    const maxNewTokens = typeof sampling.max_new_tokens === 'number' ? sampling.max_new_tokens : undefined;
    const promptTokens = promptIds(text, true).length;
    const error = sglangContextError(promptTokens, maxNewTokens, ctx.contextLength);
    if (error && body.stream === true) {
      // Streamed, the ValueError comes out of the generator after the 200: an error event, then [DONE].
      const stream = new EventStream(x.res);
      stream.send(nativeErrorBody(error));
      stream.send('[DONE]');
      return stream.end();
    }
    if (error) throw error;
    const stop = typeof sampling.stop === 'string' ? [sampling.stop] : Array.isArray(sampling.stop) ? (sampling.stop as string[]) : [];
    const greedy = sampling.temperature === 0;
    const job = { prompt: text, promptTokens, maxTokens: maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS, limit: ctx.contextLength - promptTokens, seed: greedy ? null : randomInt(2 ** 31), stop, topLogprobs: 0 };
    const id = randomUUID().replace(/-/g, '');
    const started = performance.now();
    const answer = (output: string, ids: number[], ending: Ending | undefined) => ({
      text: output,
      output_ids: ids,
      meta_info: { id, finish_reason: finishReason(ending, ids.length), prompt_tokens: promptTokens, completion_tokens: ids.length, cached_tokens: 0, e2e_latency: (performance.now() - started) / 1000 },
    });
    const run = runJob(job, ctx.scheduler, ctx.stats, ctx.tokensPerSecond, x.signal);
    const ids: number[] = [];
    let output = '';
    if (body.stream !== true) {
      for (;;) {
        const next = await run.next();
        if (next.done) return sendJson(x.res, 200, answer(next.value.text, ids, next.value));
        ids.push(next.value.id);
      }
    }
    const stream = new EventStream(x.res);
    try {
      for (;;) {
        const next = await run.next();
        if (next.done) {
          stream.send(answer(next.value.text, ids, next.value));
          break;
        }
        ids.push(next.value.id);
        output += next.value.text;
        stream.send(answer(output, [...ids], undefined));
      }
      stream.send('[DONE]');
    } finally {
      stream.end();
    }
  } catch (error) {
    if (!(error instanceof EngineError) || x.res.headersSent) throw error;
    sendJson(x.res, error.status, nativeErrorBody(error));
  }
}
